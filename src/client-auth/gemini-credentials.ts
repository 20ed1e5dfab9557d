// Credentials as Google's SDKs send them to the Gemini API (protocol reference §1.2, §7.1, §7.4): JS puts the key
// in `?key=` (a browser WebSocket cannot set headers) and an ephemeral token in `?access_token=`; Python sends
// `x-goog-api-key`, or `Authorization: Token auth_tokens/…`; REST calls (`ai.authTokens.create()`) send
// `x-goog-api-key`. The relay accepts its own credentials there: API keys and client tokens on
// `BidiGenerateContent` and `POST …/auth_tokens`, its ephemeral tokens on `BidiGenerateContentConstrained`.
import { apiKeyEntries, matchApiKey } from './api-keys';
import { EPHEMERAL_TOKEN_PREFIX } from './ephemeral-tokens';
import { looksLikeJwt, verifyClientToken } from './tokens';
import { authFailure } from './types';
import type { AuthFailure, ClientAuthEnv, Principal } from './types';

type Found = { ok: true; value: string | null } | AuthFailure;

/** The one credential of a request among the places listed, or a refusal when they disagree. */
function oneCredential(request: Request, queryNames: string[], schemes: string[]): Found {
  const values: string[] = [];
  const url = new URL(request.url);
  for (const name of queryNames) for (const v of url.searchParams.getAll(name)) if (v) values.push(v);
  const apiKeyHeader = request.headers.get('x-goog-api-key');
  if (apiKeyHeader) values.push(apiKeyHeader.trim());
  const authorization = request.headers.get('Authorization');
  if (authorization !== null) {
    const [scheme = '', ...rest] = authorization.trim().split(/[ \t]+/);
    if (!schemes.includes(scheme.toLowerCase()) || rest.length === 0) {
      return authFailure(
        401,
        'unsupported_auth_scheme',
        `Unsupported Authorization header; use ${schemes.map((s) => `\`${s[0]!.toUpperCase()}${s.slice(1)} …\``).join(' or ')}.`,
      );
    }
    values.push(rest.join(' '));
  }
  if (new Set(values).size > 1)
    return authFailure(401, 'ambiguous_credentials', 'Different credentials were sent; send exactly one.');
  return { ok: true, value: values[0] ?? null };
}

/** `?key=`, `x-goog-api-key` or `Authorization: Bearer`: a relay API key or client token. */
export async function authenticateGeminiKey(
  request: Request,
  env: ClientAuthEnv,
): Promise<{ ok: true; principal: Principal } | AuthFailure> {
  const found = oneCredential(request, ['key'], ['bearer']);
  if (!found.ok) return found;
  const value = found.value;
  if (value === null) {
    return authFailure(
      401,
      'credentials_missing',
      'No credentials: send ?key=<relay API key or client token> (Google SDK: apiKey), or x-goog-api-key.',
    );
  }
  if (value.startsWith(EPHEMERAL_TOKEN_PREFIX)) {
    return authFailure(
      401,
      'token_invalid',
      'Ephemeral tokens are accepted on BidiGenerateContentConstrained only (Google SDK: apiKey = token.name).',
    );
  }
  const entry = await matchApiKey(value, await apiKeyEntries(env.RELAY_API_KEYS));
  if (entry) return { ok: true, principal: { subject: entry.subject, kind: 'api-key' } };
  if (!looksLikeJwt(value))
    return authFailure(401, 'invalid_api_key', 'The key is not a valid relay API key or client token.');
  return verifyClientToken(env, value);
}

/** `?access_token=`, `Authorization: Token …` (Python) or `Bearer …`: the `auth_tokens/…` name, unverified. */
export function ephemeralTokenName(request: Request): { ok: true; name: string } | AuthFailure {
  const found = oneCredential(request, ['access_token', 'key'], ['token', 'bearer']);
  if (!found.ok) return found;
  if (found.value === null) {
    return authFailure(
      401,
      'credentials_missing',
      'No credentials: send ?access_token=auth_tokens/… or Authorization: Token auth_tokens/… (an ephemeral token).',
    );
  }
  if (!found.value.startsWith(EPHEMERAL_TOKEN_PREFIX)) {
    return authFailure(
      401,
      'token_invalid',
      'BidiGenerateContentConstrained takes an ephemeral token (auth_tokens/…) from POST /v1alpha/auth_tokens.',
    );
  }
  return { ok: true, name: found.value };
}

/** The API key of `POST …/auth_tokens`, as the SDK sends it (`x-goog-api-key`); client tokens cannot mint. */
export async function authenticateMintingKey(
  request: Request,
  env: ClientAuthEnv,
): Promise<{ ok: true; principal: Principal } | AuthFailure> {
  const found = oneCredential(request, ['key'], ['bearer']);
  if (!found.ok) return found;
  const entry =
    found.value === null
      ? undefined
      : await matchApiKey(found.value, await apiKeyEntries(env.RELAY_API_KEYS));
  if (!entry) {
    return authFailure(
      401,
      found.value === null ? 'api_key_required' : 'invalid_api_key',
      'Creating an ephemeral token requires a relay API key (Google SDK: new GoogleGenAI({apiKey}) → x-goog-api-key).',
    );
  }
  return { ok: true, principal: { subject: entry.subject, kind: 'api-key' } };
}
