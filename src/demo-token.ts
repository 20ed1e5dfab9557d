// Opt-in public demo mode (`PUBLIC_DEMO=on`): the relay's own page may mint a short-lived client token without an
// API key, so a deployed demo works for anyone who opens it. Off by default because every token spends the
// operator's Gemini quota; the limits below bound what one visitor can spend (README "Public demo mode").
import { Hono } from 'hono';
import { allowedModels } from './config';
import { mintClientToken } from './client-auth';
import { errorResponse } from './http-error';

/** Each demo connection ends after this long (close 4003); the page then starts a new conversation. */
export const DEMO_MAX_SESSION_SECONDS = 300;
/** Long enough to reconnect and resume within a conversation; a new conversation needs a new token. */
const DEMO_TOKEN_TTL_SECONDS = 600;
/** The local equivalent of `[[ratelimits]] DEMO_RATE_LIMITER` in wrangler.toml: keep the two in step. */
export const DEMO_TOKENS_PER_WINDOW = 10;
const DEMO_WINDOW_MS = 60_000;
/** With `ALLOWED_MODELS=*` a demo token still names models: the GA Live models the page offers. */
const DEMO_MODELS_WHEN_ANY = ['gemini-live-2.5-flash-native-audio', 'gemini-live-2.5-flash'];
/** Every demo conversation belongs to this subject; a token still opens only the conversation it names. */
const DEMO_SUBJECT = 'public-demo';

/**
 * A fixed-window counter per key in this isolate's memory: enough to stop a loop in development. Like the
 * binding it is approximate (per isolate, as the binding is per Cloudflare location).
 */
export function createLocalLimiter(limit = DEMO_TOKENS_PER_WINDOW, windowMs = DEMO_WINDOW_MS) {
  const windows = new Map<string, { start: number; count: number }>();
  return {
    limit({ key }: { key: string }): Promise<{ success: boolean }> {
      const now = Date.now();
      let window = windows.get(key);
      if (!window || now - window.start >= windowMs) {
        // Expired windows are dropped as we go, so the map holds only keys seen in the last window.
        for (const [k, w] of windows) if (now - w.start >= windowMs) windows.delete(k);
        window = { start: now, count: 0 };
        windows.set(key, window);
      }
      window.count++;
      return Promise.resolve({ success: window.count <= limit });
    },
  };
}

const localLimiter = createLocalLimiter();

export const demoTokenRoutes = new Hono<{ Bindings: Env }>();

demoTokenRoutes.post('/v1/demo-token', async (c) => {
  if (c.env.PUBLIC_DEMO !== 'on') {
    return errorResponse(404, 'demo_disabled', 'public demo mode is off on this relay (PUBLIC_DEMO)');
  }
  // Only the relay's own page: a browser always sends Origin on a POST, and other sites cannot forge it.
  // Scripts can, which is why the rate limit and the token's limits are the real bound on cost.
  const origin = c.req.header('Origin');
  if (origin !== new URL(c.req.url).origin) {
    return errorResponse(403, 'origin_not_allowed', 'demo tokens are only issued to the relay’s own page');
  }
  const ip = c.req.header('CF-Connecting-IP') ?? 'local';
  // The binding is absent where wrangler.toml's [[ratelimits]] was dropped or is unsupported.
  const limiter = (c.env as Partial<Env>).DEMO_RATE_LIMITER ?? localLimiter;
  if (!(await limiter.limit({ key: ip })).success) {
    return errorResponse(
      429,
      'rate_limited',
      'too many demo tokens from your address; try again in a minute',
      {
        'Retry-After': String(DEMO_WINDOW_MS / 1000),
      },
    );
  }
  const allowed = allowedModels(c.env);
  const minted = await mintClientToken(c.env, DEMO_SUBJECT, {
    ttlSeconds: DEMO_TOKEN_TTL_SECONDS,
    maxSessionSeconds: DEMO_MAX_SESSION_SECONDS,
    models: allowed === '*' ? [...new Set([c.env.LIVE_MODEL, ...DEMO_MODELS_WHEN_ANY])] : allowed,
  });
  return c.json({ ...minted, maxSessionSeconds: DEMO_MAX_SESSION_SECONDS }, 201);
});
