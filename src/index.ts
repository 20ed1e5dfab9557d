import { Hono } from 'hono';
export { LiveSession } from './live-session';
const app = new Hono<{ Bindings: Env }>();
app.get('/healthz', (c) => c.json({ ok: true }));
export default app;
