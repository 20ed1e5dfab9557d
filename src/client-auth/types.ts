/** Where a setting lives; named in every config error so the operator knows what to fix. */
export type ClientAuthSetting = 'RELAY_API_KEYS' | 'RELAY_TOKEN_SECRET' | 'ALLOWED_ORIGINS';

/**
 * The bindings this module reads. Declared here rather than taken from `Env` so the module does not depend on
 * which secrets `wrangler types` happened to see; `Env` is assignable once it declares them.
 */
export interface ClientAuthEnv {
  /** Secret. Comma- or newline-separated API keys; see `parseApiKeys`. */
  RELAY_API_KEYS?: string;
  /** Secret. HMAC key (≥ 32 bytes of UTF-8) for client tokens. */
  RELAY_TOKEN_SECRET?: string;
  /** Secret, during a rotation: the key RELAY_TOKEN_SECRET replaced; verifies (never signs) until tokens expire. */
  RELAY_TOKEN_SECRET_PREVIOUS?: string;
  /** Var. Comma-separated origins allowed to open sockets, or `*`; unset = same origin only. */
  ALLOWED_ORIGINS?: string;
}

/** Limits a client token places on the session it opens. */
export interface TokenConstraints {
  /** Allowed short model ids (`gemini-live-2.5-flash`); a resource path is matched by its last segment. */
  models?: string[];
  /** A partial `setup` the client may not change: equal values are accepted, absent ones filled in. */
  setup?: Record<string, unknown>;
  /** Upper bound on the session's length, enforced by the session. */
  maxSessionSeconds?: number;
  /** Only `setup`'s fields may be set (an ephemeral token that locks its whole setup); tokens of /v1/tokens never. */
  exclusive?: boolean;
}

export interface Principal {
  /** Who is calling: an API key's subject, or a token's `sub` (the subject of the key that minted it). */
  subject: string;
  kind: 'api-key' | 'token';
  /** The conversation a token is bound to; absent for API keys, which may open any conversation they own. */
  conversation?: string;
  constraints?: TokenConstraints;
  /** ISO 8601; tokens only. */
  expiresAt?: string;
  /** Tokens only: which token (its `jti`), for limits that count per token such as `maxSessionSeconds`. */
  tokenId?: string;
}

export type AuthErrorCode =
  | 'credentials_missing'
  | 'unsupported_auth_scheme'
  | 'ambiguous_credentials'
  | 'subprotocol_required'
  | 'invalid_api_key'
  | 'api_key_required'
  | 'api_key_not_allowed_here'
  | 'token_expired'
  | 'token_invalid'
  | 'token_malformed'
  | 'wrong_conversation'
  | 'origin_not_allowed';

/** A refusal to show the client: the message is actionable and never contains a key or token. */
export interface AuthFailure {
  ok: false;
  status: 401 | 403;
  code: AuthErrorCode;
  message: string;
}

interface AuthSuccess {
  ok: true;
  principal: Principal;
  /** The subprotocol to echo in the 101 response (`Sec-WebSocket-Protocol`), when the client offered ours. */
  subprotocol?: string;
}

export type AuthResult = AuthSuccess | AuthFailure;

/**
 * A deployment mistake (missing or malformed secret), not a client error: let it reach `app.onError` as a 500
 * and the log. The message names the setting and how to fix it, never its value.
 */
export class ClientAuthConfigError extends Error {
  override readonly name = 'ClientAuthConfigError';
  constructor(
    readonly setting: ClientAuthSetting,
    message: string,
  ) {
    super(message);
  }
}

export function authFailure(status: 401 | 403, code: AuthErrorCode, message: string): AuthFailure {
  return { ok: false, status, code, message };
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
