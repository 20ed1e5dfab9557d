// Input limits (README "Limits"): every refusal over real sockets and HTTP, at the documented values.
import { describe, expect, it } from 'vitest';
import {
  API_KEY,
  bearer,
  connectRelay,
  createScenario,
  isTurnComplete,
  mintToken,
  relayFetch,
  relayHandle,
  scenarioReport,
  setupMessage,
  tryConnectRelay,
  uniqueConversationId,
  VERTEX_WS_PATH,
} from './helpers/relay';
import type { JsonMessage } from './helpers/ws';

// The README's values, written out so a changed constant shows up here as a contract change.
const MAX_JSON_DEPTH = 64;
const MAX_TOKEN_MODELS = 16;
const MAX_MODEL_ID_CHARS = 128;
const MAX_CLIENT_TOKEN_CHARS = 12_288;

/** `{"x":{"x":…{}…}}`, `levels` objects deep, as text (JSON.stringify itself recurses). */
const chain = (levels: number): string => '{"x":'.repeat(levels - 1) + '{}' + '}'.repeat(levels - 1);

/** Nesting depth of a JSON text, counted independently of the relay: a recursive walk of the parsed value. */
function depthOf(text: string): number {
  const walk = (v: unknown): number =>
    v !== null && typeof v === 'object'
      ? 1 + Math.max(0, ...Object.values(v as Record<string, unknown>).map(walk))
      : 0;
  return walk(JSON.parse(text));
}

/** A setup whose function schema nests so that the whole message is exactly `depth` levels deep. */
function setupOfDepth(depth: number, scenario: string): string {
  // {setup {tools [ {functionDeclarations [ {parameters …: six levels around the schema.
  const message = setupMessage({
    scenario,
    extra: { tools: [{ functionDeclarations: [{ name: 'f', parameters: '@SCHEMA@' }] }] },
  });
  const text = JSON.stringify(message).replace('"@SCHEMA@"', chain(depth - 6));
  expect(depthOf(text)).toBe(depth);
  return text;
}

describe(`client JSON deeper than ${MAX_JSON_DEPTH} levels → 1007 before any recursive walk or forwarding`, () => {
  it(`a setup exactly ${MAX_JSON_DEPTH} deep (a nested function schema) is accepted`, async () => {
    const scenario = await createScenario();
    const ws = await connectRelay();
    ws.send(setupOfDepth(MAX_JSON_DEPTH, scenario));
    expect(await ws.next()).toHaveProperty('setupComplete');
    ws.close();
  });

  it(`one level more is refused with a reason naming the limit; no upstream opens`, async () => {
    const scenario = await createScenario();
    const ws = await connectRelay();
    ws.send(setupOfDepth(MAX_JSON_DEPTH + 1, scenario));
    expect(await ws.closed()).toEqual({
      code: 1007,
      reason: `invalid message: JSON nested deeper than ${MAX_JSON_DEPTH} levels`,
    });
    expect((await scenarioReport(scenario)).connections).toHaveLength(0);
  });

  for (const [name, levels, snake] of [
    // The snake_case key makes the relay rewrite keys: the copy used to recurse 5,000 deep and overflow (1011).
    ['5,000 deep with a snake_case key', 5_000, true],
    // No underscore, so no copy: this one used to go upstream as is, and be replayed on every reconnect.
    ['100,000 deep', 100_000, false],
  ] as const) {
    it(`${name} → 1007, and nothing reaches the model`, async () => {
      const scenario = await createScenario();
      const ws = await connectRelay();
      ws.send(setupMessage({ scenario }));
      await ws.next();
      // Under a protocol key (not the opaque `response`), so that the key rewrite walks it.
      const [list, field] = snake
        ? ['function_responses', 'will_continue']
        : ['functionResponses', 'willContinue'];
      ws.send(`{"toolResponse":{"${list}":[{"id":"c1","name":"f","${field}":${chain(levels - 4)}}]}}`);
      expect(await ws.closed()).toEqual({
        code: 1007,
        reason: `invalid message: JSON nested deeper than ${MAX_JSON_DEPTH} levels`,
      });
      const report = await scenarioReport(scenario);
      expect(report.messagesByType.toolResponse ?? 0).toBe(0);
    });
  }

  it('brackets inside strings (escaped quotes included) are text, not nesting', async () => {
    const scenario = await createScenario();
    const ws = await connectRelay();
    ws.send(setupMessage({ scenario }));
    await ws.next();
    const text = `[{ \\" [[[ \\\\" ${'[{'.repeat(500)} are you there`;
    ws.send({ clientContent: { turns: [{ role: 'user', parts: [{ text }] }], turnComplete: true } });
    await ws.until(isTurnComplete);
    expect(ws.closeEvent).toBeNull();
    ws.close();
  });
});

describe('a bad rate= in realtimeInput.audio.mimeType → 1007 naming the field', () => {
  for (const mimeType of [
    'audio/pcm;rate=abc',
    'audio/pcm;rate=999999',
    'audio/pcm;rate=0',
    'audio/pcm;rate=',
  ]) {
    it(mimeType, async () => {
      const ws = await connectRelay();
      ws.send(setupMessage());
      await ws.next();
      ws.send({ realtimeInput: { audio: { mimeType, data: 'AAAA' } } });
      const closed = await ws.closed();
      expect(closed.code).toBe(1007);
      expect(closed.reason).toMatch(
        /^realtimeInput\.audio\.mimeType rate must be an integer from 8000 to 48000/,
      );
    });
  }

  it('the deprecated mediaChunks spelling gets the same close', async () => {
    const ws = await connectRelay();
    ws.send(setupMessage());
    await ws.next();
    ws.send({ realtimeInput: { mediaChunks: [{ mimeType: 'audio/pcm;rate=16k', data: 'AAAA' }] } });
    const closed = await ws.closed();
    expect(closed.code).toBe(1007);
    expect(closed.reason).toMatch(/^realtimeInput\.audio\.mimeType rate/);
  });
});

describe('a WebSocket path answers only GET', () => {
  for (const [method, path] of [
    ['POST', VERTEX_WS_PATH],
    ['PUT', VERTEX_WS_PATH],
    ['POST', `/v1/conversations/${uniqueConversationId()}/live`],
  ] as const) {
    it(`${method} ${path.slice(0, 30)}… with Upgrade: websocket → 405 JSON with Allow: GET`, async () => {
      const response = await relayHandle(path, {
        method,
        headers: { Upgrade: 'websocket', ...bearer(API_KEY) },
      });
      if (response.webSocket) {
        // Over the network this upgrade of a POST came back as a 500; handed over in-process it succeeds.
        response.webSocket.accept();
        response.webSocket.close(1000, 'test done');
        throw new Error(`${method} was upgraded`);
      }
      expect(response.status).toBe(405);
      expect(response.headers.get('Allow')).toBe('GET');
      expect(await response.json()).toEqual({
        error: {
          code: 405,
          status: 'method_not_allowed',
          message: `${method} is not allowed here: open the WebSocket with GET and Upgrade: websocket`,
        },
      });
    });
  }
});

describe('integer query options: plain decimal digits only → else 400 invalid_option naming the option', () => {
  for (const [option, value] of [
    ['last_seq', '0x10'],
    ['last_seq', '1e3'],
    ['last_seq', ''],
    ['last_seq', '%2012'],
    ['last_seq', '1234567890123456'],
    ['audio_rate', ''],
    ['audio_rate', '%2016000'],
    ['audio_rate', '16000.0'],
    ['batch_ms', ''],
    ['batch_ms', '40%20'],
    ['batch_hold_ms', ''],
    ['batch_hold_ms', '0x20'],
  ] as const) {
    it(`?${option}=${value}`, async () => {
      const path = `/v1/conversations/${uniqueConversationId()}/live?${option}=${value}`;
      const result = await tryConnectRelay(path);
      if (!(result instanceof Response)) {
        result.close();
        throw new Error(`?${option}=${value} was upgraded`);
      }
      expect(result.status).toBe(400);
      const body = await result.json<JsonMessage>();
      expect(body.error).toMatchObject({ code: 400, status: 'invalid_option' });
      expect(body.error.message).toMatch(new RegExp(`^${option} must be`));
    });
  }

  it('plain digits still work for each option', async () => {
    const id = uniqueConversationId();
    const ws = await connectRelay(
      `/v1/conversations/${id}/live?last_seq=0&audio_rate=24000&batch_ms=0&batch_hold_ms=10`,
    );
    ws.send(setupMessage());
    expect(await ws.next()).toHaveProperty('setupComplete');
    ws.close();
  });
});

describe('POST /v1/tokens bounds what a token can carry', () => {
  const post = (body: unknown) =>
    relayFetch('/v1/tokens', {
      method: 'POST',
      headers: { ...bearer(API_KEY), 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const refused = async (body: unknown, message: RegExp) => {
    const response = await post(body);
    expect(response.status).toBe(400);
    const json = await response.json<JsonMessage>();
    expect(json.error).toMatchObject({ code: 400, status: 'invalid_token_request' });
    expect(json.error.message).toMatch(message);
  };
  const models = (n: number, length = 20) => Array.from({ length: n }, (_, i) => `m${i}`.padEnd(length, 'x'));

  it(`${MAX_TOKEN_MODELS + 1} models are refused (20,000 used to mint a 225 KB token); ${MAX_TOKEN_MODELS} are accepted`, async () => {
    await refused(
      { models: models(MAX_TOKEN_MODELS + 1) },
      new RegExp(`^models may list at most ${MAX_TOKEN_MODELS} model ids; got ${MAX_TOKEN_MODELS + 1}$`),
    );
    // 20,000 ids are a body over the size limit, refused before parsing.
    expect((await post({ models: models(20_000) })).status).toBe(413);
    expect((await post({ models: models(MAX_TOKEN_MODELS) })).status).toBe(201);
  });

  it(`a model id over ${MAX_MODEL_ID_CHARS} characters is refused`, async () => {
    await refused(
      { models: ['gemini-live-2.5-flash', 'x'.repeat(MAX_MODEL_ID_CHARS + 1)] },
      new RegExp(`models\\[1\\] is ${MAX_MODEL_ID_CHARS + 1} characters; the limit is ${MAX_MODEL_ID_CHARS}`),
    );
    expect((await post({ models: ['x'.repeat(MAX_MODEL_ID_CHARS)] })).status).toBe(201);
  });

  it('a body over 64 KiB is refused unparsed with 413', async () => {
    const response = await post({ setup: { systemInstruction: 'x'.repeat(64 * 1024) } });
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({
      error: {
        code: 413,
        status: 'payload_too_large',
        message: `the body is ${64 * 1024 + 34} bytes; the limit is ${64 * 1024}`,
      },
    });
  });

  it('a locked setup nested deeper than the JSON limit is refused', async () => {
    const response = await relayFetch('/v1/tokens', {
      method: 'POST',
      headers: { ...bearer(API_KEY), 'content-type': 'application/json' },
      // 4,000 levels in under 8 KB: within the setup size limit.
      body: `{"setup":{"tools":${'['.repeat(4_000)}${']'.repeat(4_000)}}}`,
    });
    expect(response.status).toBe(400);
    expect((await response.json<JsonMessage>()).error.message).toMatch(
      `deeper than ${MAX_JSON_DEPTH} levels`,
    );
  });

  it(`the largest token it mints stays within ${MAX_CLIENT_TOKEN_CHARS} characters`, async () => {
    // Each field within its own limit, together too much for a URL: refused, naming what to shrink.
    const systemInstruction = { parts: [{ text: 'x'.repeat(8_000) }] };
    await refused(
      { models: models(MAX_TOKEN_MODELS, MAX_MODEL_ID_CHARS), setup: { systemInstruction } },
      new RegExp(`the token would be \\d+ characters; the limit is ${MAX_CLIENT_TOKEN_CHARS}`),
    );
    const { token } = await mintToken({ setup: { systemInstruction } });
    expect(token.length).toBeLessThanOrEqual(MAX_CLIENT_TOKEN_CHARS);
  });
});
