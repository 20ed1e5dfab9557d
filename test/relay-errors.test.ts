// Bad input, upstream failures and teardown: every close a client can see, with its documented code.
import { describe, expect, it } from 'vitest';
import {
  API_KEY,
  bearer,
  connectRelay,
  createScenario,
  eventually,
  isTurnComplete,
  relayFetch,
  scenarioReport,
  setupMessage,
  uniqueConversationId,
  VERTEX_WS_PATH,
} from './helpers/relay';

const utf8 = new TextEncoder();

describe('bad client input is closed with a documented code', () => {
  const cases: Array<[string, (send: (m: unknown) => void) => void, number, RegExp]> = [
    ['malformed JSON', (send) => send('{"setup": '), 1007, /invalid JSON/],
    ['a JSON array', (send) => send('[1,2]'), 1007, /expected a JSON object/],
    ['two top-level keys', (send) => send({ setup: {}, clientContent: {} }), 1007, /exactly one/],
    ['an unknown message', (send) => send({ hello: {} }), 1007, /unknown message/],
    [
      'a message before setup',
      (send) => send({ realtimeInput: { text: 'hi' } }),
      1008,
      /first message must be setup/,
    ],
    [
      'a setup with a wrong type',
      (send) => send({ setup: { generationConfig: 'TEXT' } }),
      1007,
      /setup\.generationConfig/,
    ],
    [
      'a model outside the allowlist',
      (send) => send(setupMessage({ model: 'gemini-ultra-secret' })),
      1008,
      /not allowed/,
    ],
    ['a non-model string', (send) => send(setupMessage({ model: 'a/b/c' })), 1007, /setup\.model/],
    [
      'audio without data',
      (send) => {
        send(setupMessage());
        send({ realtimeInput: { audio: { mimeType: 'audio/pcm;rate=16000' } } });
      },
      1007,
      /realtimeInput\.audio/,
    ],
  ];
  for (const [name, act, code, reason] of cases) {
    it(`${name} → ${code}`, async () => {
      const ws = await connectRelay();
      act((m) => ws.send(typeof m === 'string' ? m : (m as Record<string, unknown>)));
      const closed = await ws.closed();
      expect(closed.code).toBe(code);
      expect(closed.reason).toMatch(reason);
    });
  }

  it('a second setup → 1008, and the upstream is torn down', async () => {
    const scenario = await createScenario();
    const ws = await connectRelay();
    ws.send(setupMessage({ scenario }));
    await ws.next();
    ws.send(setupMessage({ scenario }));
    expect(await ws.closed()).toEqual({ code: 1008, reason: 'setup may be sent only once per connection' });
    await eventually(
      async () => (await scenarioReport(scenario)).connections[0]!.open === false,
      5000,
      'upstream closed',
    );
  });

  it('an oversized frame → 1009', async () => {
    const ws = await connectRelay();
    ws.send(setupMessage());
    await ws.next();
    ws.send(JSON.stringify({ realtimeInput: { text: 'x'.repeat(4 * 1024 * 1024 + 1) } }));
    expect((await ws.closed()).code).toBe(1009);
  });
});

describe('upstream failures reach the client', () => {
  it('an upstream protocol close (1008) passes through with its reason', async () => {
    const reason = 'Operation is not implemented, or supported, or enabled';
    const scenario = await createScenario({
      default: { closeAfterMessages: 1, closeCode: 1008, closeReason: reason },
    });
    const ws = await connectRelay();
    ws.send(setupMessage({ scenario }));
    await ws.next();
    ws.send({ realtimeInput: { text: 'one' } });
    expect(await ws.closed()).toEqual({ code: 1008, reason });
  });

  it('a relay-composed close reason is cut to 123 UTF-8 bytes without splitting a character', async () => {
    // 1003 is not a Live API code: the relay reports it as 1014 and quotes the 120-byte upstream reason.
    const scenario = await createScenario({
      default: { closeAfterMessages: 1, closeCode: 1003, closeReason: 'é'.repeat(60) },
    });
    const ws = await connectRelay();
    ws.send(setupMessage({ scenario }));
    await ws.next();
    ws.send({ realtimeInput: { text: 'one' } });
    const closed = await ws.closed();
    expect(closed.code).toBe(1014);
    expect(utf8.encode(closed.reason).byteLength).toBeLessThanOrEqual(123);
    expect(closed.reason).toMatch(/^upstream closed with 1003: é+\.\.\.$/);
  });

  it('an upstream protocol close (1007 for TEXT on a native-audio model) reaches the client with its reason', async () => {
    const ws = await connectRelay();
    ws.send(setupMessage({ model: 'gemini-live-2.5-flash-native-audio', modality: 'TEXT' }));
    const closed = await ws.closed();
    expect(closed).toEqual({ code: 1007, reason: 'Precondition check failed.' });
  });
});

describe('teardown', () => {
  it('a normal client close (1000) tears the upstream down at once', async () => {
    const scenario = await createScenario();
    const ws = await connectRelay();
    ws.send(setupMessage({ scenario }));
    await ws.next();
    ws.close(1000, 'bye');
    await eventually(
      async () => (await scenarioReport(scenario)).connections[0]!.open === false,
      5000,
      'upstream closed',
    );
  });

  it('a close frame without a status code (1005) is deliberate too: no grace period', async () => {
    const scenario = await createScenario();
    const ws = await connectRelay();
    ws.send(setupMessage({ scenario }));
    await ws.next();
    ws.closeWithoutCode();
    await eventually(
      async () => (await scenarioReport(scenario)).connections[0]!.open === false,
      5000,
      'upstream closed',
    );
    // Ended because the client closed, not because the grace period for a dropped client ran out.
    expect((await scenarioReport(scenario)).connections[0]!.closeReason).toBe('client closed');
  });
});

describe('HTTP surface', () => {
  it('non-upgrade requests to a WebSocket path get 426; unknown paths 404 JSON', async () => {
    const plain = await relayFetch(VERTEX_WS_PATH);
    expect(plain.status).toBe(426);
    expect(await plain.json()).toMatchObject({ error: { code: 426, status: 'upgrade_required' } });
    const missing = await relayFetch('/nope');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({
      error: { code: 404, status: 'not_found', message: 'no route for GET /nope' },
    });
    expect(await (await relayFetch('/healthz')).json()).toEqual({ ok: true });
  });

  it('status endpoint counters match what the emulator counted', async () => {
    const scenario = await createScenario();
    const id = uniqueConversationId();
    const ws = await connectRelay(`/v1/conversations/${id}/live`);
    ws.send(setupMessage({ scenario }));
    await ws.next();
    ws.send({
      clientContent: { turns: [{ role: 'user', parts: [{ text: 'count me' }] }], turnComplete: true },
    });
    await ws.until(isTurnComplete);
    ws.send({ realtimeInput: { text: 'and me' } });
    await ws.until(isTurnComplete);
    const status = await (
      await relayFetch(`/v1/conversations/${id}`, { headers: bearer(API_KEY) })
    ).json<Record<string, any>>();
    const report = await scenarioReport(scenario);
    expect(status.model).toBe('gemini-live-2.5-flash');
    expect(status.upstream.state).toBe('live');
    expect(status.counters.upstreamOut.messages).toBe(report.consumed.length);
    expect(status.counters.upstreamIn.messages).toBe(
      Object.values(report.serverMessagesByType).reduce((a, b) => a + b, 0),
    );
    expect(status.counters.clientOut.messages).toBe(ws.frames.length);
    expect(Date.parse(status.createdAt)).toBeLessThanOrEqual(Date.parse(status.lastActivityAt));
    ws.close();
    expect(
      (await relayFetch(`/v1/conversations/${uniqueConversationId()}`, { headers: bearer(API_KEY) })).status,
    ).toBe(404);
  });
});
