// Rate limits on what starts something: `POST /v1/tokens` per subject, connects per subject, and both per client
// IP. Each is a Workers Rate Limiting binding (`[[ratelimits]]` in wrangler.toml: where deployed, and Miniflare's
// local implementation under wrangler dev and in tests); where a binding is missing, the same in-memory stand-in
// as public demo mode's (`createLocalLimiter`) keeps the documented limit per isolate.
import { createLocalLimiter } from '../demo-token';
import { RelayHttpError } from '../http-error';
import { logEvent, type LogValue } from '../ops/log';

type LimiterName = 'TOKEN_RATE_LIMITER' | 'CONNECT_RATE_LIMITER' | 'IP_RATE_LIMITER';

interface LimiterSpec {
  /** Keep in step with the binding's `simple` in wrangler.toml (used only by the stand-in). */
  limit: number;
  periodSeconds: number;
  code: string;
  what: string;
}

const LIMITERS: Record<LimiterName, LimiterSpec> = {
  TOKEN_RATE_LIMITER: {
    limit: 300,
    periodSeconds: 60,
    code: 'token_rate_limited',
    what: 'token requests for this API key',
  },
  CONNECT_RATE_LIMITER: {
    limit: 300,
    periodSeconds: 60,
    code: 'connect_rate_limited',
    what: 'connects for this API key',
  },
  IP_RATE_LIMITER: {
    limit: 300,
    periodSeconds: 60,
    code: 'ip_rate_limited',
    what: 'requests from your address',
  },
};

const standIns = new Map<LimiterName, ReturnType<typeof createLocalLimiter>>();

function standIn(name: LimiterName) {
  let limiter = standIns.get(name);
  if (!limiter) {
    const spec = LIMITERS[name];
    limiter = createLocalLimiter(spec.limit, spec.periodSeconds * 1000);
    standIns.set(name, limiter);
  }
  return limiter;
}

/** Counts one request against `name` for `key`; throws 429 with the limiter's machine code when over. */
export async function enforceRateLimit(
  env: Env,
  name: LimiterName,
  key: string,
  context: Record<string, LogValue>,
): Promise<void> {
  const limiter = (env as Partial<Env>)[name] ?? standIn(name);
  if ((await limiter.limit({ key })).success) return;
  const spec = LIMITERS[name];
  logEvent('limit_hit', { ...context, limit: spec.code });
  throw new RelayHttpError(
    429,
    spec.code,
    `too many ${spec.what}: at most ${spec.limit} per ${spec.periodSeconds} s; retry later`,
    { 'Retry-After': String(spec.periodSeconds) },
  );
}

/**
 * The client's address as Cloudflare saw it. Cloudflare sets CF-Connecting-IP on every request from the internet
 * (a client cannot choose it); only in-process calls (tests, service bindings) lack it, and they are not limited
 * per address.
 */
export function clientIp(request: Request): string | null {
  return request.headers.get('CF-Connecting-IP');
}
