// Rate limits on POST /v1/tokens and connects, per subject and per client IP, through the Workers Rate Limiting
// bindings of wrangler.toml as Miniflare runs them locally (300 per 60 s each). Miniflare counts in fixed windows
// aligned to the wall clock, so each burst starts early in a window: a burst that straddled two would be split.
import { describe, expect, it } from 'vitest';
import { bearer, relayFetch, tryConnectRelay, uniqueConversationId, VERTEX_WS_PATH } from './helpers/relay';
import type { JsonMessage } from './helpers/ws';

const LIMIT = 300;
const PERIOD_MS = 60_000;

/** Waits for a fresh window when less than 20 s of this one are left (a burst here takes a few seconds). */
async function atWindowStart(): Promise<void> {
  const left = PERIOD_MS - (Date.now() % PERIOD_MS);
  if (left < 20_000) await new Promise((r) => setTimeout(r, left + 50));
}

async function expectRefusal(response: Response, code: string): Promise<void> {
  expect(response.status).toBe(429);
  expect(response.headers.get('Retry-After')).toBe('60');
  const body = await response.json<JsonMessage>();
  expect(body.error).toMatchObject({ code: 429, status: code });
  expect(body.error.message).toMatch(new RegExp(`at most ${LIMIT} per 60 s`));
}

/** Sends `count` requests, a few at a time, and returns their statuses. */
async function burst(count: number, send: () => Promise<Response>): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < count; i += 20) {
    const batch = await Promise.all(Array.from({ length: Math.min(20, count - i) }, send));
    for (const response of batch) {
      statuses.push(response.status);
      response.webSocket?.accept();
      response.webSocket?.close(1000, 'test done');
    }
  }
  return statuses;
}

describe('per client IP (IP_RATE_LIMITER): checked before any credential', () => {
  it(`${LIMIT} requests from one address pass to authentication; the next gets 429 ip_rate_limited`, async () => {
    await atWindowStart();
    const ip = `198.51.100.${Math.floor(Math.random() * 250) + 1}`;
    const headers = { 'CF-Connecting-IP': ip, ...bearer('not-a-key') };
    // Wrong keys, as a credential-stuffing loop would send them: each is counted, each is a 401.
    const statuses = await burst(LIMIT, () =>
      relayFetch('/v1/tokens', { method: 'POST', headers, body: '{}' }),
    );
    expect(new Set(statuses)).toEqual(new Set([401]));
    // Tokens and connects share the address's budget.
    const refused = await tryConnectRelay(VERTEX_WS_PATH, headers);
    if (!(refused instanceof Response)) throw new Error('upgraded past the IP limit');
    await expectRefusal(refused, 'ip_rate_limited');
    await expectRefusal(
      await relayFetch('/v1/tokens', { method: 'POST', headers, body: '{}' }),
      'ip_rate_limited',
    );
    // Another address is not affected.
    const other = await relayFetch('/v1/tokens', {
      method: 'POST',
      headers: { 'CF-Connecting-IP': '203.0.113.9', ...bearer('not-a-key') },
      body: '{}',
    });
    expect(other.status).toBe(401);
  }, 60_000);
});

describe('per subject: POST /v1/tokens (TOKEN_RATE_LIMITER) and connects (CONNECT_RATE_LIMITER)', () => {
  it(`${LIMIT} token requests of one key are answered; the next gets 429 token_rate_limited`, async () => {
    await atWindowStart();
    const headers = { ...bearer('rate-api-key'), 'content-type': 'application/json' };
    // Malformed bodies: counted once the key is known, each a 400.
    const statuses = await burst(LIMIT, () =>
      relayFetch('/v1/tokens', { method: 'POST', headers, body: '{"ttlSeconds":"x"}' }),
    );
    expect(new Set(statuses)).toEqual(new Set([400]));
    await expectRefusal(
      await relayFetch('/v1/tokens', { method: 'POST', headers, body: '{}' }),
      'token_rate_limited',
    );
    // Another key's budget is its own.
    const other = await relayFetch('/v1/tokens', {
      method: 'POST',
      headers: { ...bearer('test-api-key'), 'content-type': 'application/json' },
      body: '{}',
    });
    expect(other.status).toBe(201);
  }, 60_000);

  it(`${LIMIT} connect attempts of one key are answered; the next gets 429 connect_rate_limited`, async () => {
    await atWindowStart();
    const headers = bearer('rate-api-key');
    // Attempts with a bad option: counted (the key is known), each a 400 before any conversation exists.
    const statuses = await burst(LIMIT, async () => {
      const result = await tryConnectRelay(`${VERTEX_WS_PATH}?batch_ms=abc`, headers);
      if (!(result instanceof Response)) throw new Error('a bad option was upgraded');
      return result;
    });
    expect(new Set(statuses)).toEqual(new Set([400]));
    const refused = await tryConnectRelay(`/v1/conversations/${uniqueConversationId()}/live`, headers);
    if (!(refused instanceof Response)) throw new Error('upgraded past the connect limit');
    await expectRefusal(refused, 'connect_rate_limited');
  }, 60_000);
});
