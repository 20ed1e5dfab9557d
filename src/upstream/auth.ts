// The Authorization header for the upstream socket: a Google access token from the service-account key
// (minted with jose, cached per isolate; a fresh one on every upstream (re)connect when near expiry).
//
// Key rotation without downtime: GOOGLE_SERVICE_ACCOUNT_KEY_NEXT holds a second key, staged before the first is
// revoked. While Google accepts the first it is used; once Google rejects it (invalid_grant and other 4xx, or it
// is unusable), the next key is used, and this isolate keeps preferring it for PREFER_NEXT_MS instead of paying
// for a refused token request on every connect. Then the operator promotes the next key and deletes the old one.
import { CloseCode, RelayClose } from '../live-api/close-codes';
import { UpstreamAuthError, getTokenSource } from '../google-auth/token';
import { logEvent } from '../ops/log';

const PREFER_NEXT_MS = 10 * 60_000;
/** Which primary key (by its text) Google last rejected here, and until when the next key goes first. */
let primaryRejected: { key: string; until: number } | null = null;

async function bearerFrom(env: Env, key: string | undefined): Promise<string | null> {
  const source = getTokenSource({ GOOGLE_SERVICE_ACCOUNT_KEY: key, GOOGLE_AUTH_MODE: env.GOOGLE_AUTH_MODE });
  return source ? `Bearer ${(await source.getToken()).accessToken}` : null;
}

async function googleBearer(env: Env): Promise<string | null> {
  const primary = env.GOOGLE_SERVICE_ACCOUNT_KEY;
  const next = env.GOOGLE_SERVICE_ACCOUNT_KEY_NEXT;
  if (!next?.trim()) return bearerFrom(env, primary);
  const skipPrimary =
    !primary?.trim() ||
    (primaryRejected !== null && primaryRejected.key === primary && Date.now() < primaryRejected.until);
  if (!skipPrimary) {
    try {
      return await bearerFrom(env, primary);
    } catch (err) {
      // An outage is not the key's fault: the next key would fail the same way.
      if (!(err instanceof UpstreamAuthError) || err.kind === 'unavailable') throw err;
      primaryRejected = { key: primary!, until: Date.now() + PREFER_NEXT_MS };
      logEvent('google_key_fallback', { reason: err.code });
    }
  }
  return bearerFrom(env, next);
}

export async function upstreamAuthorization(env: Env): Promise<string> {
  try {
    const bearer = await googleBearer(env);
    if (bearer) return bearer;
  } catch (err) {
    if (err instanceof UpstreamAuthError) {
      // A token endpoint outage is worth retrying; a rejected or malformed key needs the operator.
      const code = err.kind === 'unavailable' ? CloseCode.TryAgainLater : CloseCode.UpstreamAuthFailed;
      throw new RelayClose(code, err.closeReason);
    }
    throw err;
  }
  if (env.GOOGLE_ACCESS_TOKEN) return `Bearer ${env.GOOGLE_ACCESS_TOKEN}`;
  throw new RelayClose(
    CloseCode.UpstreamAuthFailed,
    'relay has no Google credentials: set GOOGLE_SERVICE_ACCOUNT_KEY',
  );
}
