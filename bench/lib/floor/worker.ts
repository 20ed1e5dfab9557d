// The least a Durable Object per conversation can cost in workerd: an object (SQLite-backed, as the relay's
// LiveSession is) that accepts one hibernatable WebSocket and does nothing else — no storage, no upstream socket,
// no state. `npm run load` opens as many of these as its largest level in their own workerd and reports the
// memory each takes beside the relay's: what of the relay's memory per conversation is the runtime's.
import { DurableObject } from 'cloudflare:workers';

export class Floor extends DurableObject {
  override async fetch(): Promise<Response> {
    const pair = new WebSocketPair();
    this.ctx.acceptWebSocket(pair[1]);
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  override async webSocketClose(ws: WebSocket): Promise<void> {
    ws.close();
  }
}

export default {
  /** `/` answers the stack's health check; `/ws?id=…` is one object's socket. */
  fetch(request: Request, env: { FLOOR: DurableObjectNamespace }): Response | Promise<Response> {
    const url = new URL(request.url);
    if (request.headers.get('Upgrade') !== 'websocket') return new Response('floor');
    const id = env.FLOOR.idFromName(url.searchParams.get('id') ?? '');
    return env.FLOOR.get(id).fetch(request);
  },
};
