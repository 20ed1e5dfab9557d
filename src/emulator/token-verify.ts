// Assertion and bearer checks for the emulator's stand-in token endpoint, with Google's error texts
// (https://developers.google.com/identity/protocols/oauth2/service-account; live-api-protocol.md §6).
import { decodeJwt, decodeProtectedHeader, errors, importSPKI, jwtVerify, SignJWT } from 'jose';
import type { JWTPayload } from 'jose';

export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
export const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';
const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
/** Google: "exp … at most 1 h after iat"; AIP-4111 self-signed JWTs: exactly 3600 s. */
const MAX_JWT_LIFETIME_S = 3600;
/** Tolerance for the signer's clock when checking iat and exp. */
const CLOCK_SKEW_S = 60;
/** Real responses say 3599 (live-api-protocol.md §6.2). */
export const DEFAULT_EXPIRES_IN_S = 3599;
/** Tokens look like Google's `ya29.` tokens so nothing mistakes them for a self-signed JWT. */
export const ACCESS_TOKEN_PREFIX = 'ya29.emu.';
const ACCESS_TOKEN_ISSUER = 'live-api-emulator';

export interface RegisteredAccount {
  client_email: string;
  private_key_id: string;
  /** SPKI PEM. */
  public_key: string;
  /** Lifetime of the access tokens issued to this account, in seconds. */
  expires_in?: number;
}

export type AccountLookup = (clientEmail: string) => Promise<RegisteredAccount | undefined>;

/** A Google-shaped OAuth error: `{error, error_description}` with its HTTP status. */
interface OAuthFailure {
  status: number;
  error: string;
  description: string;
}

export type Check<T> = { ok: true; value: T } | { ok: false; failure: OAuthFailure };

const SHORT_LIVED =
  'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.';

function fail<T>(error: string, description: string, status = 400): Check<T> {
  return { ok: false, failure: { status, error, description } };
}

const publicKeys = new Map<string, Promise<CryptoKey>>();

/** Imports (and memoises) an SPKI PEM as an RS256 verification key; rejects if it is not one. */
export function importPublicKey(pem: string): Promise<CryptoKey> {
  let key = publicKeys.get(pem);
  if (!key) {
    key = importSPKI(pem, 'RS256');
    publicKeys.set(pem, key);
    key.catch(() => publicKeys.delete(pem));
  }
  return key;
}

function hasCloudPlatformScope(scope: unknown): boolean {
  return typeof scope === 'string' && scope.split(' ').includes(CLOUD_PLATFORM_SCOPE);
}

/** Unverified `iss` of a JWT, for attributing a request to an account before checking it. */
export function peekIssuer(jwt: string): string | undefined {
  try {
    const iss = decodeJwt(jwt).iss;
    return typeof iss === 'string' ? iss : undefined;
  } catch {
    return undefined;
  }
}

/** Verifies an RS256 JWT against the registered account named by its `iss` (and `kid`, if present). */
async function verifyRs256(
  jwt: string,
  lookup: AccountLookup,
  nowS: number,
): Promise<Check<{ claims: JWTPayload; account: RegisteredAccount }>> {
  let alg: unknown;
  let kid: unknown;
  let iss: unknown;
  try {
    ({ alg, kid } = decodeProtectedHeader(jwt));
    iss = decodeJwt(jwt).iss;
  } catch {
    return fail('invalid_grant', 'Invalid JWT: malformed.');
  }
  if (alg !== 'RS256') return fail('invalid_grant', 'Invalid JWT: alg must be RS256.');
  if (typeof iss !== 'string' || iss === '') return fail('invalid_grant', 'Invalid JWT: iss is missing.');
  const account = await lookup(iss);
  if (!account) return fail('invalid_grant', 'Invalid grant: account not found');
  if (kid !== undefined && kid !== account.private_key_id)
    return fail('invalid_grant', 'Invalid JWT Signature.');
  try {
    const { payload } = await jwtVerify(jwt, await importPublicKey(account.public_key), {
      algorithms: ['RS256'],
      currentDate: new Date(nowS * 1000),
      clockTolerance: CLOCK_SKEW_S,
    });
    return { ok: true, value: { claims: payload, account } };
  } catch (err) {
    if (err instanceof errors.JWTExpired || err instanceof errors.JWTClaimValidationFailed) {
      return fail('invalid_grant', SHORT_LIVED);
    }
    return fail('invalid_grant', 'Invalid JWT Signature.');
  }
}

function checkLifetime(claims: JWTPayload, nowS: number): boolean {
  const { iat, exp } = claims;
  return (
    typeof iat === 'number' &&
    typeof exp === 'number' &&
    exp > iat &&
    exp - iat <= MAX_JWT_LIFETIME_S &&
    iat <= nowS + CLOCK_SKEW_S &&
    exp > nowS - CLOCK_SKEW_S
  );
}

/** The JWT-bearer assertion checks of `POST /token`; `audiences` are the token URLs it may name. */
export async function verifyAssertion(
  assertion: string,
  audiences: readonly string[],
  lookup: AccountLookup,
  nowS: number,
): Promise<Check<RegisteredAccount>> {
  const verified = await verifyRs256(assertion, lookup, nowS);
  if (!verified.ok) return verified;
  const { claims, account } = verified.value;
  const aud = typeof claims.aud === 'string' ? [claims.aud] : (claims.aud ?? []);
  if (!aud.some((a) => audiences.includes(a))) {
    return fail(
      'invalid_grant',
      `Invalid JWT: Failed audience check. The right audience is ${GOOGLE_TOKEN_URL}`,
    );
  }
  if (!checkLifetime(claims, nowS)) return fail('invalid_grant', SHORT_LIVED);
  if (!hasCloudPlatformScope(claims.scope)) {
    return fail('invalid_scope', 'Invalid OAuth scope or ID token audience provided.');
  }
  return { ok: true, value: account };
}

/** AIP-4111 self-signed JWT used directly as a bearer: iss = sub, a cloud-platform `scope`, no `aud`. */
export async function verifySelfSignedJwt(
  jwt: string,
  lookup: AccountLookup,
  nowS: number,
): Promise<Check<string>> {
  const verified = await verifyRs256(jwt, lookup, nowS);
  if (!verified.ok) return verified;
  const { claims, account } = verified.value;
  if (claims.sub !== claims.iss) return fail('invalid_grant', 'Self-signed JWT: sub must equal iss.');
  // PR #866 to AIP-4111: `scope` instead of `aud`, never both.
  if (claims.aud !== undefined)
    return fail('invalid_grant', 'Self-signed JWT: aud and scope must not both be set.');
  if (!hasCloudPlatformScope(claims.scope))
    return fail('invalid_scope', 'Self-signed JWT: scope lacks cloud-platform.');
  if (!checkLifetime(claims, nowS)) return fail('invalid_grant', SHORT_LIVED);
  return { ok: true, value: account.client_email };
}

function secretKey(secret: string): Uint8Array {
  return new TextEncoder().encode(secret);
}

/** An opaque-looking access token any emulator isolate can verify with `EMULATOR_TOKEN_SECRET`. */
export async function issueAccessToken(
  clientEmail: string,
  expiresInS: number,
  secret: string,
  nowS: number,
): Promise<string> {
  const jwt = await new SignJWT({ scope: CLOUD_PLATFORM_SCOPE })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(ACCESS_TOKEN_ISSUER)
    .setSubject(clientEmail)
    .setIssuedAt(nowS)
    .setExpirationTime(nowS + expiresInS)
    .setJti(crypto.randomUUID())
    .sign(secretKey(secret));
  return ACCESS_TOKEN_PREFIX + jwt;
}

/** Checks a token from `issueAccessToken`; the value is the client_email it was issued to. */
export async function verifyAccessToken(token: string, secret: string, nowS: number): Promise<Check<string>> {
  if (!token.startsWith(ACCESS_TOKEN_PREFIX))
    return fail('invalid_token', 'Not an emulator access token.', 401);
  try {
    const { payload } = await jwtVerify(token.slice(ACCESS_TOKEN_PREFIX.length), secretKey(secret), {
      algorithms: ['HS256'],
      issuer: ACCESS_TOKEN_ISSUER,
      currentDate: new Date(nowS * 1000),
    });
    return { ok: true, value: payload.sub ?? '' };
  } catch (err) {
    const expired = err instanceof errors.JWTExpired;
    return fail('invalid_token', expired ? 'Access token expired.' : 'Access token signature invalid.', 401);
  }
}
