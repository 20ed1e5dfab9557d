// Public demo mode (src/demo-token.ts): POST /v1/demo-token without an API key, for the relay's own page only.
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import app from '../src/index';
import { verifyClientToken } from '../src/client-auth';
import { DEMO_MAX_SESSION_SECONDS, DEMO_TOKENS_PER_WINDOW, createLocalLimiter } from '../src/demo-token';
import { RELAY_ORIGIN, relayFetch } from './helpers/relay';

/** The relay with public demo mode switched on (the test config leaves wrangler.toml's default, off). */
function demoFetch(headers: Record<string, string>, overrides: Partial<Env> = {}) {
  const request = new Request(`${RELAY_ORIGIN}/v1/demo-token`, { method: 'POST', headers });
  return app.fetch(request, { ...env, PUBLIC_DEMO: 'on', ...overrides });
}

const uniqueIp = () => `198.51.100.${Math.floor(Math.random() * 250)}-${crypto.randomUUID()}`;

describe('POST /v1/demo-token', () => {
  it('is off by default: 404 with a machine code', async () => {
    const response = await relayFetch('/v1/demo-token', {
      method: 'POST',
      headers: { Origin: RELAY_ORIGIN },
    });
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: { status: 'demo_disabled' } });
  });

  it('mints a token for the relay’s own page: allowed models only, short sessions', async () => {
    const response = await demoFetch({ Origin: RELAY_ORIGIN, 'CF-Connecting-IP': uniqueIp() });
    expect(response.status).toBe(201);
    const body = await response.json<{
      token: string;
      conversation: string;
      maxSessionSeconds: number;
    }>();
    expect(body.maxSessionSeconds).toBe(DEMO_MAX_SESSION_SECONDS);
    const verified = await verifyClientToken(env, body.token);
    expect(verified).toMatchObject({
      ok: true,
      principal: {
        conversation: body.conversation,
        constraints: {
          models: env.ALLOWED_MODELS.split(','),
          maxSessionSeconds: DEMO_MAX_SESSION_SECONDS,
        },
      },
    });
  });

  it('with ALLOWED_MODELS=* the token still names models: the default and the GA Live models', async () => {
    const response = await demoFetch(
      { Origin: RELAY_ORIGIN, 'CF-Connecting-IP': uniqueIp() },
      { ALLOWED_MODELS: '*', LIVE_MODEL: 'gemini-live-2.5-flash' },
    );
    const { token } = await response.json<{ token: string }>();
    expect(await verifyClientToken(env, token)).toMatchObject({
      principal: { constraints: { models: ['gemini-live-2.5-flash', 'gemini-live-2.5-flash-native-audio'] } },
    });
  });

  it('refuses other origins and requests without an Origin (403)', async () => {
    for (const headers of [{ Origin: 'https://evil.example' }, {}] as Array<Record<string, string>>) {
      const response = await demoFetch({ ...headers, 'CF-Connecting-IP': uniqueIp() });
      expect(response.status).toBe(403);
      expect(await response.json()).toMatchObject({ error: { status: 'origin_not_allowed' } });
    }
  });

  it('rate-limits per IP with the DEMO_RATE_LIMITER binding', async () => {
    const ip = uniqueIp();
    const statuses: number[] = [];
    for (let i = 0; i <= DEMO_TOKENS_PER_WINDOW; i++) {
      statuses.push((await demoFetch({ Origin: RELAY_ORIGIN, 'CF-Connecting-IP': ip })).status);
    }
    expect(statuses.slice(0, DEMO_TOKENS_PER_WINDOW).every((s) => s === 201)).toBe(true);
    const limited = await demoFetch({ Origin: RELAY_ORIGIN, 'CF-Connecting-IP': ip });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('Retry-After')).toBe('60');
    // Another address has its own budget.
    expect((await demoFetch({ Origin: RELAY_ORIGIN, 'CF-Connecting-IP': uniqueIp() })).status).toBe(201);
  });

  it('without the binding, an in-memory limiter stands in', async () => {
    const ip = uniqueIp();
    const noBinding = { DEMO_RATE_LIMITER: undefined } as unknown as Partial<Env>;
    const statuses: number[] = [];
    for (let i = 0; i <= DEMO_TOKENS_PER_WINDOW; i++) {
      statuses.push((await demoFetch({ Origin: RELAY_ORIGIN, 'CF-Connecting-IP': ip }, noBinding)).status);
    }
    expect(statuses.at(-1)).toBe(429);
    expect(statuses.filter((s) => s === 201)).toHaveLength(DEMO_TOKENS_PER_WINDOW);
  });
});

describe('createLocalLimiter', () => {
  it('allows `limit` per key and window, then refuses until the window passes', async () => {
    const limiter = createLocalLimiter(2, 60_000);
    const results = [];
    for (let i = 0; i < 3; i++) results.push((await limiter.limit({ key: 'a' })).success);
    expect(results).toEqual([true, true, false]);
    expect((await limiter.limit({ key: 'b' })).success).toBe(true);
  });
});
