// The Authorization header for the upstream socket.
import { CloseCode, RelayClose } from './close-codes';

export async function upstreamAuthorization(env: Env): Promise<string> {
  if (env.GOOGLE_ACCESS_TOKEN) return `Bearer ${env.GOOGLE_ACCESS_TOKEN}`;
  throw new RelayClose(
    CloseCode.UpstreamAuthFailed,
    'relay has no Google credentials: set GOOGLE_SERVICE_ACCOUNT_KEY',
  );
}
