// The Authorization header for the upstream socket: a Google access token from the service-account key
// (minted with jose, cached per isolate; a fresh one on every upstream (re)connect when near expiry).
import { CloseCode, RelayClose } from '../live-api/close-codes';
import { UpstreamAuthError, getTokenSource } from '../google-auth/token';

export async function upstreamAuthorization(env: Env): Promise<string> {
  try {
    const source = getTokenSource(env);
    if (source) return `Bearer ${(await source.getToken()).accessToken}`;
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
