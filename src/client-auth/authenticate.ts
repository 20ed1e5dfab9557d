import { apiKeyEntries, matchApiKey } from './api-keys';
import { MISSING_CREDENTIALS_MESSAGE, extractCredential } from './credentials';
import type { Credential } from './credentials';
import { looksLikeJwt, verifyClientToken } from './tokens';
import { authFailure } from './types';
import type { AuthFailure, AuthResult, ClientAuthEnv, Principal } from './types';

export interface AuthenticateOptions {
  /** The conversation being opened; a token bound to another one is refused with 403. */
  conversationId?: string;
}

type PrincipalResult = { ok: true; principal: Principal } | AuthFailure;

async function apiKeyPrincipal(value: string, env: ClientAuthEnv): Promise<Principal | undefined> {
  const entry = await matchApiKey(value, await apiKeyEntries(env.RELAY_API_KEYS));
  return entry && { subject: entry.subject, kind: 'api-key' };
}

async function principalFor(credential: Credential, env: ClientAuthEnv): Promise<PrincipalResult> {
  if (credential.source === 'authorization') {
    const principal = await apiKeyPrincipal(credential.value, env);
    if (principal) return { ok: true, principal };
    if (!looksLikeJwt(credential.value)) {
      return authFailure(
        401,
        'invalid_api_key',
        'The bearer credential is not a valid API key or client token.',
      );
    }
  } else if (!looksLikeJwt(credential.value)) {
    // Long-lived keys do not belong in URLs (logs, history) or subprotocol lists (echoed by careless servers).
    return authFailure(
      401,
      'api_key_not_allowed_here',
      'Only client tokens from POST /v1/tokens are accepted in ?access_token= or the subprotocol; ' +
        'send API keys in the Authorization header.',
    );
  }
  return verifyClientToken(env, credential.value);
}

/**
 * Authenticates a WebSocket upgrade (or any request): an API key in `Authorization: Bearer`, or a client token
 * there, in `?access_token=`, or in the subprotocol list (see `extractCredential`). 401 for missing, unknown,
 * expired, tampered or foreign credentials; 403 when a valid token is bound to another conversation than
 * `options.conversationId`. On success `subprotocol` is what to echo in `Sec-WebSocket-Protocol`, if anything.
 * Throws `ClientAuthConfigError` when `RELAY_API_KEYS` is malformed or a token arrives and `RELAY_TOKEN_SECRET`
 * is unusable.
 */
export async function authenticateRequest(
  request: Request,
  env: ClientAuthEnv,
  options: AuthenticateOptions = {},
): Promise<AuthResult> {
  const extracted = extractCredential(request);
  if (!extracted.ok) return extracted;
  const { credential, subprotocol } = extracted;
  if (!credential) return authFailure(401, 'credentials_missing', MISSING_CREDENTIALS_MESSAGE);
  const result = await principalFor(credential, env);
  if (!result.ok) return result;
  const { principal } = result;
  if (
    options.conversationId !== undefined &&
    principal.kind === 'token' &&
    principal.conversation !== options.conversationId
  ) {
    return authFailure(
      403,
      'wrong_conversation',
      'This access token is for a different conversation; request a token for this conversation from POST /v1/tokens.',
    );
  }
  return { ok: true, principal, ...(subprotocol !== undefined && { subprotocol }) };
}

/**
 * Authenticates `POST /v1/tokens`: only an API key in `Authorization: Bearer` is accepted, so a client token
 * can never mint another and outlive its own expiry.
 */
export async function authenticateApiKey(request: Request, env: ClientAuthEnv): Promise<AuthResult> {
  const required =
    'This endpoint requires an API key in `Authorization: Bearer <key>`; client tokens cannot mint tokens.';
  const value = request.headers.get('Authorization') === null ? undefined : extractCredential(request);
  if (value === undefined) return authFailure(401, 'api_key_required', required);
  if (!value.ok) return value;
  const credential = value.credential;
  if (credential?.source !== 'authorization') return authFailure(401, 'api_key_required', required);
  const principal = await apiKeyPrincipal(credential.value, env);
  if (principal) return { ok: true, principal };
  return looksLikeJwt(credential.value)
    ? authFailure(401, 'api_key_required', required)
    : authFailure(401, 'invalid_api_key', 'The API key in the Authorization header is not valid.');
}

/** What the conversation's Durable Object stores about who created it. */
export interface ConversationOwner {
  subject: string;
}

export function ownerRecord(principal: Principal): ConversationOwner {
  return { subject: principal.subject };
}

/**
 * Whether `principal` owns the conversation whose stored owner is `stored`. Tokens carry the subject of the
 * API key that minted them, so a server and the browsers it mints tokens for share ownership. `undefined`
 * (no owner stored yet) is never owned: the caller stores `ownerRecord(principal)` first.
 */
export function isOwner(stored: ConversationOwner | undefined, principal: Principal): boolean {
  return stored !== undefined && stored.subject === principal.subject;
}
