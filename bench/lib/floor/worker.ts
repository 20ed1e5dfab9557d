// What the runtime alone costs, for `npm run load` to report beside the relay (bench/lib/stack.mjs starts this
// Worker in its own workerd).
//
// - Floor (memory): an object (SQLite-backed, as the relay's LiveSession is) that accepts one hibernatable
//   WebSocket and does nothing else — no storage, no upstream socket, no state. Opened as many times as the
//   largest level after the run: what of the relay's memory per conversation is the runtime's.
// - FloorRelay (CPU and latency): the least a relay can be in workerd with an object per conversation — the
//   bare ws relay's logic (bench/lib/bare-relay.mjs) and nothing else: accept the client's socket, open the
//   upstream socket with a bearer token, wrap each binary frame in one `realtimeInput.audio` message at once,
//   pass everything else through. No authentication, limits, storage, batching, resumption or counters beyond
//   two. Measured in the same rounds as the relay: what of the relay's CPU and tail is the runtime's.
import { DurableObject } from 'cloudflare:workers';

interface FloorEnv {
  FLOOR: DurableObjectNamespace;
  FLOOR_RELAY: DurableObjectNamespace;
  /** ws:// URL of the Live API endpoint (the emulator), a token it accepts, and the model to set up. */
  UPSTREAM_URL?: string;
  UPSTREAM_TOKEN?: string;
  MODEL?: string;
}

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

const MIME_TYPE = 'audio/pcm;rate=16000';
const RESUMPTION_UPDATE = '"sessionResumptionUpdate"';
const utf8 = new TextDecoder();

interface Direction {
  messages: number;
  bytes: number;
}

export class FloorRelay extends DurableObject<FloorEnv> {
  private counters = { upstreamOut: { messages: 0, bytes: 0 }, clientIn: { messages: 0, bytes: 0 } };

  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get('Upgrade') !== 'websocket') return Response.json({ counters: this.counters });
    const pair = new WebSocketPair();
    const client = pair[1];
    client.accept();
    (client as WebSocket & { binaryType: string }).binaryType = 'arraybuffer';
    this.counters = { upstreamOut: { messages: 0, bytes: 0 }, clientIn: { messages: 0, bytes: 0 } };
    const { upstreamOut, clientIn } = this.counters;
    let upstream: WebSocket | null = null;
    const pending: string[] = [];
    const send = (text: string) => {
      count(upstreamOut, text.length);
      if (upstream) upstream.send(text);
      else pending.push(text);
    };
    const end = (code: number, reason: string) => {
      const safe = code === 1000 || (code >= 3000 && code < 5000) ? code : 1011;
      for (const ws of [client, upstream]) {
        try {
          ws?.close(safe, reason);
        } catch {
          // Already closed.
        }
      }
    };
    let setupSeen = false;
    let clientWantsUpdates = false;
    client.addEventListener('message', (event) => {
      const data = event.data as string | ArrayBuffer;
      if (typeof data !== 'string') {
        count(clientIn, data.byteLength);
        send(JSON.stringify({ realtimeInput: { audio: { mimeType: MIME_TYPE, data: toBase64(data) } } }));
      } else if (!setupSeen) {
        count(clientIn, data.length);
        setupSeen = true;
        const message = JSON.parse(data) as { setup?: Record<string, unknown> };
        clientWantsUpdates = message.setup?.sessionResumption !== undefined;
        const setup = { ...message.setup, model: this.env.MODEL, sessionResumption: { transparent: true } };
        send(JSON.stringify({ setup }));
      } else {
        count(clientIn, data.length);
        send(data);
      }
    });
    client.addEventListener('close', (event) => end(event.code, event.reason));
    client.addEventListener('error', () => end(1011, 'client error'));
    this.ctx.waitUntil(
      (async () => {
        try {
          const res = await fetch((this.env.UPSTREAM_URL ?? '').replace(/^ws/, 'http'), {
            headers: { Upgrade: 'websocket', Authorization: `Bearer ${this.env.UPSTREAM_TOKEN ?? ''}` },
          });
          const ws = res.webSocket;
          if (!ws) throw new Error(`upstream answered ${res.status}`);
          ws.accept();
          (ws as WebSocket & { binaryType: string }).binaryType = 'arraybuffer';
          ws.addEventListener('message', (event) => {
            const data = event.data as string | ArrayBuffer;
            if (!clientWantsUpdates) {
              const text = typeof data === 'string' ? data : utf8.decode(data);
              if (text.includes(RESUMPTION_UPDATE)) return;
            }
            client.send(data);
          });
          ws.addEventListener('close', (event) => end(event.code, event.reason));
          ws.addEventListener('error', () => end(1011, 'upstream error'));
          upstream = ws;
          for (const text of pending.splice(0)) ws.send(text);
        } catch (err) {
          end(1011, String(err).slice(0, 100));
        }
      })(),
    );
    return new Response(null, { status: 101, webSocket: pair[0] });
  }
}

function count(direction: Direction, bytes: number): void {
  direction.messages++;
  direction.bytes += bytes;
}

function toBase64(data: ArrayBuffer): string {
  return (new Uint8Array(data) as Uint8Array & { toBase64(): string }).toBase64();
}

export default {
  /**
   * `/` answers the stack's health check and `/healthz` the load test's probe; `/ws?id=…` is one Floor's socket;
   * a Live API path with `?conversation=…` is one FloorRelay's socket, and `/v1/conversations/<id>` its counters.
   */
  fetch(request: Request, env: FloorEnv): Response | Promise<Response> {
    const url = new URL(request.url);
    const status = /^\/v1\/conversations\/([^/]+)$/.exec(url.pathname);
    if (status)
      return env.FLOOR_RELAY.get(env.FLOOR_RELAY.idFromName(decodeURIComponent(status[1]!))).fetch(request);
    if (url.pathname === '/healthz') return Response.json({ status: 'ok' });
    if (request.headers.get('Upgrade') !== 'websocket') return new Response('floor');
    if (url.pathname === '/ws')
      return env.FLOOR.get(env.FLOOR.idFromName(url.searchParams.get('id') ?? '')).fetch(request);
    const conversation = url.searchParams.get('conversation') ?? '';
    return env.FLOOR_RELAY.get(env.FLOOR_RELAY.idFromName(conversation)).fetch(request);
  },
};
