import { errors, jwtVerify, SignJWT } from 'jose';
import { ClientAuthConfigError, authFailure } from './types';
import type { AuthFailure, Principal } from './types';
import {
  DEFAULT_TOKEN_TTL_SECONDS,
  MAX_TOKEN_TTL_SECONDS,
  TokenRequestError,
  isValidConversationId,
  newConversationId,
  parseConstraints,
  parseTokenRequest,
} from './token-request';
import type { TokenRequest } from './token-request';
import { MAX_CLIENT_TOKEN_CHARS } from '../limits';

export const TOKEN_ISSUER = 'gemini-live-relay';
export const TOKEN_AUDIENCE = 'gemini-live-relay:client';
const MIN_TOKEN_SECRET_BYTES = 32;
const TOKEN_ALGORITHM = 'HS256';

/** What `POST /v1/tokens` returns. */
export interface MintedToken {
  token: string;
  conversation: string;
  /** ISO 8601. */
  expiresAt: string;
}

/** The HMAC key from `RELAY_TOKEN_SECRET`; throws `ClientAuthConfigError` if it is missing or too short. */
export function tokenSecretKey(env: { RELAY_TOKEN_SECRET?: string }): Uint8Array {
  const secret = env.RELAY_TOKEN_SECRET;
  const fix =
    'Set a random value of at least 32 bytes with `wrangler secret put RELAY_TOKEN_SECRET` ' +
    '(e.g. the output of `openssl rand -base64 48`), or in .dev.vars for local development.';
  if (secret === undefined || secret === '') {
    throw new ClientAuthConfigError('RELAY_TOKEN_SECRET', `RELAY_TOKEN_SECRET is not set. ${fix}`);
  }
  const key = new TextEncoder().encode(secret);
  if (key.byteLength < MIN_TOKEN_SECRET_BYTES) {
    throw new ClientAuthConfigError(
      'RELAY_TOKEN_SECRET',
      `RELAY_TOKEN_SECRET is ${key.byteLength} bytes; at least ${MIN_TOKEN_SECRET_BYTES} are required. ${fix}`,
    );
  }
  return key;
}

/**
 * Signs a client token (HS256 JWT: `iss`/`aud` fixed, `sub`, `conv`, `iat`, `exp`, and the constraint claims
 * `models`, `setup`, `maxSessionSeconds` when given). It is multi-use until `exp`. Throws `TokenRequestError`
 * (400) for options `parseTokenRequest` refuses, e.g. a TTL over an hour, and `ClientAuthConfigError` when the
 * secret is unusable.
 */
export async function mintClientToken(
  env: { RELAY_TOKEN_SECRET?: string },
  subject: string,
  request: TokenRequest = {},
): Promise<MintedToken> {
  const key = tokenSecretKey(env);
  const parsed = parseTokenRequest(request);
  if (!parsed.ok) throw new TokenRequestError(parsed.code, parsed.message);
  const {
    conversation = newConversationId(),
    ttlSeconds = DEFAULT_TOKEN_TTL_SECONDS,
    ...constraints
  } = parsed.request;
  if (subject === '') throw new TypeError('mintClientToken: subject must be non-empty');
  const now = Math.floor(Date.now() / 1000);
  const exp = now + ttlSeconds;
  const token = await new SignJWT({ conv: conversation, ...constraints })
    .setProtectedHeader({ alg: TOKEN_ALGORITHM, typ: 'JWT' })
    .setIssuer(TOKEN_ISSUER)
    .setAudience(TOKEN_AUDIENCE)
    .setSubject(subject)
    .setIssuedAt(now)
    .setExpirationTime(exp)
    .setJti(crypto.randomUUID())
    .sign(key);
  // Each field has its own limit; together they may still be too long for the URL the token travels in.
  if (token.length > MAX_CLIENT_TOKEN_CHARS) {
    throw new TokenRequestError(
      'invalid_token_request',
      `the token would be ${token.length} characters; the limit is ${MAX_CLIENT_TOKEN_CHARS} (it travels in a URL): lock a shorter setup or fewer models`,
    );
  }
  return { token, conversation, expiresAt: new Date(exp * 1000).toISOString() };
}

const REQUEST_NEW_TOKEN = 'request a new one from POST /v1/tokens';

function joseFailure(error: unknown): AuthFailure {
  if (error instanceof errors.JWTExpired) {
    return authFailure(401, 'token_expired', `The access token has expired; ${REQUEST_NEW_TOKEN}.`);
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    const what =
      error.claim === 'iss' || error.claim === 'aud'
        ? `was not issued for this relay (wrong "${error.claim}")`
        : `failed validation ("${error.claim}": ${error.reason})`;
    return authFailure(401, 'token_invalid', `The access token ${what}; ${REQUEST_NEW_TOKEN}.`);
  }
  if (error instanceof errors.JOSEAlgNotAllowed) {
    return authFailure(
      401,
      'token_invalid',
      `The access token is not signed with ${TOKEN_ALGORITHM}; ${REQUEST_NEW_TOKEN}.`,
    );
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return authFailure(
      401,
      'token_invalid',
      `The access token's signature is invalid; ${REQUEST_NEW_TOKEN}.`,
    );
  }
  if (error instanceof errors.JOSEError) {
    return authFailure(401, 'token_malformed', `The access token is malformed; ${REQUEST_NEW_TOKEN}.`);
  }
  throw error;
}

/**
 * The secret RELAY_TOKEN_SECRET replaced, during a rotation: tokens it signed verify until they expire (an hour at
 * most), so rotating never cuts off a client holding one. Never used to sign. Ignored when shorter than required.
 */
function previousSecretKey(env: { RELAY_TOKEN_SECRET_PREVIOUS?: string }): Uint8Array | null {
  const secret = env.RELAY_TOKEN_SECRET_PREVIOUS;
  if (!secret) return null;
  const key = new TextEncoder().encode(secret);
  return key.byteLength >= MIN_TOKEN_SECRET_BYTES ? key : null;
}

/**
 * Verifies a client token: HS256 only (so `none`, RS256 and every other alg, and thus RS/HS key confusion, are
 * refused before any key is used), issuer, audience, `typ`, expiry with no clock tolerance, and a lifetime of at
 * most an hour. Returns the principal or a 401 failure; throws `ClientAuthConfigError` if the secret is unusable.
 */
export async function verifyClientToken(
  env: { RELAY_TOKEN_SECRET?: string; RELAY_TOKEN_SECRET_PREVIOUS?: string },
  token: string,
): Promise<{ ok: true; principal: Principal } | AuthFailure> {
  const key = tokenSecretKey(env);
  const options = {
    algorithms: [TOKEN_ALGORITHM],
    issuer: TOKEN_ISSUER,
    audience: TOKEN_AUDIENCE,
    typ: 'JWT',
    maxTokenAge: MAX_TOKEN_TTL_SECONDS,
    requiredClaims: ['sub', 'exp', 'iat', 'conv'],
  };
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(token, key, options));
  } catch (error) {
    const previous = previousSecretKey(env);
    if (!previous || !(error instanceof errors.JWSSignatureVerificationFailed)) return joseFailure(error);
    try {
      ({ payload } = await jwtVerify(token, previous, options));
    } catch (again) {
      return joseFailure(again);
    }
  }
  const { sub, conv, exp, iat, jti } = payload;
  const constraints = parseConstraints(payload);
  if (
    typeof sub !== 'string' ||
    sub === '' ||
    typeof conv !== 'string' ||
    !isValidConversationId(conv) ||
    typeof exp !== 'number' ||
    typeof iat !== 'number' ||
    exp - iat > MAX_TOKEN_TTL_SECONDS ||
    !constraints.ok
  ) {
    return authFailure(
      401,
      'token_malformed',
      `The access token's claims are malformed; ${REQUEST_NEW_TOKEN}.`,
    );
  }
  const principal: Principal = {
    subject: sub,
    kind: 'token',
    conversation: conv,
    expiresAt: new Date(exp * 1000).toISOString(),
    // Session limits count per token; tokens minted before jti existed are told apart by their times.
    tokenId: typeof jti === 'string' && jti !== '' ? jti : `${iat}-${exp}`,
  };
  if (Object.keys(constraints.constraints).length > 0) principal.constraints = constraints.constraints;
  return { ok: true, principal };
}

/** Three base64url segments, the last possibly empty (`alg: none`), so such tokens reach jose to be refused. */
export function looksLikeJwt(credential: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(credential);
}
