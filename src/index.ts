import { Hono, type Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import {
  checkConversationId,
  forwardUpgrade,
  isWebSocketUpgrade,
  newConversationId,
  sessionStub,
} from './conversations';

export { LiveSession } from './live-session';

type App = { Bindings: Env };
const app = new Hono<App>();

app.get('/healthz', (c) => c.json({ ok: true }));

// The Vertex Live API path, so Google's own WebSocket examples work by changing only URL and token; Google's
// JS SDK produces the `//ws/` double slash (protocol reference §1.1).
const VERTEX_PATHS = ['v1', 'v1beta1'].flatMap((version) => {
  const path = `/ws/google.cloud.aiplatform.${version}.LlmBidiService/BidiGenerateContent`;
  return [path, `/${path}`];
});

async function connect(c: Context<App>, conversationId: string): Promise<Response> {
  if (!isWebSocketUpgrade(c.req.raw)) {
    throw new HTTPException(426, {
      message: 'this path accepts WebSocket upgrades only (Upgrade: websocket)',
    });
  }
  const relayEvents = ['1', 'true'].includes(c.req.query('relay_events') ?? '');
  return forwardUpgrade(c.env, c.req.raw, { conversationId, subject: 'anonymous', relayEvents });
}

for (const path of VERTEX_PATHS) {
  app.all(path, (c) => {
    const requested = c.req.query('conversation');
    return connect(c, requested ? checkConversationId(requested) : newConversationId());
  });
}
app.all('/v1/conversations/:id/live', (c) => connect(c, checkConversationId(c.req.param('id'))));

app.get('/v1/conversations/:id', async (c) => {
  const id = checkConversationId(c.req.param('id'));
  const response = await sessionStub(c.env, id).fetch(new Request('https://session/status'));
  const status = await response.json<{ conversation: string | null }>();
  if (!status.conversation) throw new HTTPException(404, { message: `conversation ${id} not found` });
  return c.json(status);
});

app.notFound((c) =>
  c.json({ error: { code: 404, message: `no route for ${c.req.method} ${c.req.path}` } }, 404),
);

app.onError((err, c) => {
  if (err instanceof HTTPException) {
    return c.json({ error: { code: err.status, message: err.message } }, err.status);
  }
  console.error('relay: unhandled error', err instanceof Error ? err.stack : String(err));
  return c.json({ error: { code: 500, message: 'internal error' } }, 500);
});

export default app;
