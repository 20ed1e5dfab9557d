// A minimal Live API client for talking to the emulator directly, with awaiting helpers that time out with
// a clear message instead of hanging the test.
import { exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { chunks as byteChunks } from './audio';
import { inject } from 'vitest';
import { decodeBase64, encodeBase64 } from '../../src/util/base64';

export const MODEL =
  'projects/test-project/locations/us-central1/publishers/google/models/gemini-live-2.5-flash';
export const NATIVE_AUDIO_MODEL =
  'projects/test-project/locations/us-central1/publishers/google/models/gemini-live-2.5-flash-native-audio';
export const LIVE_PATH = '/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent';

/** The server messages as the tests read them: every field optional. */
export interface ServerJson {
  setupComplete?: { sessionId?: string };
  serverContent?: {
    modelTurn?: {
      role?: string;
      parts?: Array<{ text?: string; inlineData?: { mimeType: string; data: string } }>;
    };
    generationComplete?: boolean;
    turnComplete?: boolean;
    interrupted?: boolean;
    inputTranscription?: { text?: string };
    outputTranscription?: { text?: string };
  };
  usageMetadata?: { promptTokenCount?: number; candidatesTokenCount?: number; totalTokenCount?: number };
  toolCall?: { functionCalls: Array<{ name: string; args: Record<string, unknown>; id?: string }> };
  toolCallCancellation?: { ids: string[] };
  goAway?: { timeLeft: string };
  sessionResumptionUpdate?: {
    newHandle: string;
    resumable: boolean;
    lastConsumedClientMessageIndex?: string;
  };
}

export interface Frame {
  /** The payload as UTF-8 text, exactly as sent. */
  text: string;
  binary: boolean;
  json: ServerJson;
}

export interface CloseInfo {
  code: number;
  reason: string;
}

export function emulatorUrl(): string {
  return inject('emulatorUrl');
}

const DEFAULT_TIMEOUT_MS = 5000;

let bearer: Promise<string> | undefined;

/**
 * An access token from the emulator's own POST /token (the test emulator accepts no other), for a service
 * account registered just for these tests so they never touch the counters of the relay's account.
 */
function emulatorBearer(): Promise<string> {
  bearer ??= (async () => {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { modulusLength: 2048 });
    const kid = crypto.randomUUID().replaceAll('-', '');
    const email = `emulator-tests-${kid.slice(0, 8)}@test-project.iam.gserviceaccount.com`;
    const registered = await fetch(`${emulatorUrl()}/emulator/service-accounts`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        client_email: email,
        private_key_id: kid,
        public_key: await exportSPKI(publicKey),
      }),
    });
    if (registered.status !== 201) throw new Error(`registering a test account: HTTP ${registered.status}`);
    const now = Math.floor(Date.now() / 1000);
    const assertion = await new SignJWT({ scope: 'https://www.googleapis.com/auth/cloud-platform' })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid })
      .setIssuer(email)
      .setAudience(`${emulatorUrl()}/token`)
      .setIssuedAt(now)
      .setExpirationTime(now + 3600)
      .sign(privateKey);
    const res = await fetch(`${emulatorUrl()}/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }),
    });
    const body = await res.json<{ access_token?: string }>();
    if (!body.access_token) throw new Error(`POST /token: HTTP ${res.status} ${JSON.stringify(body)}`);
    return `Bearer ${body.access_token}`;
  })();
  return bearer;
}

export class EmulatorClient {
  private static readonly opened = new Set<EmulatorClient>();
  readonly frames: Frame[] = [];
  private read = 0;
  private closed: CloseInfo | undefined;
  private wake: (() => void) | undefined;

  private constructor(readonly ws: WebSocket) {
    // Under the current compatibility date binary frames would arrive as Blobs (async to read).
    ws.binaryType = 'arraybuffer';
    ws.addEventListener('message', (event) => {
      const binary = typeof event.data !== 'string';
      const text = typeof event.data === 'string' ? event.data : new TextDecoder().decode(event.data);
      this.frames.push({ text, binary, json: JSON.parse(text) as ServerJson });
      this.wake?.();
    });
    ws.addEventListener('close', (event) => {
      this.closed = { code: event.code, reason: event.reason };
      this.wake?.();
    });
  }

  static async connect(
    options: { path?: string; authorization?: string | null } = {},
  ): Promise<EmulatorClient> {
    const headers: Record<string, string> = { Upgrade: 'websocket' };
    if (options.authorization !== null)
      headers.Authorization = options.authorization ?? (await emulatorBearer());
    const res = await fetch(emulatorUrl() + (options.path ?? LIVE_PATH), { headers });
    if (!res.webSocket) throw new Error(`no WebSocket upgrade: HTTP ${res.status} ${await res.text()}`);
    res.webSocket.accept();
    const client = new EmulatorClient(res.webSocket);
    EmulatorClient.opened.add(client);
    return client;
  }

  /** For afterEach: closes every client a test left open. */
  static closeAll(): void {
    for (const client of EmulatorClient.opened) client.close();
    EmulatorClient.opened.clear();
  }

  /** Connects and sends `setup` with the test model plus `extra` fields. */
  static async open(extra: Record<string, unknown> = {}): Promise<EmulatorClient> {
    const client = await EmulatorClient.connect();
    client.send({ setup: { model: MODEL, ...extra } });
    return client;
  }

  send(message: unknown): void {
    this.ws.send(JSON.stringify(message));
  }

  sendText(text: string): void {
    this.send({ clientContent: { turns: [{ role: 'user', parts: [{ text }] }], turnComplete: true } });
  }

  sendAudio(pcm: Uint8Array, rate = 16000): void {
    this.send({ realtimeInput: { audio: { mimeType: `audio/pcm;rate=${rate}`, data: encodeBase64(pcm) } } });
  }

  private async waitFor<T>(what: string, timeoutMs: number, ready: () => T | undefined): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = ready();
      if (value !== undefined) return value;
      if (this.closed && what !== 'close') {
        throw new Error(
          `socket closed (${this.closed.code} ${this.closed.reason}) while waiting for ${what}`,
        );
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  nextFrame(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Frame> {
    return this.waitFor('a message', timeoutMs, () => this.frames[this.read] && this.frames[this.read++]);
  }

  async nextMessage(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<ServerJson> {
    return (await this.nextFrame(timeoutMs)).json;
  }

  /** Frames up to and including the first that satisfies `predicate`. */
  collectUntil(predicate: (message: ServerJson) => boolean, timeoutMs = 10_000): Promise<Frame[]> {
    const start = this.read;
    return this.waitFor('a matching message', timeoutMs, () => {
      const index = this.frames.slice(this.read).findIndex((f) => predicate(f.json));
      if (index < 0) return undefined;
      this.read += index + 1;
      return this.frames.slice(start, this.read);
    });
  }

  /** Collects until turnComplete. */
  turn(timeoutMs = 10_000): Promise<Frame[]> {
    return this.collectUntil((m) => m.serverContent?.turnComplete === true, timeoutMs);
  }

  waitForClose(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<CloseInfo> {
    return this.waitFor('close', timeoutMs, () => this.closed);
  }

  close(): void {
    if (!this.closed) {
      try {
        this.ws.close(1000, 'test done');
      } catch {
        // Already closing.
      }
    }
  }
}

export { concat as concatBytes, silence, tone } from './audio';

/** Splits PCM into chunks of `ms` (20 ms = 640 bytes at 16 kHz, as real clients send). */
export function chunks(pcm: Uint8Array, ms = 20, rate = 16000): Uint8Array[] {
  return byteChunks(pcm, Math.round((rate * ms) / 1000) * 2);
}

/** Decoded audio parts of the given frames. */
export function audioChunks(frames: Frame[]): Uint8Array[] {
  return frames.flatMap((f) =>
    (f.json.serverContent?.modelTurn?.parts ?? []).flatMap((p) =>
      p.inlineData ? [decodeBase64(p.inlineData.data)] : [],
    ),
  );
}

export function modelText(frames: Frame[]): string {
  return frames
    .map((f) => (f.json.serverContent?.modelTurn?.parts ?? []).map((p) => p.text ?? '').join(''))
    .join('');
}

export function outputTranscript(frames: Frame[]): string {
  return frames.map((f) => f.json.serverContent?.outputTranscription?.text ?? '').join('');
}

export function resumptionUpdates(frames: Frame[]): NonNullable<ServerJson['sessionResumptionUpdate']>[] {
  return frames.flatMap((f) => (f.json.sessionResumptionUpdate ? [f.json.sessionResumptionUpdate] : []));
}
