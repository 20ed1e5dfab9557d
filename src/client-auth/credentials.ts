import { authFailure } from './types';
import type { AuthFailure } from './types';

/** The subprotocol the relay speaks; the only one it ever echoes. */
export const RELAY_SUBPROTOCOL = 'gemini-live-relay';
/** Prefix of the subprotocol entry that carries a client token. */
const TOKEN_SUBPROTOCOL_PREFIX = 'access_token.';
const ACCESS_TOKEN_QUERY_PARAM = 'access_token';

type CredentialSource = 'authorization' | 'query' | 'subprotocol';

export interface Credential {
  source: CredentialSource;
  value: string;
}

export type CredentialExtraction = { ok: true; credential?: Credential; subprotocol?: string } | AuthFailure;

export const MISSING_CREDENTIALS_MESSAGE =
  'No credentials: send `Authorization: Bearer <API key or token>`, `?access_token=<token>`, or the WebSocket ' +
  `subprotocols "${RELAY_SUBPROTOCOL}" and "${TOKEN_SUBPROTOCOL_PREFIX}<token>"; tokens come from POST /v1/tokens.`;

/**
 * Finds the credential on a request (usually a WebSocket upgrade). Three places are read:
 *
 * - `Authorization: Bearer <API key or token>` — servers and Node clients.
 * - `?access_token=<token>` — browsers (`new WebSocket(url)` cannot set headers).
 * - `Sec-WebSocket-Protocol` — browsers that keep tokens out of URLs:
 *   `new WebSocket(url, ["gemini-live-relay", "access_token.<token>"])`. A JWT is base64url segments joined
 *   by `.`, all RFC 7230 token characters, so it is a valid subprotocol name. The relay echoes only
 *   `gemini-live-relay` (never the token entry), and requires it to be offered with a token: a browser fails
 *   the handshake when it offers subprotocols and the 101 selects none.
 *
 * `subprotocol` is set whenever `gemini-live-relay` was offered, to be echoed in the 101 response. The same
 * credential repeated in several places is fine; different ones are refused, as RFC 6750 §2 allows.
 */
export function extractCredential(request: Request): CredentialExtraction {
  const found: Credential[] = [];

  const authorization = request.headers.get('Authorization');
  if (authorization !== null) {
    const [scheme = '', ...rest] = authorization.trim().split(/[ \t]+/);
    if (scheme.toLowerCase() !== 'bearer') {
      return authFailure(
        401,
        'unsupported_auth_scheme',
        'Unsupported Authorization scheme; use `Authorization: Bearer <API key or token>`.',
      );
    }
    const value = rest.join(' ');
    if (value === '') return authFailure(401, 'credentials_missing', MISSING_CREDENTIALS_MESSAGE);
    found.push({ source: 'authorization', value });
  }

  for (const value of new URL(request.url).searchParams.getAll(ACCESS_TOKEN_QUERY_PARAM)) {
    if (value !== '') found.push({ source: 'query', value });
  }

  let offersRelay = false;
  const offered = (request.headers.get('Sec-WebSocket-Protocol') ?? '').split(',').map((p) => p.trim());
  for (const protocol of offered) {
    if (protocol === RELAY_SUBPROTOCOL) offersRelay = true;
    else if (
      protocol.startsWith(TOKEN_SUBPROTOCOL_PREFIX) &&
      protocol.length > TOKEN_SUBPROTOCOL_PREFIX.length
    ) {
      found.push({ source: 'subprotocol', value: protocol.slice(TOKEN_SUBPROTOCOL_PREFIX.length) });
    }
  }
  if (!offersRelay && found.some((c) => c.source === 'subprotocol')) {
    return authFailure(
      401,
      'subprotocol_required',
      `Offer the "${RELAY_SUBPROTOCOL}" subprotocol alongside "${TOKEN_SUBPROTOCOL_PREFIX}<token>": the relay ` +
        'never echoes the token, and a browser fails a handshake that selects none of its subprotocols.',
    );
  }

  if (new Set(found.map((c) => c.value)).size > 1) {
    const sources = [...new Set(found.map((c) => c.source))].join(', ');
    return authFailure(
      401,
      'ambiguous_credentials',
      `Different credentials were sent (${sources}); send exactly one.`,
    );
  }
  const credential = found[0];
  return {
    ok: true,
    ...(credential && { credential }),
    ...(offersRelay && { subprotocol: RELAY_SUBPROTOCOL }),
  };
}
