// One benchmark conversation: a client WebSocket to the relay (Node's undici WebSocket; Node 20 needs
// --experimental-websocket), the emulator scenario it lands in, and the relay's counters for it.
import { randomBytes } from 'node:crypto';
import { LIVE_PATH } from './stack.mjs';

const OPEN_TIMEOUT_MS = 20_000;
const CLOSE_TIMEOUT_MS = 5_000;

/**
 * @typedef {import('./stack.mjs').Stack} Stack
 * @typedef {{ code: number, reason: string, at: number }} CloseInfo
 * @typedef {{ bytes: number, at: number }} ConsumedAudio
 * @typedef {{
 *   consumed: Array<{ type: string, bytes?: number, at: number }>,
 *   audioBytes: number,
 *   connections: Array<{ closeCode: number | null }>,
 * }} EmulatorReport
 * @typedef {{ messages: number, bytes: number }} Direction
 * @typedef {{ counters: { upstreamOut: Direction, clientIn: Direction, overloadCloses: number } }} RelayStatus
 */

export class Conversation {
  /** @type {CloseInfo | null} */
  closed = null;
  /** Set once close() is called: a close after it is ours. */
  closing = false;
  /** Client sends that threw (the socket was no longer open). */
  sendErrors = 0;
  /** Upstream messages the relay forwarded to this client (none expected: no model turns). */
  serverMessages = 0;

  /**
   * @param {Stack} stack
   * @param {import('./stack.mjs').Target} target
   * @param {WebSocket} ws
   * @param {string} id
   * @param {string} scenario
   */
  constructor(stack, target, ws, id, scenario) {
    this.stack = stack;
    this.target = target;
    this.ws = ws;
    this.id = id;
    this.scenario = scenario;
  }

  /**
   * Connects, sends setup and waits for setupComplete.
   * @param {Stack} stack
   * @param {Record<string, string>} query connect options (batch_ms, batch_hold_ms, …)
   * @param {import('./stack.mjs').Target} target the relay (default) or the bare relay
   */
  static async open(stack, query = {}, target = stack.relay) {
    const id = `bench-${randomBytes(12).toString('hex')}`;
    const scenario = `bench-${randomBytes(12).toString('hex')}`;
    const params = new URLSearchParams({ conversation: id, ...query });
    const url = `${target.url.replace(/^http/, 'ws')}${LIVE_PATH}?${params}`;
    // undici's WebSocket takes headers (not in every typing of the global, hence the cast): the relay wants
    // API keys in Authorization, as Google's own clients send their tokens.
    const Ws = /** @type {new (url: string, init: { headers: Record<string, string> }) => WebSocket} */ (
      /** @type {unknown} */ (WebSocket)
    );
    const ws = new Ws(url, { headers: { Authorization: `Bearer ${stack.apiKey}` } });
    ws.binaryType = 'arraybuffer';
    const conv = new Conversation(stack, target, ws, id, scenario);
    await new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${id}: no setupComplete within ${OPEN_TIMEOUT_MS} ms`)),
        OPEN_TIMEOUT_MS,
      );
      ws.addEventListener('open', () => {
        // The marker puts the upstream session in a scenario of our own, whose report we read afterwards.
        const text = `Benchmark conversation. [emulator-scenario:${scenario}]`;
        ws.send(JSON.stringify({ setup: { systemInstruction: { parts: [{ text }] } } }));
      });
      ws.addEventListener('message', (event) => {
        const data = event.data;
        const text =
          typeof data === 'string' ? data : new TextDecoder().decode(/** @type {ArrayBuffer} */ (data));
        if (text.includes('"setupComplete"')) {
          clearTimeout(timer);
          resolve(undefined);
        } else conv.serverMessages++;
      });
      ws.addEventListener('close', (event) => {
        conv.closed = { code: event.code, reason: event.reason, at: Date.now() };
        clearTimeout(timer);
        reject(new Error(`${id}: closed ${event.code} ${event.reason} before setupComplete`));
      });
      ws.addEventListener('error', () => {
        // A failed handshake: 'close' follows with 1006.
      });
    });
    return conv;
  }

  /** Sends one binary frame; false if the socket is not open. */
  send(/** @type {Uint8Array} */ frame) {
    if (this.ws.readyState !== WebSocket.OPEN) return false;
    try {
      this.ws.send(frame);
      return true;
    } catch {
      this.sendErrors++;
      return false;
    }
  }

  /** The relay's (or the bare relay's) status for this conversation (counters of messages and bytes each way). */
  async status() {
    const res = await fetch(`${this.target.url}/v1/conversations/${this.id}`, {
      headers: { Authorization: `Bearer ${this.stack.apiKey}` },
      signal: AbortSignal.timeout(10_000),
    });
    if (!res.ok) throw new Error(`${this.id}: status ${res.status} ${await res.text()}`);
    return /** @type {RelayStatus} */ (await res.json());
  }

  /** The emulator's report of the scenario this conversation's upstream session joined. */
  async report() {
    const res = await fetch(`${this.stack.emulatorUrl}/emulator/scenarios/${this.scenario}`, {
      signal: AbortSignal.timeout(10_000),
    });
    if (!res.ok) throw new Error(`${this.scenario}: report ${res.status} ${await res.text()}`);
    return /** @type {EmulatorReport} */ (await res.json());
  }

  /**
   * Polls the report until the emulator has consumed `bytes` of audio, or `timeoutMs` passes (then the report
   * as it is: the caller counts the shortfall as an error).
   * @param {number} bytes
   * @param {number} timeoutMs
   */
  async reportWhenConsumed(bytes, timeoutMs) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const report = await this.report();
      if (report.audioBytes >= bytes || Date.now() >= deadline) return report;
      await sleep(100);
    }
  }

  /** Closes normally and waits (bounded) for the close to complete. */
  async close() {
    this.closing = true;
    if (this.ws.readyState === WebSocket.CLOSED) return;
    const done = new Promise((resolve) => this.ws.addEventListener('close', resolve));
    try {
      this.ws.close(1000, 'benchmark done');
    } catch {
      // Already closing.
    }
    await Promise.race([done, sleep(CLOSE_TIMEOUT_MS)]);
  }

  /** A close the benchmark did not ask for (the relay or the upstream ended the conversation). */
  get unexpectedClose() {
    return this.closed && !this.closing ? this.closed : null;
  }
}

/** The consumed audio entries of a report, in order. */
export function consumedAudio(/** @type {EmulatorReport} */ report) {
  /** @type {ConsumedAudio[]} */
  const out = [];
  for (const entry of report.consumed)
    if (entry.type === 'realtimeInput.audio') out.push({ bytes: entry.bytes ?? 0, at: entry.at });
  return out;
}

export const sleep = (/** @type {number} */ ms) => new Promise((resolve) => setTimeout(resolve, ms));
