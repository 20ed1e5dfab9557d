// One Durable Object per conversation. The client's socket uses the hibernation API; the Live API side is an
// UpstreamLink that outlives its connections (goAway handovers, drops). The conversation outlives the client's
// socket too: for CLIENT_RESUME_GRACE_MS after a drop the upstream stays up and its messages are kept, so a
// reconnecting client gets exactly what it missed; after that, the stored resumption handle continues it.
//
//   idle ──setup──▶ linked (UpstreamLink: connecting/live/switching/reconnecting) ──client gone──▶ grace ──▶ idle
import { DurableObject } from 'cloudflare:workers';
import { AudioInput } from '../audio/input';
import { pcmRateOf } from '../audio/batcher';
import { Histogram } from '../util/histogram';
import { enforceSetupConstraints, isOwner, type TokenConstraints } from '../client-auth';
import { ClientFeed, relayEvent, splitAudio } from './client-feed';
import { CloseCode, RelayClose, safeClose } from '../live-api/close-codes';
import { MAX_CLIENT_FRAME_BYTES, resolveModel } from '../config';
import type { ConnectOptions } from './connect-options';
import { count, countKind, newCounters, type Counters } from './counters';
import { TextHistory } from './history';
import { errorResponse } from '../http-error';
import {
  isObject,
  parseClientMessage,
  translateMediaChunks,
  type ClientMessage,
  type Json,
  type JsonObject,
} from '../live-api/protocol';
import { TokenBucket } from './rate-limit';
import type { ClientOrigin } from '../upstream/resumption';
import { byteLength, frameText } from '../upstream/socket';
import { UpstreamLink } from '../upstream/link';

/** What the Worker tells the object about a connecting client (internal header, set only by the Worker). */
export interface ConnectInfo extends ConnectOptions {
  conversationId: string;
  subject: string;
  /** Limits from the client's token (allowed models, locked setup, maximum session length). */
  constraints: TokenConstraints | null;
  /** The subprotocol to echo in the 101 (never the token the client offered beside it). */
  subprotocol: string | null;
}

interface Attachment extends ConnectInfo {
  connectedAt: number;
  setupSent: boolean;
  /** This client connection's number in the conversation (what `ClientOrigin.client` names). */
  client: number;
}

interface Meta {
  conversationId: string;
  owner: string;
  createdAt: number;
}

interface StoredHandle {
  handle: string;
  at: number;
}

export const CONNECT_INFO_HEADER = 'x-relay-connect';
const DEFAULT_GRACE_MS = 30_000;
const DEFAULT_HANDLE_TTL_MS = 10 * 60_000;

export class LiveSession extends DurableObject<Env> {
  private link: UpstreamLink | null = null;
  private feed: ClientFeed | null = null;
  private setupComplete: string | ArrayBuffer | null = null;
  private model: string | null = null;
  private clientWantsUpdates = false;
  private history = new TextHistory();
  /** Audio input per client socket: frames a dropped socket still delivers keep their own batch and order. */
  private audioInputs = new Map<WebSocket, AudioInput>();
  private attachments = new WeakMap<WebSocket, Attachment>();
  private refused = new WeakSet<WebSocket>();
  private graceTimer: ReturnType<typeof setTimeout> | null = null;
  private sessionTimer: ReturnType<typeof setTimeout> | null = null;
  private flood = new TokenBucket();
  private counters: Counters = newCounters();
  private batchDurations = new Histogram();
  private lastActivityAt = Date.now();
  private clientConnections = 0;
  /** Messages each client socket sent after its setup, as the client counts them (setup = 0). */
  private clientMessages = new Map<WebSocket, number>();

  override async fetch(request: Request): Promise<Response> {
    const info = JSON.parse(request.headers.get(CONNECT_INFO_HEADER) ?? 'null') as ConnectInfo | null;
    if (!info) return errorResponse(404, 'not_found', 'not found');
    const meta = await this.ctx.storage.get<Meta>('meta');
    // A conversation belongs to the subject that created it: nobody else may attach, resume or read it.
    if (meta && !isOwner({ subject: meta.owner }, { subject: info.subject, kind: 'api-key' })) {
      return errorResponse(403, 'not_owner', 'this conversation belongs to another subject');
    }
    if (new URL(request.url).pathname === '/status') {
      return meta
        ? Response.json(await this.status(meta))
        : errorResponse(404, 'not_found', 'conversation not found');
    }
    if (!meta) {
      await this.ctx.storage.put('meta', {
        conversationId: info.conversationId,
        owner: info.subject,
        createdAt: Date.now(),
      } satisfies Meta);
    }
    // One client per conversation: a newer connection of the owner takes over (e.g. after a network change).
    for (const old of this.ctx.getWebSockets('client'))
      safeClose(old, CloseCode.Replaced, 'replaced by a newer connection');
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.graceTimer = null;
    const pair = new WebSocketPair();
    this.ctx.acceptWebSocket(pair[1], ['client']);
    this.attach(pair[1], {
      ...info,
      connectedAt: Date.now(),
      setupSent: false,
      client: ++this.clientConnections,
    });
    const headers = new Headers({ 'X-Conversation-Id': info.conversationId });
    if (info.subprotocol) headers.set('Sec-WebSocket-Protocol', info.subprotocol);
    return new Response(null, { status: 101, webSocket: pair[0], headers });
  }

  override async webSocketMessage(ws: WebSocket, data: string | ArrayBuffer): Promise<void> {
    // Frames still arriving after the relay closed this socket for an error are dropped. (Not readyState: a
    // client's own close makes it CLOSING while frames sent before it are still being delivered, and those count.)
    if (this.refused.has(ws)) return;
    this.lastActivityAt = Date.now();
    const bytes = byteLength(data);
    count(this.counters.clientIn, bytes);
    try {
      if (!this.flood.take())
        throw new RelayClose(CloseCode.TryAgainLater, 'too many messages: slow down (flood limit)');
      if (bytes > MAX_CLIENT_FRAME_BYTES) {
        throw new RelayClose(
          CloseCode.MessageTooBig,
          `frame of ${bytes} bytes exceeds the ${MAX_CLIENT_FRAME_BYTES}-byte limit`,
        );
      }
      const attachment = this.attachmentOf(ws);
      if (typeof data !== 'string')
        return this.onBinaryAudio(ws, attachment, new Uint8Array(data), this.originOf(ws, attachment));
      const message = parseClientMessage(data);
      countKind(this.counters.clientMessagesByKind, message.kind);
      if (message.kind === 'setup') return await this.onSetup(ws, attachment, message.body);
      if (!attachment.setupSent)
        throw new RelayClose(
          CloseCode.PolicyViolation,
          `the first message must be setup, got ${message.kind}`,
        );
      this.onClientMessage(ws, attachment, message, data, this.originOf(ws, attachment));
    } catch (err) {
      this.failClient(ws, err);
    }
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    safeClose(ws, code === 1005 || code === 1006 ? CloseCode.Normal : code, 'closed');
    this.closeAudio(ws);
    this.clientMessages.delete(ws);
    if (this.ctx.getWebSockets('client').some((other) => other !== ws)) return;
    // A close frame without a status code (1005) is as deliberate as 1000: Google's SDK's session.close() sends
    // one. Only an abnormal drop (1006: no close frame, network error) waits for the client to come back.
    if (code === CloseCode.Normal || code === 1005) {
      // A deliberate end: release Google's connection now. The stored handle still lets a later connection resume.
      this.endLink(CloseCode.Normal, 'client closed');
    } else if (this.link) {
      // Anything else may be a network drop: keep the session for the client to come back to.
      const grace = Number(this.env.CLIENT_RESUME_GRACE_MS ?? DEFAULT_GRACE_MS);
      this.graceTimer = setTimeout(() => this.endLink(CloseCode.Normal, 'client did not come back'), grace);
    }
    await this.persist();
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    await this.webSocketClose(ws, 1006);
  }

  private async onSetup(ws: WebSocket, attachment: Attachment, requested: JsonObject): Promise<void> {
    if (attachment.setupSent)
      throw new RelayClose(CloseCode.PolicyViolation, 'setup may be sent only once per connection');
    const model = resolveModel(this.env, typeof requested.model === 'string' ? requested.model : undefined);
    let setup = requested;
    if (attachment.constraints) {
      const allowed = enforceSetupConstraints(requested, attachment.constraints, model.id);
      if (!allowed.ok) throw new RelayClose(CloseCode.PolicyViolation, allowed.message);
      setup = allowed.setup as JsonObject;
    }
    this.attach(ws, { ...attachment, setupSent: true });
    this.audioOf(ws, attachment);
    this.clientWantsUpdates = setup.sessionResumption !== undefined;
    if (attachment.constraints?.maxSessionSeconds)
      this.limitSession(ws, attachment.constraints.maxSessionSeconds);
    if (this.link) {
      // The conversation is still up (the client came back within the grace period): no new upstream. Its
      // setupComplete goes to this client now, or when it arrives.
      if (model.id !== this.model) {
        throw new RelayClose(
          CloseCode.PolicyViolation,
          `the model cannot change within a conversation (it is ${this.model})`,
        );
      }
      if (this.setupComplete) this.deliverSetupComplete(ws, attachment, this.setupComplete, true);
      return;
    }
    this.model = model.id;
    const handle = await this.storedHandle(setup);
    const { sessionResumption: _own, ...rest } = setup;
    const upstreamSetup: JsonObject = { ...rest, model: model.name };
    if (attachment.contextCompression && upstreamSetup.contextWindowCompression === undefined) {
      // Without compression audio sessions end at 15 minutes (§4.1).
      upstreamSetup.contextWindowCompression = { slidingWindow: {} };
    }
    this.feed ??= new ClientFeed((await this.ctx.storage.get<number>('lastSeq')) ?? 0);
    this.link = new UpstreamLink(
      this.env,
      { setup: upstreamSetup, handle, history: () => this.history.seed() },
      {
        message: (data, parsed, kind, fresh) => this.onServerMessage(data, parsed, kind, fresh),
        connected: () => void this.counters.upstreamConnections++,
        sent: (bytes) => count(this.counters.upstreamOut, bytes),
        handle: (value) => void this.storeHandle(value),
        notice: (event) => this.toClientEvent(event),
        failed: (close) => this.onLinkFailed(close),
      },
    );
    await this.ctx.storage.put('model', model.id);
    await this.link.start();
  }

  /** A stored handle resumes the conversation after the grace period or a restart, while it is fresh. */
  private async storedHandle(setup: JsonObject): Promise<string | null> {
    const own = isObject(setup.sessionResumption) ? setup.sessionResumption.handle : undefined;
    if (typeof own === 'string' && own) return own;
    const stored = await this.ctx.storage.get<StoredHandle>('handle');
    const ttl = Number(this.env.RESUMPTION_HANDLE_TTL_MS ?? DEFAULT_HANDLE_TTL_MS);
    return stored && Date.now() - stored.at < ttl ? stored.handle : null;
  }

  private async storeHandle(handle: string | null): Promise<void> {
    if (handle)
      await this.ctx.storage.put({
        handle: { handle, at: Date.now() } satisfies StoredHandle,
        lastSeq: this.feed?.lastSeq ?? 0,
      });
    else await this.ctx.storage.delete('handle');
  }

  /** Numbers the client's message as the client counts them: setup = 0, the first after it = 1. */
  private originOf(ws: WebSocket, attachment: Attachment): ClientOrigin {
    const index = (this.clientMessages.get(ws) ?? 0) + 1;
    this.clientMessages.set(ws, index);
    return { client: attachment.client, index };
  }

  private onClientMessage(
    ws: WebSocket,
    attachment: Attachment,
    message: ClientMessage,
    raw: string,
    origin: ClientOrigin,
  ): void {
    const link = this.requireLink();
    const audioInput = this.audioOf(ws, attachment);
    if (message.kind === 'realtimeInput') {
      const body = message.body.mediaChunks !== undefined ? translateMediaChunks(message.body) : message.body;
      const audio = body.audio;
      if (Object.keys(body).length === 1 && isObject(audio) && pcmRateOf(String(audio.mimeType)) !== null) {
        this.counters.clientAudioFrames++;
        return audioInput.pushBase64(String(audio.data), String(audio.mimeType), origin);
      }
      if (typeof body.text === 'string') this.history.user(body.text);
      audioInput.flush();
      return link.send(
        body === message.body && !raw.includes('_') ? raw : JSON.stringify({ realtimeInput: body }),
        origin,
      );
    }
    if (message.kind === 'clientContent') this.history.recordClientContent(message.body);
    // Everything else goes out after the audio before it: the batcher never reorders.
    audioInput.flush();
    // No underscore means the camelCase rewrite was a no-op: the client's own text goes upstream unchanged.
    link.send(raw.includes('_') ? JSON.stringify(message.message) : raw, origin);
  }

  private onBinaryAudio(ws: WebSocket, attachment: Attachment, pcm: Uint8Array, origin: ClientOrigin): void {
    if (!attachment.setupSent)
      throw new RelayClose(CloseCode.PolicyViolation, 'send setup before binary audio');
    countKind(this.counters.clientMessagesByKind, 'binaryAudio');
    this.counters.clientAudioFrames++;
    this.requireLink();
    this.audioOf(ws, attachment).pushPcm(pcm, origin);
  }

  private audioOf(ws: WebSocket, attachment: Attachment): AudioInput {
    let input = this.audioInputs.get(ws);
    if (!input) {
      input = new AudioInput(attachment.audio, (batch, completes) => {
        this.batchDurations.record(batch.durationMs);
        this.counters.upstreamAudioBatches++;
        this.link?.send(batch.message, completes);
      });
      this.audioInputs.set(ws, input);
    }
    return input;
  }

  /** The socket is gone: what it buffered still goes upstream, in order. */
  private closeAudio(ws: WebSocket): void {
    this.audioInputs.get(ws)?.close();
    this.audioInputs.delete(ws);
  }

  private onServerMessage(
    data: string | ArrayBuffer,
    parsed: JsonObject | null,
    kind: string,
    fresh: boolean,
  ): void {
    this.lastActivityAt = Date.now();
    count(this.counters.upstreamIn, byteLength(data));
    countKind(this.counters.serverMessagesByKind, kind);
    if (kind === 'setupComplete') {
      if (!fresh) return; // a resumed connection's setupComplete: the client already has one
      this.setupComplete = data;
      const client = this.client();
      if (client) this.deliverSetupComplete(client, this.attachmentOf(client), data, false);
      return;
    }
    // The relay handles goAway itself; resumption updates reach only clients that asked for them, with the
    // consumed index in the client's own numbering (the upstream's counts the relay's batches and replays).
    if (kind === 'goAway' || (kind === 'sessionResumptionUpdate' && !this.clientWantsUpdates)) return;
    if (kind === 'sessionResumptionUpdate' && parsed) [data, parsed] = this.inClientTerms(data, parsed);
    if (parsed) this.history.recordServerMessage(parsed);
    this.feed!.record(data);
    const client = this.client();
    if (client) this.send(client, this.attachmentOf(client), data, parsed);
  }

  private inClientTerms(data: string | ArrayBuffer, parsed: JsonObject): [string | ArrayBuffer, JsonObject] {
    const update = parsed.sessionResumptionUpdate;
    if (!isObject(update) || update.lastConsumedClientMessageIndex === undefined) return [data, parsed];
    const client = this.client();
    const index = client ? this.link!.lastConsumed(this.attachmentOf(client).client) : 0;
    // int64 travels as a JSON string (§2.1); the frame keeps its type.
    const rewritten = {
      ...parsed,
      sessionResumptionUpdate: { ...update, lastConsumedClientMessageIndex: String(index) },
    };
    const text = JSON.stringify(rewritten);
    return [
      typeof data === 'string' ? text : (new TextEncoder().encode(text).buffer as ArrayBuffer),
      rewritten,
    ];
  }

  /** setupComplete, then (with relay events) `ready` and whatever the client missed since `last_seq`. */
  private deliverSetupComplete(
    ws: WebSocket,
    attachment: Attachment,
    frame: string | ArrayBuffer,
    rejoined: boolean,
  ): void {
    this.sendRaw(ws, attachment.binaryOut ? frameText(frame) : frame);
    const feed = this.feed!;
    const replay = attachment.lastSeq !== null ? feed.since(attachment.lastSeq) : { frames: [], gap: false };
    if (attachment.relayEvents) {
      const seq =
        attachment.lastSeq !== null && !replay.gap
          ? Math.min(attachment.lastSeq, feed.lastSeq)
          : feed.lastSeq;
      this.sendRaw(
        ws,
        relayEvent({
          event: 'ready',
          conversation: attachment.conversationId,
          seq,
          replayed: replay.frames.length,
          gap: replay.gap,
          rejoined,
        }),
      );
    }
    for (const data of replay.frames) this.send(ws, attachment, data, null);
  }

  private send(
    ws: WebSocket,
    attachment: Attachment,
    data: string | ArrayBuffer,
    parsed: JsonObject | null,
  ): void {
    if (attachment.binaryOut) {
      const split = splitAudio(parsed ?? (JSON.parse(frameText(data)) as JsonObject));
      if (split) {
        let sent = 0;
        for (const pcm of split.audio) sent += this.sendRaw(ws, pcm);
        if (split.rest) sent += this.sendRaw(ws, split.rest);
        this.counters.binaryBytesSaved += byteLength(data) - sent;
        return;
      }
    }
    // In binary-out mode binary frames are PCM only, so JSON goes as text.
    this.sendRaw(ws, attachment.binaryOut ? frameText(data) : data);
  }

  private sendRaw(ws: WebSocket, data: string | ArrayBuffer | Uint8Array): number {
    const bytes = typeof data === 'string' ? byteLength(data) : data.byteLength;
    try {
      ws.send(data);
      count(this.counters.clientOut, bytes);
    } catch {
      // The client is gone; webSocketClose starts the grace period.
    }
    return bytes;
  }

  private toClientEvent(event: Record<string, Json>): void {
    if (event.event === 'resumed' || event.event === 'session_restarted') this.counters.resumptions++;
    const client = this.client();
    if (client && this.attachmentOf(client).relayEvents) this.sendRaw(client, relayEvent(event));
  }

  private onLinkFailed(close: RelayClose): void {
    if (close.code === CloseCode.TryAgainLater && this.client()) this.counters.overloadCloses++;
    this.link = null;
    this.setupComplete = null;
    for (const client of this.ctx.getWebSockets('client')) safeClose(client, close.code, close.reason);
    this.logLinkEnd('upstream', close.code, close.reason);
    void this.persist();
  }

  private endLink(code: number, reason: string): void {
    const link = this.link;
    this.link = null;
    this.setupComplete = null;
    if (this.sessionTimer) clearTimeout(this.sessionTimer);
    this.sessionTimer = null;
    if (!link) return;
    link.close(code, reason);
    this.logLinkEnd('relay', code, reason);
  }

  private limitSession(ws: WebSocket, seconds: number): void {
    if (this.sessionTimer) clearTimeout(this.sessionTimer);
    this.sessionTimer = setTimeout(
      () =>
        this.failClient(
          ws,
          new RelayClose(CloseCode.SessionExpired, `session reached its ${seconds} s limit; get a new token`),
        ),
      seconds * 1000,
    );
  }

  /** Closes the client with the error's code; a client error ends the upstream too (nothing to come back to). */
  private failClient(ws: WebSocket, err: unknown): void {
    const close =
      err instanceof RelayClose
        ? err
        : new RelayClose(CloseCode.InternalError, 'internal relay error; retry the connection');
    if (!(err instanceof RelayClose))
      console.error('live-session: unexpected error', err instanceof Error ? err.stack : String(err));
    if (close.code === CloseCode.TryAgainLater) this.counters.overloadCloses++;
    this.refused.add(ws);
    safeClose(ws, close.code, close.reason);
    this.closeAudio(ws);
    this.endLink(CloseCode.Normal, 'client connection closed by the relay');
  }

  private requireLink(): UpstreamLink {
    if (!this.link) throw new RelayClose(CloseCode.BadGateway, 'the upstream session has ended; reconnect');
    return this.link;
  }

  /** The socket's attachment, cached: it is read on every frame, and only rebuilt after a wake. */
  private attachmentOf(ws: WebSocket): Attachment {
    let attachment = this.attachments.get(ws);
    if (!attachment) {
      attachment = ws.deserializeAttachment() as Attachment;
      this.attachments.set(ws, attachment);
    }
    return attachment;
  }

  private attach(ws: WebSocket, attachment: Attachment): void {
    ws.serializeAttachment(attachment);
    this.attachments.set(ws, attachment);
  }

  /**
   * The client that may receive Live API messages: one that has sent its setup. A rejoining client gets what
   * arrived before its setup from the feed (by `last_seq`) right after its setupComplete.
   */
  private client(): WebSocket | null {
    const ws = this.ctx.getWebSockets('client')[0];
    return ws && this.attachmentOf(ws).setupSent ? ws : null;
  }

  /** One structured line per link: ids, model, codes and counts, never content or credentials. */
  private logLinkEnd(closedBy: 'relay' | 'upstream', code: number, reason: string): void {
    const { clientIn, upstreamOut, upstreamIn, clientOut, resumptions } = this.counters;
    console.log(
      JSON.stringify({
        event: 'upstream_closed',
        closedBy,
        code,
        reason,
        model: this.model,
        clientIn,
        upstreamOut,
        upstreamIn,
        clientOut,
        resumptions,
      }),
    );
  }

  private async persist(): Promise<void> {
    await this.ctx.storage.put({
      counters: this.counters,
      lastActivityAt: this.lastActivityAt,
      lastSeq: this.feed?.lastSeq ?? 0,
    });
  }

  private async status(meta: Meta) {
    const stored = await this.ctx.storage.get<Counters>('counters');
    // In memory while a session runs; after hibernation the last persisted snapshot is the truth.
    const counters = this.counters.clientIn.messages > 0 || !stored ? this.counters : stored;
    return {
      conversation: meta.conversationId,
      upstream: {
        state: this.link?.state ?? 'idle',
        connections: this.link?.connections ?? 0,
        unacknowledged: this.link?.unacknowledged ?? null,
        handleStored: (await this.ctx.storage.get<StoredHandle>('handle')) !== undefined,
      },
      model: this.model ?? (await this.ctx.storage.get<string>('model')) ?? null,
      client: {
        connected: this.client() !== null,
        lastSeq: this.feed?.lastSeq ?? null,
        buffered: this.feed?.bufferedMessages ?? 0,
      },
      createdAt: new Date(meta.createdAt).toISOString(),
      lastActivityAt: new Date(
        Math.max(this.lastActivityAt, (await this.ctx.storage.get<number>('lastActivityAt')) ?? 0),
      ).toISOString(),
      counters,
      audio: {
        batchMs: this.batchDurations.snapshot(),
        window: [...this.audioInputs.values()].at(-1)?.options ?? null,
      },
    };
  }
}
