import { Hono, type Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import {
  ClientAuthConfigError,
  TokenRequestError,
  authenticateApiKey,
  authenticateRequest,
  checkOrigin,
  mintClientToken,
  newConversationId,
  parseTokenRequest,
  readTokenRequestBody,
  tokenSecretKey,
} from './client-auth';
import { parseConnectOptions } from './session/connect-options';
import { checkConversationId, fetchStatus, forwardUpgrade, isWebSocketUpgrade } from './session/hand-off';
import { demoTokenRoutes } from './demo-token';
import { geminiApiRoutes } from './gemini-api';
import { RelayHttpError, errorCodeFor, errorResponse, refusal } from './http-error';
import { logEvent, requestIdOf } from './ops/log';
import { clientIp, enforceRateLimit } from './tenancy/rate-limits';
import { usageRoutes } from './usage/routes';

export { LiveSession } from './session/live-session';
export { EphemeralTokenLedger } from './client-auth/token-ledger';
export { SubjectLedger } from './tenancy/ledger';

type App = { Bindings: Env; Variables: { requestId: string } };
const app = new Hono<App>();

app.use(async (c, next) => {
  c.set('requestId', requestIdOf(c.req.raw));
  await next();
});

/** Per-address limit on requests that start something (tokens, connects), before any credential is checked. */
async function limitIp(c: Context<App>): Promise<void> {
  const ip = clientIp(c.req.raw);
  if (ip)
    await enforceRateLimit(c.env, 'IP_RATE_LIMITER', ip, { requestId: c.get('requestId'), path: c.req.path });
}

app.get('/healthz', (c) => c.json({ ok: true }));

app.post('/v1/tokens', async (c) => {
  await limitIp(c);
  const auth = await authenticateApiKey(c.req.raw, c.env);
  if (!auth.ok) throw refusal(auth);
  const { subject } = auth.principal;
  await enforceRateLimit(c.env, 'TOKEN_RATE_LIMITER', subject, { requestId: c.get('requestId'), subject });
  const parsed = parseTokenRequest(await readTokenRequestBody(c.req.raw));
  if (!parsed.ok) throw refusal(parsed);
  return c.json(await mintClientToken(c.env, auth.principal.subject, parsed.request), 201);
});

app.route('/', demoTokenRoutes);
app.route('/', geminiApiRoutes);
app.route('/', usageRoutes);

// The Vertex Live API path, so Google's own WebSocket examples work by changing only URL and token; Google's
// JS SDK produces the `//ws/` double slash (protocol reference §1.1).
const VERTEX_PATHS = ['v1', 'v1beta1'].flatMap((version) => {
  const path = `/ws/google.cloud.aiplatform.${version}.LlmBidiService/BidiGenerateContent`;
  return [path, `/${path}`];
});

/** Authentication happens here, before the upgrade: a refused client never gets a socket. */
async function connect(c: Context<App>, requested: string | undefined): Promise<Response> {
  // A WebSocket handshake is a GET (RFC 6455 §4.1); the object's upgrade would fail on anything else.
  if (c.req.method !== 'GET') {
    throw new RelayHttpError(
      405,
      'method_not_allowed',
      `${c.req.method} is not allowed here: open the WebSocket with GET and Upgrade: websocket`,
      { Allow: 'GET' },
    );
  }
  if (!isWebSocketUpgrade(c.req.raw)) {
    throw new RelayHttpError(
      426,
      'upgrade_required',
      'this path accepts WebSocket upgrades only (Upgrade: websocket)',
    );
  }
  // A relay without a usable token secret starts no session, whatever credential the client holds.
  tokenSecretKey(c.env);
  await limitIp(c);
  const origin = checkOrigin(c.req.raw, c.env);
  if (!origin.ok) throw refusal(origin);
  const auth = await authenticateRequest(c.req.raw, c.env, { conversationId: requested });
  if (!auth.ok) throw refusal(auth);
  const { principal } = auth;
  const requestId = c.get('requestId');
  const conversation = requested ?? principal.conversation ?? newConversationId();
  const ids = { requestId, subject: principal.subject, conversation };
  // Every authenticated attempt counts, whatever becomes of it: a client looping on a bad request is throttled too.
  await enforceRateLimit(c.env, 'CONNECT_RATE_LIMITER', principal.subject, ids);
  const options = parseConnectOptions((name) => c.req.query(name), c.env);
  logEvent('connect', { ...ids, credential: principal.kind, resume: options.lastSeq !== null });
  return forwardUpgrade(c.env, c.req.raw, {
    conversationId: conversation,
    subject: principal.subject,
    constraints: principal.constraints ?? null,
    tokenId: principal.tokenId ?? null,
    subprotocol: auth.subprotocol ?? null,
    requestId,
    ...options,
  });
}

for (const path of VERTEX_PATHS) {
  app.all(path, (c) => {
    const requested = c.req.query('conversation');
    return connect(c, requested === undefined ? undefined : checkConversationId(requested));
  });
}
app.all('/v1/conversations/:id/live', (c) => connect(c, checkConversationId(c.req.param('id'))));

app.get('/v1/conversations/:id', async (c) => {
  const id = checkConversationId(c.req.param('id'));
  const auth = await authenticateRequest(c.req.raw, c.env, { conversationId: id });
  if (!auth.ok) throw refusal(auth);
  return fetchStatus(c.env, id, auth.principal.subject);
});

app.notFound((c) => errorResponse(404, 'not_found', `no route for ${c.req.method} ${c.req.path}`));

app.onError((err, c) => {
  if (err instanceof RelayHttpError) {
    if (err.status >= 400 && err.status !== 429) {
      logEvent('refused', {
        requestId: c.get('requestId'),
        path: c.req.path,
        status: err.status,
        code: err.code,
      });
    }
    return errorResponse(err.status, err.code, err.message, err.headers);
  }
  if (err instanceof HTTPException) return errorResponse(err.status, errorCodeFor(err.status), err.message);
  if (err instanceof TokenRequestError) return errorResponse(400, err.code, err.message);
  if (err instanceof ClientAuthConfigError) {
    // An operator mistake: the message names the setting and how to set it, never its value.
    console.error(`relay misconfigured: ${err.setting}`);
    return errorResponse(500, 'relay_misconfigured', err.message);
  }
  console.error('relay: unhandled error', err instanceof Error ? err.stack : String(err));
  return errorResponse(500, 'internal_error', 'internal error');
});

export default app;
