// One Durable Object per conversation: the client's socket (hibernation API) on one side, the Live API socket
// on the other, and the state machine between them:
//
//   idle ──setup──▶ connecting ──setupComplete──▶ live ──either side closes──▶ idle
//
// `idle` holds nothing in memory, so the object may hibernate while a client sits connected without a setup.
import { DurableObject } from 'cloudflare:workers';
import { CloseCode, RelayClose, clientCloseForUpstream, truncateReason } from './close-codes';
import {
  MAX_CLIENT_FRAME_BYTES,
  MAX_PENDING_BYTES,
  MAX_PENDING_MESSAGES,
  UPSTREAM_SETUP_TIMEOUT_MS,
  resolveModel,
  upstreamUrl,
} from './config';
import { count, countKind, newCounters, type Counters } from './counters';
import {
  parseClientMessage,
  serverMessageKind,
  translateMediaChunks,
  type ClientMessage,
  type JsonObject,
} from './protocol';
import { upstreamAuthorization } from './upstream-auth';
import { byteLength, openUpstream, parseServerFrame } from './upstream';

export type SessionState = 'idle' | 'connecting' | 'live';

/** What the Worker tells the object about a connecting client (internal header, set only by the Worker). */
export interface ConnectInfo {
  conversationId: string;
  subject: string;
  relayEvents: boolean;
}

interface Attachment extends ConnectInfo {
  connectedAt: number;
}

interface Meta {
  conversationId: string;
  owner: string;
  createdAt: number;
  model: string | null;
}

export const CONNECT_INFO_HEADER = 'x-relay-connect';

export class LiveSession extends DurableObject<Env> {
  private state: SessionState = 'idle';
  private upstream: WebSocket | null = null;
  private pending: string[] = [];
  private pendingBytes = 0;
  private setupTimer: ReturnType<typeof setTimeout> | null = null;
  private model: string | null = null;
  private counters: Counters = newCounters();
  private lastActivityAt = Date.now();

  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === '/status') return Response.json(await this.status());
    const info = JSON.parse(request.headers.get(CONNECT_INFO_HEADER) ?? 'null') as ConnectInfo | null;
    if (!info || request.headers.get('Upgrade')?.toLowerCase() !== 'websocket') {
      return new Response('not found', { status: 404 });
    }
    await this.ensureMeta(info);
    // One client per conversation: a newer connection of the owner takes over (e.g. after a network change).
    for (const old of this.ctx.getWebSockets('client')) {
      safeClose(old, CloseCode.Replaced, 'replaced by a newer connection to this conversation');
    }
    this.teardownUpstream(CloseCode.Normal, 'client replaced');
    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    this.ctx.acceptWebSocket(server, ['client']);
    server.serializeAttachment({ ...info, connectedAt: Date.now() } satisfies Attachment);
    return new Response(null, {
      status: 101,
      webSocket: client,
      headers: { 'X-Conversation-Id': info.conversationId },
    });
  }

  override async webSocketMessage(ws: WebSocket, data: string | ArrayBuffer): Promise<void> {
    this.lastActivityAt = Date.now();
    const bytes = byteLength(data);
    count(this.counters.clientIn, bytes);
    try {
      if (bytes > MAX_CLIENT_FRAME_BYTES) {
        throw new RelayClose(
          CloseCode.MessageTooBig,
          `frame of ${bytes} bytes exceeds the ${MAX_CLIENT_FRAME_BYTES}-byte limit`,
        );
      }
      if (typeof data !== 'string') {
        throw new RelayClose(
          CloseCode.UnsupportedData,
          'binary frames are not accepted; send Live API JSON as text',
        );
      }
      const message = parseClientMessage(data);
      countKind(this.counters.clientMessagesByKind, message.kind);
      if (message.kind === 'setup') {
        if (this.state !== 'idle')
          throw new RelayClose(CloseCode.PolicyViolation, 'setup may be sent only once per connection');
        await this.startUpstream(ws, message.body);
        return;
      }
      if (this.state === 'idle') {
        throw new RelayClose(
          CloseCode.PolicyViolation,
          `the first message must be setup, got ${message.kind}`,
        );
      }
      this.sendUpstream(serializeForUpstream(message, data));
    } catch (err) {
      this.fail(ws, err);
    }
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    safeClose(ws, code === 1005 || code === 1006 ? CloseCode.Normal : code, reason);
    if (this.ctx.getWebSockets('client').some((other) => other !== ws)) return;
    this.teardownUpstream(CloseCode.Normal, 'client closed');
    await this.persistCounters();
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    await this.webSocketClose(ws, 1006, 'client socket error');
  }

  private async startUpstream(client: WebSocket, setup: JsonObject): Promise<void> {
    const model = resolveModel(this.env, typeof setup.model === 'string' ? setup.model : undefined);
    this.state = 'connecting';
    this.model = model.id;
    await this.ctx.storage.put('model', model.id);
    const upstreamSetup = JSON.stringify({ setup: { ...setup, model: model.name } });
    this.setupTimer = setTimeout(
      () =>
        this.fail(client, new RelayClose(CloseCode.BadGateway, 'upstream did not complete setup in time')),
      UPSTREAM_SETUP_TIMEOUT_MS,
    );
    const socket = await openUpstream(upstreamUrl(this.env), await upstreamAuthorization(this.env));
    if (this.state !== 'connecting') {
      // The client went away while the handshake was in flight.
      socket.close(CloseCode.Normal, 'client closed');
      return;
    }
    this.upstream = socket;
    this.counters.upstreamConnections++;
    socket.addEventListener('message', (event) => this.onUpstreamMessage(event.data));
    socket.addEventListener('close', (event) => this.onUpstreamClose(socket, event.code, event.reason));
    socket.addEventListener('error', () => this.onUpstreamClose(socket, 1006, 'upstream socket error'));
    this.transmit(upstreamSetup);
  }

  private onUpstreamMessage(data: string | ArrayBuffer): void {
    this.lastActivityAt = Date.now();
    count(this.counters.upstreamIn, byteLength(data));
    const message = parseServerFrame(data);
    const kind = message ? serverMessageKind(message) : 'unparsed';
    countKind(this.counters.serverMessagesByKind, kind);
    this.toClient(data);
    if (kind === 'setupComplete' && this.state === 'connecting') {
      this.state = 'live';
      if (this.setupTimer) clearTimeout(this.setupTimer);
      this.setupTimer = null;
      for (const frame of this.pending) this.transmit(frame);
      this.pending = [];
      this.pendingBytes = 0;
    }
  }

  private onUpstreamClose(socket: WebSocket, code: number, reason: string): void {
    if (socket !== this.upstream) return;
    this.upstream = null;
    const close = clientCloseForUpstream(code, reason);
    for (const client of this.ctx.getWebSockets('client')) safeClose(client, close.code, close.reason);
    this.reset();
    void this.persistCounters();
  }

  /** Client frames wait for setupComplete (§2.1: nothing may be sent before it), bounded. */
  private sendUpstream(frame: string): void {
    if (this.state === 'live') return this.transmit(frame);
    if (this.pending.length >= MAX_PENDING_MESSAGES || this.pendingBytes + frame.length > MAX_PENDING_BYTES) {
      throw new RelayClose(CloseCode.TryAgainLater, 'too many messages queued before setupComplete');
    }
    this.pending.push(frame);
    this.pendingBytes += frame.length;
  }

  private transmit(frame: string): void {
    if (!this.upstream) return;
    this.upstream.send(frame);
    count(this.counters.upstreamOut, byteLength(frame));
  }

  private toClient(data: string | ArrayBuffer): void {
    for (const client of this.ctx.getWebSockets('client')) {
      try {
        client.send(data);
        count(this.counters.clientOut, byteLength(data));
      } catch {
        // The client is gone; webSocketClose tears the upstream down.
      }
    }
  }

  private fail(client: WebSocket, err: unknown): void {
    const close =
      err instanceof RelayClose
        ? err
        : new RelayClose(CloseCode.InternalError, 'internal relay error; retry the connection');
    if (!(err instanceof RelayClose))
      console.error('live-session: unexpected error', err instanceof Error ? err.stack : err);
    safeClose(client, close.code, close.reason);
    this.teardownUpstream(CloseCode.Normal, 'client connection closed by the relay');
  }

  private teardownUpstream(code: number, reason: string): void {
    const socket = this.upstream;
    this.upstream = null;
    if (socket) safeClose(socket, code, reason);
    this.reset();
  }

  private reset(): void {
    if (this.setupTimer) clearTimeout(this.setupTimer);
    this.setupTimer = null;
    this.state = 'idle';
    this.pending = [];
    this.pendingBytes = 0;
  }

  private async ensureMeta(info: ConnectInfo): Promise<void> {
    if (await this.ctx.storage.get<Meta>('meta')) return;
    const meta: Meta = {
      conversationId: info.conversationId,
      owner: info.subject,
      createdAt: Date.now(),
      model: null,
    };
    await this.ctx.storage.put('meta', meta);
  }

  /** The owner of this conversation (null before its first connection). */
  async owner(): Promise<string | null> {
    return (await this.ctx.storage.get<Meta>('meta'))?.owner ?? null;
  }

  private async persistCounters(): Promise<void> {
    await this.ctx.storage.put({ counters: this.counters, lastActivityAt: this.lastActivityAt });
  }

  private async status() {
    const meta = await this.ctx.storage.get<Meta>('meta');
    const stored = await this.ctx.storage.get<Counters>('counters');
    // In memory while a session runs; after hibernation the last persisted snapshot is the truth.
    const counters = this.counters.clientIn.messages > 0 || !stored ? this.counters : stored;
    return {
      conversation: meta?.conversationId ?? null,
      upstream: { state: this.state, connected: this.upstream !== null },
      model: this.model ?? (await this.ctx.storage.get<string>('model')) ?? null,
      clients: this.ctx.getWebSockets('client').length,
      createdAt: meta ? new Date(meta.createdAt).toISOString() : null,
      lastActivityAt: new Date(
        Math.max(this.lastActivityAt, (await this.ctx.storage.get<number>('lastActivityAt')) ?? 0),
      ).toISOString(),
      counters,
    };
  }
}

/**
 * Re-serialises only when the input used snake_case or the deprecated mediaChunks; otherwise the client's own
 * text goes upstream unchanged (no underscore means the camelCase rewrite was a no-op).
 */
function serializeForUpstream(message: ClientMessage, raw: string): string {
  if (message.kind === 'realtimeInput' && message.body.mediaChunks !== undefined) {
    return JSON.stringify({ realtimeInput: translateMediaChunks(message.body) });
  }
  return raw.includes('_') ? JSON.stringify(message.message) : raw;
}

function safeClose(ws: WebSocket, code: number, reason: string): void {
  try {
    ws.close(code, truncateReason(reason));
  } catch {
    // Already closed.
  }
}
