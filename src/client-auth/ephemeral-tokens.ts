// Ephemeral tokens in the shape Google's SDK creates and uses them (`ai.authTokens.create()` with the relay as
// its baseUrl, then `live.connect` with `apiKey: token.name`), for Vertex, which has none of its own (protocol
// reference §7.4). The SDK POSTs `{baseUrl}/{v1alpha|v1beta}/auth_tokens` with `x-goog-api-key: <key>` and the
// body below (its createAuthTokenParametersToMldev + convertBidiSetupToTokenSetup), and reads `name` back.
// A token is an HS256 JWT under `auth_tokens/`, signed with RELAY_TOKEN_SECRET for another audience than client
// tokens, so neither passes for the other. Its uses are counted by EphemeralTokenLedger (token-ledger.ts).
import { errors, jwtVerify, SignJWT } from 'jose';
import { CloseCode, RelayClose } from '../live-api/close-codes';
import { translateClientToVertex } from '../live-api/gemini-dialect';
import { modelId, type JsonObject } from '../live-api/protocol';
import { MAX_CLIENT_TOKEN_CHARS } from '../limits';
import { TokenRequestError, parseConstraints } from './token-request';
import { TOKEN_ISSUER, tokenSecretKey } from './tokens';
import { isPlainObject } from './types';
import type { TokenConstraints } from './types';

export const EPHEMERAL_TOKEN_PREFIX = 'auth_tokens/';
const EPHEMERAL_AUDIENCE = 'gemini-live-relay:ephemeral';
/** Google's defaults and ceiling (CreateAuthTokenConfig): 30 min, 60 s for new sessions, at most 20 h. */
const DEFAULT_EXPIRE_MS = 30 * 60_000;
const DEFAULT_NEW_SESSION_MS = 60_000;
const MAX_EXPIRE_MS = 20 * 3_600_000;
const MAX_USES = 1_000_000;

/** A verified ephemeral token. */
interface EphemeralToken {
  subject: string;
  tokenId: string;
  /** Milliseconds since the epoch. */
  expiresAt: number;
  newSessionExpiresAt: number;
  /** 0 = unlimited (Google's rule). */
  uses: number;
  constraints?: TokenConstraints;
}

interface AuthTokenRequest {
  expiresAt: number;
  newSessionExpiresAt: number;
  uses: number;
  constraints: TokenConstraints;
}

const camel = (key: string) => key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
const FIELDS = new Set([
  'expireTime',
  'newSessionExpireTime',
  'uses',
  'bidiGenerateContentSetup',
  'fieldMask',
]);
const invalid = (message: string) => new TokenRequestError('invalid_token_request', message);

function timestamp(name: string, value: unknown, fallback: number, now: number): number {
  if (value === undefined || value === null) return fallback;
  const ms = typeof value === 'string' ? Date.parse(value) : NaN;
  if (Number.isNaN(ms)) throw invalid(`${name} must be an RFC 3339 timestamp such as 2030-01-01T00:00:00Z`);
  if (ms <= now) throw invalid(`${name} is in the past`);
  if (ms - now > MAX_EXPIRE_MS) throw invalid(`${name} must be less than 20 hours from now`);
  return ms;
}

/** The value at a dotted path, copied into `into` at the same path; absent values lock nothing. */
function pick(from: JsonObject, path: string[], into: JsonObject): void {
  const [head, ...rest] = path as [string, ...string[]];
  const value = from[head];
  if (value === undefined) return;
  if (rest.length === 0) {
    into[head] = value;
    return;
  }
  if (!isPlainObject(value)) return;
  const child = (into[head] ??= {}) as JsonObject;
  pick(value, rest, child);
}

/**
 * What the model and setup lock. Google's rule: with `bidiGenerateContentSetup` and no `fieldMask`, every field
 * is locked ("lock all fields"); with a `fieldMask`, only the fields it lists. The relay refuses a changed field
 * with 1008 naming it, as its own token constraints do, where Google would silently use the token's value.
 */
function lockedSetup(setup: unknown, fieldMask: unknown): TokenConstraints {
  if (setup === undefined || setup === null) return {};
  if (!isPlainObject(setup)) throw invalid('bidiGenerateContentSetup must be an object (a Live API setup)');
  const { model, ...fields } = setup as JsonObject;
  const constraints: TokenConstraints = {};
  if (model !== undefined) {
    const id = typeof model === 'string' ? modelId(model) : null;
    if (!id)
      throw invalid(
        'bidiGenerateContentSetup.model must be a model name such as models/gemini-live-2.5-flash',
      );
    constraints.models = [id];
  }
  // liveConnectConstraints with a model and no config: the model is what is locked.
  if (Object.keys(fields).length === 0) return constraints;
  // The client's setup is translated before it is compared, so the token's is too (and refused the same way).
  try {
    translateClientToVertex({ kind: 'setup', message: { setup: fields }, body: fields }, '');
  } catch (err) {
    if (err instanceof RelayClose) throw invalid(err.reason);
    throw err;
  }
  const mask =
    typeof fieldMask === 'string' ? fieldMask.split(',') : Array.isArray(fieldMask) ? fieldMask : undefined;
  if (fieldMask !== undefined && fieldMask !== null && !mask?.every((p) => typeof p === 'string')) {
    throw invalid('fieldMask must be a comma-separated string of setup field paths');
  }
  const paths = (mask as string[] | undefined)?.map((p) => p.trim()).filter(Boolean) ?? [];
  let locked: JsonObject = fields;
  if (paths.length > 0) {
    locked = {};
    for (const path of paths) pick(fields, path.split('.').map(camel), locked);
  } else {
    constraints.exclusive = true;
  }
  if (Object.keys(locked).length > 0) {
    const parsed = parseConstraints({ setup: locked });
    if (!parsed.ok) throw invalid(`bidiGenerateContentSetup: ${parsed.message}`);
    constraints.setup = parsed.constraints.setup;
  }
  return constraints;
}

/** Validates the body the SDK sends (camelCase; snake_case accepted as proto3 JSON allows). Throws a 400. */
export function parseAuthTokenRequest(body: unknown, now = Date.now()): AuthTokenRequest {
  if (body === undefined || body === null) body = {};
  if (!isPlainObject(body)) throw invalid('The request body must be a JSON object');
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) fields[camel(key)] = value;
  const unknown = Object.keys(fields).filter((k) => !FIELDS.has(k));
  if (unknown.length > 0)
    throw invalid(`Unknown field(s): ${unknown.join(', ')}; allowed: ${[...FIELDS].join(', ')}`);
  const expiresAt = timestamp('expireTime', fields.expireTime, now + DEFAULT_EXPIRE_MS, now);
  const newSessionExpiresAt = Math.min(
    expiresAt,
    timestamp('newSessionExpireTime', fields.newSessionExpireTime, now + DEFAULT_NEW_SESSION_MS, now),
  );
  const uses = fields.uses ?? 1;
  if (typeof uses !== 'number' || !Number.isSafeInteger(uses) || uses < 0 || uses > MAX_USES) {
    throw invalid(`uses must be an integer from 0 (unlimited) to ${MAX_USES}`);
  }
  return {
    expiresAt,
    newSessionExpiresAt,
    uses,
    constraints: lockedSetup(fields.bidiGenerateContentSetup, fields.fieldMask),
  };
}

/** Signs a token for `subject` (the API key's). Returns what Google's API returns: an AuthToken. */
export async function mintEphemeralToken(
  env: { RELAY_TOKEN_SECRET?: string },
  subject: string,
  request: AuthTokenRequest,
): Promise<{ name: string; expireTime: string; newSessionExpireTime: string; uses: number }> {
  const key = tokenSecretKey(env);
  const now = Math.floor(Date.now() / 1000);
  const jwt = await new SignJWT({
    nse: Math.floor(request.newSessionExpiresAt / 1000),
    uses: request.uses,
    ...request.constraints,
  })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(TOKEN_ISSUER)
    .setAudience(EPHEMERAL_AUDIENCE)
    .setSubject(subject)
    .setIssuedAt(now)
    .setExpirationTime(Math.floor(request.expiresAt / 1000))
    .setJti(crypto.randomUUID())
    .sign(key);
  const name = `${EPHEMERAL_TOKEN_PREFIX}${jwt}`;
  if (name.length > MAX_CLIENT_TOKEN_CHARS) {
    throw invalid(
      `the token would be ${name.length} characters; the limit is ${MAX_CLIENT_TOKEN_CHARS} (it travels in a URL): lock a shorter setup`,
    );
  }
  return {
    name,
    expireTime: new Date(request.expiresAt).toISOString(),
    newSessionExpireTime: new Date(request.newSessionExpiresAt).toISOString(),
    uses: request.uses,
  };
}

type Verified = { ok: true; token: EphemeralToken } | { ok: false; code: string; message: string };

const NEW_TOKEN = 'create a new one with ai.authTokens.create()';

/** Verifies an `auth_tokens/…` name: signature, issuer, audience, expiry, claims. */
export async function verifyEphemeralToken(
  env: { RELAY_TOKEN_SECRET?: string },
  name: string,
): Promise<Verified> {
  const key = tokenSecretKey(env);
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(name.slice(EPHEMERAL_TOKEN_PREFIX.length), key, {
      algorithms: ['HS256'],
      issuer: TOKEN_ISSUER,
      audience: EPHEMERAL_AUDIENCE,
      typ: 'JWT',
      maxTokenAge: MAX_EXPIRE_MS / 1000,
      requiredClaims: ['sub', 'exp', 'iat', 'jti', 'nse', 'uses'],
    }));
  } catch (error) {
    if (error instanceof errors.JWTExpired)
      return { ok: false, code: 'token_expired', message: `The ephemeral token has expired; ${NEW_TOKEN}.` };
    if (error instanceof errors.JOSEError)
      return {
        ok: false,
        code: 'token_invalid',
        message: `The ephemeral token is not valid here; ${NEW_TOKEN}.`,
      };
    throw error;
  }
  const { sub, exp, jti, nse, uses, exclusive } = payload;
  const constraints = parseConstraints(payload);
  if (
    typeof sub !== 'string' ||
    typeof exp !== 'number' ||
    typeof jti !== 'string' ||
    typeof nse !== 'number' ||
    typeof uses !== 'number' ||
    !constraints.ok
  ) {
    return {
      ok: false,
      code: 'token_malformed',
      message: `The ephemeral token's claims are malformed; ${NEW_TOKEN}.`,
    };
  }
  const token: EphemeralToken = {
    subject: sub,
    tokenId: jti,
    expiresAt: exp * 1000,
    newSessionExpiresAt: nse * 1000,
    uses,
  };
  const locks: TokenConstraints = {
    ...constraints.constraints,
    ...(exclusive === true && { exclusive: true }),
  };
  if (Object.keys(locks).length > 0) token.constraints = locks;
  return { ok: true, token };
}

/** The close a resume-only connection gets when its setup starts a new session instead. */
export function usesExhausted(): RelayClose {
  return new RelayClose(
    CloseCode.PolicyViolation,
    'this ephemeral token has no uses left: only resuming its session (setup.sessionResumption.handle) is allowed',
  );
}
