// Talking to the relay under test (through the Worker's real fetch handler) and steering the emulator behind it.
import { env, exports } from 'cloudflare:workers';
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import worker from '../../src/index';
import { openSocket, tryOpenSocket, type JsonMessage, type TestSocket } from './ws';

export const VERTEX_WS_PATH = '/ws/google.cloud.aiplatform.v1beta1.LlmBidiService/BidiGenerateContent';
export const RELAY_ORIGIN = 'http://relay.test';

export function relayFetch(path: string, init?: RequestInit): Promise<Response> {
  return exports.default.fetch(`${RELAY_ORIGIN}${path}`, init);
}

/**
 * Calls the Worker's fetch handler directly. For requests workerd's fetch client would change on the way: it
 * sends any request carrying `Upgrade: websocket` as a GET.
 */
export async function relayHandle(path: string, init?: RequestInit): Promise<Response> {
  const ctx = createExecutionContext();
  const response = await worker.fetch(new Request(`${RELAY_ORIGIN}${path}`, init), env, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

const relay = { fetch: (url: string, init?: RequestInit) => exports.default.fetch(url, init) };

/** The API keys the test relay accepts (vitest.config.mts), by subject. */
export const API_KEY = 'test-api-key';
export const OTHER_API_KEY = 'other-api-key';
export const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });

/** Connects with the test API key unless the caller passes its own credentials (or `{}` for none). */
export function connectRelay(
  path = VERTEX_WS_PATH,
  headers: Record<string, string> = bearer(API_KEY),
): Promise<TestSocket> {
  return openSocket(relay, `${RELAY_ORIGIN}${path}`, headers);
}

export function tryConnectRelay(path = VERTEX_WS_PATH, headers: Record<string, string> = bearer(API_KEY)) {
  return tryOpenSocket(relay, `${RELAY_ORIGIN}${path}`, headers);
}

/** Mints a client token with an API key through POST /v1/tokens. */
export async function mintToken(
  body: Record<string, unknown> = {},
  key = API_KEY,
): Promise<{ token: string; conversation: string; expiresAt: string }> {
  const response = await relayFetch('/v1/tokens', {
    method: 'POST',
    headers: { ...bearer(key), 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (response.status !== 201)
    throw new Error(`token not minted: ${response.status} ${await response.text()}`);
  return response.json();
}

export function uniqueConversationId(): string {
  return `test-${crypto.randomUUID()}`;
}

export interface SetupOptions {
  model?: string;
  modality?: 'TEXT' | 'AUDIO';
  scenario?: string;
  instruction?: string;
  extra?: JsonMessage;
}

/** A client setup; the scenario marker in systemInstruction attaches the connection to an emulator scenario. */
export function setupMessage(options: SetupOptions = {}): JsonMessage {
  const text = [
    options.instruction ?? 'You are a test assistant.',
    options.scenario ? `[emulator-scenario:${options.scenario}]` : '',
  ]
    .filter(Boolean)
    .join(' ');
  return {
    setup: {
      model: options.model ?? 'gemini-live-2.5-flash',
      generationConfig: { responseModalities: [options.modality ?? 'TEXT'] },
      systemInstruction: { parts: [{ text }] },
      ...options.extra,
    },
  };
}

export { createScenario, scenarioAudio, scenarioReport } from './emulator-control';

/** Text of a model turn's parts, joined exactly as sent. */
export function turnText(messages: JsonMessage[]): string {
  return messages
    .flatMap((m) => m.serverContent?.modelTurn?.parts ?? [])
    .map((p: JsonMessage) => p.text ?? '')
    .join('');
}

export const isTurnComplete = (m: JsonMessage): boolean => m.serverContent?.turnComplete === true;

/** A relay event (`{"relay":{…}}`), not part of the Live API stream. */
export const isRelayEvent = (m: JsonMessage): boolean => m.relay !== undefined;

/** The conversation's own WebSocket path, with relay events on unless the query says otherwise. */
export const livePath = (id: string, query = 'relay_events=1') => `/v1/conversations/${id}/live?${query}`;

/** Sends a text turn and returns the model's reply text (relay events left out). */
export async function say(ws: TestSocket, text: string): Promise<string> {
  ws.send({ realtimeInput: { text } });
  const turn = await ws.until(isTurnComplete, 15_000, `reply to "${text}"`);
  return turnText(turn.filter((m) => !isRelayEvent(m)));
}

/** Polls until the check passes (for state the emulator or relay reaches asynchronously). */
export async function eventually(
  check: () => Promise<boolean>,
  timeoutMs = 5000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
