// The Gemini Developer API's surface on the relay, so Google's SDK in Gemini mode (the one that works in a
// browser) talks to Vertex through it unchanged: the Live API WebSocket paths it dials (protocol reference §7.1)
// and the ephemeral-token endpoint `ai.authTokens.create()` calls. Behind them: the same conversation objects and
// the same Vertex upstream; src/live-api/gemini-dialect.ts translates the messages.
import { Hono, type Context } from 'hono';
import { checkOrigin, newConversationId, readTokenRequestBody, tokenSecretKey } from './client-auth';
import {
  mintEphemeralToken,
  parseAuthTokenRequest,
  verifyEphemeralToken,
} from './client-auth/ephemeral-tokens';
import {
  authenticateGeminiKey,
  authenticateMintingKey,
  ephemeralTokenName,
} from './client-auth/gemini-credentials';
import { RelayHttpError, refusal } from './http-error';
import { parseConnectOptions } from './session/connect-options';
import {
  checkConversationId,
  forwardUpgrade,
  isWebSocketUpgrade,
  type ConnectInfo,
} from './session/hand-off';

type App = { Bindings: Env };
export const geminiApiRoutes = new Hono<App>();

const VERSIONS = ['v1alpha', 'v1beta'];

// `ai.authTokens.create()` POSTs `{baseUrl}/{apiVersion}/auth_tokens` (the SDK's Tokens.create).
for (const version of VERSIONS) {
  geminiApiRoutes.post(`/${version}/auth_tokens`, async (c) => {
    const auth = await authenticateMintingKey(c.req.raw, c.env);
    if (!auth.ok) throw refusal(auth);
    const request = parseAuthTokenRequest(await readTokenRequestBody(c.req.raw));
    return c.json(await mintEphemeralToken(c.env, auth.principal.subject, request));
  });
}

/** The checks every WebSocket path makes before authentication (as the Vertex paths do, src/index.ts). */
function preflight(c: Context<App>) {
  if (c.req.method !== 'GET') {
    throw new RelayHttpError(
      405,
      'method_not_allowed',
      `${c.req.method} is not allowed here: open the WebSocket with GET`,
      {
        Allow: 'GET',
      },
    );
  }
  if (!isWebSocketUpgrade(c.req.raw))
    throw new RelayHttpError(
      426,
      'upgrade_required',
      'this path accepts WebSocket upgrades only (Upgrade: websocket)',
    );
  tokenSecretKey(c.env);
  const origin = checkOrigin(c.req.raw, c.env);
  return { options: parseConnectOptions((name) => c.req.query(name), c.env), origin };
}

type Options = ReturnType<typeof preflight>['options'];

function upgrade(c: Context<App>, options: Options, info: Omit<ConnectInfo, keyof Options>) {
  return forwardUpgrade(c.env, c.req.raw, { ...options, ...info, dialect: 'gemini' });
}

async function bidiGenerateContent(c: Context<App>): Promise<Response> {
  const { origin, options } = preflight(c);
  if (!origin.ok) throw refusal(origin);
  const auth = await authenticateGeminiKey(c.req.raw, c.env);
  if (!auth.ok) throw refusal(auth);
  const { principal } = auth;
  const query = c.req.query('conversation');
  const requested = query === undefined ? undefined : checkConversationId(query);
  if (requested !== undefined && principal.kind === 'token' && principal.conversation !== requested)
    throw refusal({
      status: 403,
      code: 'wrong_conversation',
      message: 'This token is for a different conversation.',
    });
  return upgrade(c, options, {
    conversationId: requested ?? principal.conversation ?? newConversationId(),
    subject: principal.subject,
    constraints: principal.constraints ?? null,
    tokenId: principal.tokenId ?? null,
    subprotocol: null,
  });
}

async function bidiGenerateContentConstrained(c: Context<App>): Promise<Response> {
  const { origin, options } = preflight(c);
  if (!origin.ok) throw refusal(origin);
  const found = ephemeralTokenName(c.req.raw);
  if (!found.ok) throw refusal(found);
  const verified = await verifyEphemeralToken(c.env, found.name);
  if (!verified.ok) throw refusal({ status: 401, ...verified });
  const { token } = verified;
  const ledger = c.env.TOKEN_LEDGER.get(c.env.TOKEN_LEDGER.idFromName(token.tokenId));
  const admission = await ledger.admit({
    uses: token.uses,
    newSessionExpiresAt: token.newSessionExpiresAt,
    expiresAt: token.expiresAt,
  });
  if (!admission.ok) throw refusal({ status: 401, code: admission.code, message: admission.message });
  return upgrade(c, options, {
    conversationId: admission.conversation,
    subject: token.subject,
    constraints: token.constraints ?? null,
    tokenId: token.tokenId,
    subprotocol: null,
    resumeOnly: admission.resumeOnly,
  });
}

// Google's SDK dials `{baseUrl}/ws/…` with the `//ws/` double slash (§1.1); both are served.
for (const version of VERSIONS) {
  for (const [method, handler] of [
    ['BidiGenerateContent', bidiGenerateContent],
    ['BidiGenerateContentConstrained', bidiGenerateContentConstrained],
  ] as const) {
    const path = `/ws/google.ai.generativelanguage.${version}.GenerativeService.${method}`;
    geminiApiRoutes.all(path, handler);
    geminiApiRoutes.all(`/${path}`, handler);
  }
}
