// The relay's logs (README "Operating the relay" → Logs): one JSON line per event, each with the ids an operator
// joins on, and never content, audio or a secret. Captured from a conversation with a refusal and a limit hit.
import { env } from 'cloudflare:workers';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  API_KEY,
  bearer,
  connectRelay,
  createScenario,
  isTurnComplete,
  mintToken,
  setupMessage,
  tryConnectRelay,
  turnText,
} from './helpers/relay';
import { tone } from './helpers/audio';

let lines: string[] = [];

beforeEach(() => {
  lines = [];
  for (const level of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
      lines.push(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '));
    });
  }
});
afterEach(() => vi.restoreAllMocks());

const eventsIn = () =>
  lines.filter((l) => l.startsWith('{"event":')).map((l) => JSON.parse(l) as Record<string, unknown>);

describe('one JSON line per event', () => {
  it('connect → setup → upstream open/ready/closed, refused and limit_hit: ids on each, no content, no secret', async () => {
    const secretWords = 'the purple elephant sings at midnight';
    const { token, conversation } = await mintToken();
    const scenario = await createScenario();
    const ws = await connectRelay(`/v1/conversations/${conversation}/live?access_token=${token}`, {});
    ws.send(setupMessage({ scenario, instruction: 'Keep this private: zebra-crossing-42.' }));
    await ws.next();
    ws.send({ realtimeInput: { text: secretWords } });
    const reply = await ws.until(isTurnComplete);
    expect(turnText(reply)).toContain(secretWords);
    ws.send(tone(100));
    ws.close();
    // A refusal (a wrong key) and a limit hit (the IP budget of an address that is already spent).
    await tryConnectRelay(`/v1/conversations/${conversation}/live`, bearer('wrong-key'));
    const ip = { 'CF-Connecting-IP': '192.0.2.77' };
    const spent = { ...ip, ...bearer('wrong-key') };
    // Spent until refused, so the connect right after falls in the same window.
    while ((await env.IP_RATE_LIMITER.limit({ key: ip['CF-Connecting-IP'] })).success);
    await tryConnectRelay(`/v1/conversations/${conversation}/live`, spent);
    await vi.waitFor(() => expect(eventsIn().some((e) => e.event === 'upstream_closed')).toBe(true), {
      timeout: 5000,
    });

    // Every line of the relay's own events is one JSON object with a known event name and a request id or ids.
    const events = eventsIn();
    const names = new Set(events.map((e) => e.event));
    for (const name of [
      'connect',
      'setup',
      'upstream_open',
      'upstream_ready',
      'upstream_closed',
      'refused',
      'limit_hit',
    ])
      expect(names, `logged ${name}`).toContain(name);
    for (const e of events) {
      expect(
        Object.values(e).every((v) => v === null || ['string', 'number', 'boolean'].includes(typeof v)),
      ).toBe(true);
    }
    const ofConversation = events.filter((e) =>
      ['connect', 'setup', 'upstream_open', 'upstream_ready', 'upstream_closed'].includes(e.event as string),
    );
    for (const e of ofConversation) {
      expect(e).toMatchObject({ conversation, subject: 'test-client' });
      expect(e.requestId).toEqual(expect.any(String));
    }
    // The object's lines carry the request id of the connect that started them.
    const connect = events.find((e) => e.event === 'connect')!;
    expect(events.find((e) => e.event === 'upstream_closed')!.requestId).toBe(connect.requestId);
    expect(events.find((e) => e.event === 'upstream_closed')).toMatchObject({
      code: 1000,
      durationMs: expect.any(Number),
    });
    expect(events.find((e) => e.event === 'limit_hit')).toMatchObject({ limit: 'ip_rate_limited' });
    expect(events.find((e) => e.event === 'refused')).toMatchObject({ status: 401, code: 'invalid_api_key' });

    const key = JSON.parse(env.GOOGLE_SERVICE_ACCOUNT_KEY!) as {
      private_key: string;
      private_key_id: string;
    };
    const forbidden = [
      token,
      API_KEY,
      env.RELAY_TOKEN_SECRET!,
      key.private_key_id,
      key.private_key.split('\n')[1]!,
      'ya29.',
      'purple elephant',
      'zebra-crossing',
      'access_token',
    ];
    for (const line of lines) for (const text of forbidden) expect(line).not.toContain(text);
  });
});
