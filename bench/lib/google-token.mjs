// A Google access token for a service-account key, the way the relay gets one (an RS256 JWT assertion exchanged
// at the key's token_uri): for the benchmarks' reference relays (bare-relay.mjs, the floor relay).
import { SignJWT, importPKCS8 } from 'jose';

const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';

/**
 * @param {{ client_email: string, private_key: string, private_key_id: string, token_uri: string }} key
 * @returns {Promise<{ token: string, expiresAt: number }>}
 */
export async function mintAccessToken(key) {
  const iat = Math.floor(Date.now() / 1000);
  const assertion = await new SignJWT({ scope: CLOUD_PLATFORM_SCOPE })
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: key.private_key_id })
    .setIssuer(key.client_email)
    .setAudience(key.token_uri)
    .setIssuedAt(iat)
    .setExpirationTime(iat + 3600)
    .sign(await importPKCS8(key.private_key, 'RS256'));
  const res = await fetch(key.token_uri, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }),
  });
  const body = /** @type {{ access_token?: string, expires_in?: number }} */ (await res.json());
  if (!res.ok || !body.access_token) throw new Error(`token endpoint: ${res.status} ${JSON.stringify(body)}`);
  return { token: body.access_token, expiresAt: Date.now() + (body.expires_in ?? 3600) * 1000 };
}
