import { ClientAuthConfigError, authFailure } from './types';
import type { AuthFailure } from './types';

type AllowedOrigins = '*' | ReadonlySet<string>;

function parseAllowedOrigins(value: string | undefined): AllowedOrigins {
  const allowed = new Set<string>();
  for (const entry of (value ?? '').split(',').map((s) => s.trim())) {
    if (entry === '') continue;
    if (entry === '*') return '*';
    let url: URL | undefined;
    try {
      url = new URL(entry);
    } catch {
      url = undefined;
    }
    if (url === undefined || url.origin === 'null' || url.pathname !== '/' || url.search || url.hash) {
      throw new ClientAuthConfigError(
        'ALLOWED_ORIGINS',
        `ALLOWED_ORIGINS entry "${entry}" is not an origin; use scheme://host[:port] entries separated by commas, or *.`,
      );
    }
    allowed.add(url.origin);
  }
  return allowed;
}

function originOf(header: string): URL | undefined {
  try {
    const url = new URL(header);
    return url.origin === 'null' ? undefined : url;
  } catch {
    return undefined;
  }
}

/**
 * Whether a browser page may open a socket here (cross-site WebSocket hijacking defence; WebSockets are not
 * subject to CORS). Allowed: no `Origin` header (non-browser clients, which could forge one anyway); the
 * relay's own host (its static page); any origin when `ALLOWED_ORIGINS` is `*`; and the listed origins.
 * `Origin: null` (sandboxed frames, `file:`) is allowed only by `*`. Throws `ClientAuthConfigError` for a
 * malformed `ALLOWED_ORIGINS`.
 */
export function checkOrigin(request: Request, env: { ALLOWED_ORIGINS?: string }): { ok: true } | AuthFailure {
  const header = request.headers.get('Origin');
  if (header === null) return { ok: true };
  const allowed = parseAllowedOrigins(env.ALLOWED_ORIGINS);
  if (allowed === '*') return { ok: true };
  const origin = originOf(header);
  if (origin !== undefined && (origin.host === new URL(request.url).host || allowed.has(origin.origin))) {
    return { ok: true };
  }
  return authFailure(
    403,
    'origin_not_allowed',
    `Origin ${JSON.stringify(header.slice(0, 200))} may not connect to this relay; its operator can add it to ALLOWED_ORIGINS.`,
  );
}
