// A test-side WebSocket that records every frame and close, with awaiting helpers that time out with a clear
// message instead of hanging the suite.

export type Frame = { type: 'text'; data: string } | { type: 'binary'; data: ArrayBuffer };
export type JsonMessage = Record<string, any>;

const decoder = new TextDecoder();

export class TestSocket {
  readonly frames: Frame[] = [];
  closeEvent: { code: number; reason: string } | null = null;
  private cursor = 0;
  private waiters: Array<() => void> = [];

  constructor(
    readonly ws: WebSocket,
    readonly response: Response,
  ) {
    ws.accept();
    ws.binaryType = 'arraybuffer';
    ws.addEventListener('message', (event) => {
      const data = event.data;
      this.frames.push(
        typeof data === 'string' ? { type: 'text', data } : { type: 'binary', data: data as ArrayBuffer },
      );
      this.wake();
    });
    ws.addEventListener('close', (event) => {
      this.closeEvent = { code: event.code, reason: event.reason };
      this.wake();
    });
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private async waitFor<T>(what: string, check: () => T | undefined, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = check();
      if (value !== undefined) return value;
      const left = deadline - Date.now();
      if (left <= 0) {
        const last = this.frames.slice(-3).map(describe).join(' | ');
        throw new Error(
          `timed out after ${timeoutMs} ms waiting for ${what}; close=${JSON.stringify(this.closeEvent)}; last frames: ${last}`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  send(message: JsonMessage | string | ArrayBuffer | Uint8Array): void {
    this.ws.send(
      typeof message === 'object' && !(message instanceof ArrayBuffer) && !(message instanceof Uint8Array)
        ? JSON.stringify(message)
        : message,
    );
  }

  /** The next frame not yet consumed by next*(). */
  async nextFrame(timeoutMs = 5000): Promise<Frame> {
    const frame = await this.waitFor('a frame', () => this.frames[this.cursor], timeoutMs);
    this.cursor++;
    return frame;
  }

  /** The next JSON message (text or binary UTF-8 frame). */
  async next(timeoutMs = 5000): Promise<JsonMessage> {
    return parseFrame(await this.nextFrame(timeoutMs));
  }

  /** Consumes messages until one satisfies the predicate; returns all consumed, the match last. */
  async until(
    predicate: (m: JsonMessage) => boolean,
    timeoutMs = 10_000,
    what = 'a matching message',
  ): Promise<JsonMessage[]> {
    const seen: JsonMessage[] = [];
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `timed out waiting for ${what}; saw ${seen.length} messages: ${seen
            .slice(-3)
            .map((m) => JSON.stringify(m).slice(0, 200))
            .join(' | ')}`,
        );
      const message = await this.next(left).catch((err: Error) => {
        throw new Error(`${err.message} (while waiting for ${what})`);
      });
      seen.push(message);
      if (predicate(message)) return seen;
    }
  }

  async closed(timeoutMs = 5000): Promise<{ code: number; reason: string }> {
    return this.waitFor('close', () => this.closeEvent ?? undefined, timeoutMs);
  }

  /** Asserts nothing more arrives (no frame, no close) for a while. */
  async quiet(ms = 200): Promise<void> {
    const before = this.frames.length;
    await new Promise((r) => setTimeout(r, ms));
    if (this.frames.length !== before) throw new Error(`unexpected frame: ${describe(this.frames[before]!)}`);
  }

  /** A close frame without a status code (the receiver sees 1005), as Google's SDK's session.close() sends. */
  closeWithoutCode(): void {
    this.ws.close();
  }

  close(code = 1000, reason = 'test done'): void {
    try {
      this.ws.close(code, reason);
    } catch {
      // already closed
    }
  }
}

function parseFrame(frame: Frame): JsonMessage {
  return JSON.parse(frame.type === 'text' ? frame.data : decoder.decode(frame.data)) as JsonMessage;
}

function describe(frame: Frame): string {
  return frame.type === 'text'
    ? frame.data.slice(0, 200)
    : `<binary ${frame.data.byteLength} B: ${decoder.decode(frame.data.slice(0, 120))}>`;
}

/** Opens a WebSocket with fetch (the Workers way); fails with the HTTP status and body when not upgraded. */
export async function openSocket(
  fetcher: { fetch: (input: string, init?: RequestInit) => Promise<Response> },
  url: string,
  headers: Record<string, string> = {},
): Promise<TestSocket> {
  const response = await fetcher.fetch(url, { headers: { Upgrade: 'websocket', ...headers } });
  if (!response.webSocket) {
    throw new Error(`no upgrade: HTTP ${response.status} ${await response.text()}`);
  }
  return new TestSocket(response.webSocket, response);
}

/** Tries to open a socket; returns the HTTP response when the server refused the upgrade. */
export async function tryOpenSocket(
  fetcher: { fetch: (input: string, init?: RequestInit) => Promise<Response> },
  url: string,
  headers: Record<string, string> = {},
): Promise<TestSocket | Response> {
  const response = await fetcher.fetch(url, { headers: { Upgrade: 'websocket', ...headers } });
  return response.webSocket ? new TestSocket(response.webSocket, response) : response;
}
