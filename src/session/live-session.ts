// One Durable Object per conversation. The client's socket is a plain accepted WebSocket; the Live API side is an
// UpstreamLink that outlives its connections (goAway handovers, drops). The conversation outlives the client's
// socket too: for CLIENT_RESUME_GRACE_MS after a drop the upstream stays up and its messages are kept, so a
// reconnecting client gets exactly what it missed; after that, the stored resumption handle continues it.
//
//            ┌──────────── client closes (1000/1005), link fails, grace ends ◀───────────┐
//            ▼                                                                            │
//   idle ──setup──▶ linking ──setupComplete──▶ live ──client drops (1006)──▶ grace ──rejoin──▶ live/linking
//                      └──────────────── client drops ────────────────────────▶ grace
//
// `phase` changes only in `enter`, which owns the grace and session-limit timers; `endLink` is the one teardown.
// One current client, by identity: a newer connection replaces it, and the replaced socket is retired at once
// (nothing more is sent to it and its frames are dropped), whatever its close handshake does.
import { DurableObject } from 'cloudflare:workers';
import { AudioInput } from '../audio/input';
import { pcmRateOf } from '../audio/batcher';
import { Histogram } from '../util/histogram';
import { enforceSetupConstraints } from '../client-auth';
import { usesExhausted } from '../client-auth/ephemeral-tokens';
import { translateClientToVertex } from '../live-api/gemini-dialect';
import { ClientChannel } from './client-channel';
import { ClientFeed } from './client-feed';
import { CloseCode, RelayClose, safeClose } from '../live-api/close-codes';
import { readConfig, resolveModel } from '../config';
import { MAX_CLIENT_FRAME_BYTES } from '../limits';
import { count, countKind } from './counters';
import { TextHistory } from './history';
import { errorResponse } from '../http-error';
import { decodeConnectInfo, CONNECT_INFO_HEADER, type ConnectInfo } from './hand-off';
import {
  isObject,
  parseClientMessage,
  translateMediaChunks,
  type ClientMessage,
  type JsonObject,
  type ServerMessageKind,
} from '../live-api/protocol';
import { FloodGuard } from './rate-limit';
import { RelayHandles } from './handles';
import { SessionStore } from './store';
import type { ClientOrigin } from '../upstream/resumption';
import { byteLength } from '../upstream/socket';
import { UpstreamLink } from '../upstream/link';
import { SessionLimits } from '../tenancy/session-limits';
import { UsageMeter } from '../usage/meter';
import { presentUsage } from '../usage/totals';
import { logEvent, type LogValue } from '../ops/log';

export type Phase = 'idle' | 'linking' | 'live' | 'grace';

interface Attachment extends ConnectInfo {
  setupSent: boolean;
  /** This client connection's number in the conversation (what `ClientOrigin.client` names). */
  client: number;
}

export type StatusResult =
  | { ok: true; status: Record<string, unknown> }
  | { ok: false; httpStatus: 403 | 404; code: string; message: string };

const encoder = new TextEncoder();
const INTERRUPTED = JSON.stringify({ serverContent: { interrupted: true } });

export class LiveSession extends DurableObject<Env> {
  private store!: SessionStore;
  private phase: Phase = 'idle';
  private current: WebSocket | null = null;
  private link: UpstreamLink | null = null;
  private feed: ClientFeed | null = null;
  /** The conversation's setupComplete, as a (re)joining client receives it. */
  private setupFrame: string | ArrayBuffer | null = null;
  private model: string | null = null;
  private clientWantsUpdates = false;
  /** Model output was forwarded and its turn has not ended: a resume from an earlier handle cuts it. */
  private turnOpen = false;
  private history = new TextHistory();
  /** Audio input per client socket: frames a replaced socket buffered keep their own batch and order. */
  private audioInputs = new Map<WebSocket, AudioInput>();
  private attachments = new WeakMap<WebSocket, Attachment>();
  /** Messages each client socket sent after its setup, as the client counts them (setup = 0). */
  private clientMessages = new WeakMap<WebSocket, number>();
  private clientConnections = 0;
  private graceTimer: ReturnType<typeof setTimeout> | null = null;
  private sessionTimer: ReturnType<typeof setTimeout> | null = null;
  private flood = new FloodGuard();
  private batchDurations = new Histogram();
  private handles!: RelayHandles;
  private readonly channel: ClientChannel;
  // Operations hooks (src/tenancy, src/usage, src/ops): limits, usage and the ids every log line carries.
  private limits: SessionLimits;
  private usage!: UsageMeter;
  private logIds: { conversation: string | null; subject: string | null; requestId: string | null } = {
    conversation: null,
    subject: null,
    requestId: null,
  };
  private linkStartedAt = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.channel = new ClientChannel(
      () => this.counters,
      () => readConfig(this.env).unansweredLimitBytes,
      // Not from inside the send path (it may be a link callback): close once the current work is done.
      (ws, close) =>
        queueMicrotask(() => {
          if (ws === this.current) this.failClient(ws, close);
        }),
    );
    void ctx.blockConcurrencyWhile(async () => {
      this.store = await SessionStore.load(ctx.storage);
      this.handles = new RelayHandles(this.store, () => readConfig(this.env).handleTtlMs);
      this.usage = new UsageMeter(this.store.record, () => this.store.touch('usage', 'usageReported'));
    });
    this.limits = new SessionLimits(() => this.env, {
      expire: (ws, close) => {
        if (ws === this.current) this.failClient(ws, close);
      },
      context: () => this.logContext(),
      meter: () => this.usage,
      owner: () => {
        const meta = this.store.record.meta;
        return meta && { subject: meta.owner, conversation: meta.conversationId };
      },
    });
  }

  private get counters() {
    return this.store.record.counters;
  }

  override async fetch(request: Request): Promise<Response> {
    const info = decodeConnectInfo(request.headers.get(CONNECT_INFO_HEADER));
    if (!info) return errorResponse(400, 'bad_request', 'internal hand-off missing or malformed');
    const meta = this.store.record.meta;
    // A conversation belongs to the subject that created it: nobody else may attach, resume or read it.
    if (meta && meta.owner !== info.subject) {
      return errorResponse(403, 'not_owner', 'this conversation belongs to another subject');
    }
    this.logIds = {
      conversation: info.conversationId,
      subject: info.subject,
      requestId: info.requestId ?? null,
    };
    const refused = await this.limits.admit(info.subject, info.conversationId);
    if (refused) return refused;
    if (!meta) {
      this.store.set(
        { meta: { conversationId: info.conversationId, owner: info.subject, createdAt: Date.now() } },
        'now',
      );
    }
    // One client per conversation: a newer connection of the owner takes over (e.g. after a network change).
    if (this.current) this.retire(this.current, CloseCode.Replaced, 'replaced by a newer connection');
    const pair = new WebSocketPair();
    this.acceptClient(pair[1]);
    this.attachments.set(pair[1], {
      ...info,
      setupSent: false,
      client: ++this.clientConnections,
    });
    this.current = pair[1];
    this.limits.clientConnected(pair[1]);
    if (this.phase === 'grace') this.enter(this.setupFrame ? 'live' : 'linking');
    const headers = new Headers({ 'X-Conversation-Id': info.conversationId });
    if (info.subprotocol) headers.set('Sec-WebSocket-Protocol', info.subprotocol);
    return new Response(null, { status: 101, webSocket: pair[0], headers });
  }

  /** The conversation's status, for its owner (the Worker calls this over RPC). */
  async status(subject: string): Promise<StatusResult> {
    const meta = this.store.record.meta;
    if (!meta) return { ok: false, httpStatus: 404, code: 'not_found', message: 'conversation not found' };
    if (meta.owner !== subject)
      return {
        ok: false,
        httpStatus: 403,
        code: 'not_owner',
        message: 'this conversation belongs to another subject',
      };
    const { record } = this.store;
    return {
      ok: true,
      status: {
        conversation: meta.conversationId,
        phase: this.phase,
        upstream: {
          state: this.link?.state ?? 'idle',
          connections: this.link?.connections ?? 0,
          unacknowledged: this.link?.unacknowledged ?? null,
          handleStored: record.handle !== null,
        },
        model: this.model ?? record.model,
        client: {
          connected: this.client() !== null,
          lastSeq: this.feed?.lastSeq ?? record.lastSeq,
          buffered: this.feed?.bufferedMessages ?? 0,
        },
        createdAt: new Date(meta.createdAt).toISOString(),
        lastActivityAt: new Date(record.lastActivityAt || meta.createdAt).toISOString(),
        counters: record.counters,
        usage: presentUsage(this.usage.totals),
        audio: {
          batchMs: this.batchDurations.snapshot(),
          window: [...this.audioInputs.values()].at(-1)?.options ?? null,
        },
      },
    };
  }

  /**
   * The client socket is accepted as a plain WebSocket, not with the hibernation API: a live conversation cannot
   * hibernate anyway (the upstream socket pins the object, and before setup the setup timer does), and each frame
   * delivered through the hibernation API costs the runtime a new incoming event — measured in this workerd, 35.5
   * against 25.2 ms of CPU per 1000 inbound frames (~29 % less), the hot path of every conversation.
   */
  private acceptClient(ws: WebSocket): void {
    // Binary frames as ArrayBuffers (the standard default is Blob, which would cost an async read per frame).
    ws.binaryType = 'arraybuffer';
    ws.accept();
    ws.addEventListener('message', (event) => this.onClientFrame(ws, event.data as string | ArrayBuffer));
    ws.addEventListener('close', (event) => this.onClientClose(ws, event.code));
    ws.addEventListener('error', () => this.onClientClose(ws, 1006));
  }

  private onClientFrame(ws: WebSocket, data: string | ArrayBuffer): void {
    // Only the current client is heard: a replaced socket's frames are dropped, as are frames arriving after the
    // relay closed a client for an error. (Not readyState: a client's own close makes it CLOSING while frames it
    // sent before are still being delivered, and those count.)
    if (ws !== this.current) return;
    const now = Date.now();
    this.limits.clientMessage(now);
    const bytes = byteLength(data);
    count(this.counters.clientIn, bytes);
    this.store.record.lastActivityAt = now;
    this.channel.heard();
    try {
      const flooded = this.flood.take(bytes, now);
      if (flooded) {
        throw new RelayClose(
          CloseCode.TryAgainLater,
          flooded === 'frames'
            ? 'too many frames: slow down (flood limit: 2000 at once, 250/s)'
            : 'too many bytes: slow down (flood limit: 24 MiB at once, 256 KiB/s)',
        );
      }
      if (bytes > MAX_CLIENT_FRAME_BYTES) {
        throw new RelayClose(
          CloseCode.MessageTooBig,
          `frame of ${bytes} bytes exceeds the ${MAX_CLIENT_FRAME_BYTES}-byte limit`,
        );
      }
      const attachment = this.attachmentOf(ws);
      if (typeof data !== 'string') {
        if (!attachment.setupSent)
          throw new RelayClose(CloseCode.PolicyViolation, 'send setup before binary audio');
        return this.onBinaryAudio(ws, attachment, new Uint8Array(data), this.originOf(ws, attachment));
      }
      let message = parseClientMessage(data);
      if (attachment.dialect === 'gemini') [message, data] = translateClientToVertex(message, data);
      countKind(this.counters.clientMessagesByKind, message.kind);
      if (message.kind === 'setup') return this.onSetup(ws, attachment, message.body);
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

  private onClientClose(ws: WebSocket, code: number): void {
    safeClose(ws, code === 1005 || code === 1006 ? CloseCode.Normal : code, 'closed');
    this.closeAudio(ws);
    if (ws !== this.current) return;
    this.current = null;
    this.clearSessionTimer();
    this.limits.clientGone();
    if (!this.link) {
      this.limits.release();
      this.store.flush();
      return;
    }
    // A close frame without a status code (1005) is as deliberate as 1000: Google's SDK's session.close() sends
    // one. Only an abnormal drop (1006: no close frame, network error) waits for the client to come back.
    if (code === CloseCode.Normal || code === 1005) this.endLink(CloseCode.Normal, 'client closed');
    else this.enter('grace');
    this.store.set({ lastSeq: this.feed?.lastSeq ?? 0 }, 'now');
  }

  /**
   * Earlier versions kept the setup deadline in an alarm; one may still be scheduled in an object's storage. The
   * deadline is a timer now (SessionLimits), so such an alarm has nothing left to do.
   */
  override async alarm(): Promise<void> {}

  /** The one place the phase changes; it owns the grace timer. */
  private enter(next: Phase): void {
    const previous = this.phase;
    if (previous === next) return;
    this.phase = next;
    if (previous === 'grace' && this.graceTimer) {
      clearTimeout(this.graceTimer);
      this.graceTimer = null;
    }
    if (next === 'grace') {
      const grace = readConfig(this.env).resumeGraceMs;
      this.graceTimer = setTimeout(() => {
        this.graceTimer = null;
        this.endLink(CloseCode.Normal, 'client did not come back');
      }, grace);
    }
    if (next === 'idle') this.clearSessionTimer();
  }

  /** The one teardown of the upstream side: the link closes every socket it holds; the phase returns to idle. */
  private endLink(code: number, reason: string, closedBy: 'relay' | 'upstream' = 'relay'): void {
    const link = this.link;
    this.link = null;
    this.setupFrame = null;
    this.turnOpen = false;
    this.enter('idle');
    if (link) {
      link.close(code, reason);
      this.logLinkEnd(closedBy, code, reason);
    }
    this.store.set({ lastSeq: this.feed?.lastSeq ?? 0, counters: this.counters }, 'now');
    if (!this.current) this.limits.release();
  }

  private onSetup(ws: WebSocket, attachment: Attachment, requested: JsonObject): void {
    if (attachment.setupSent)
      throw new RelayClose(CloseCode.PolicyViolation, 'setup may be sent only once per connection');
    const model = resolveModel(this.env, typeof requested.model === 'string' ? requested.model : undefined);
    let setup = requested;
    if (attachment.constraints) {
      const allowed = enforceSetupConstraints(requested, attachment.constraints, model.id);
      if (!allowed.ok) throw new RelayClose(CloseCode.PolicyViolation, allowed.message);
      setup = allowed.setup as JsonObject;
    }
    const clientHandle = this.handles.resolve(setup);
    if (attachment.resumeOnly && clientHandle === null) throw usesExhausted();
    if (this.link && model.id !== this.model) {
      throw new RelayClose(
        CloseCode.PolicyViolation,
        `the model cannot change within a conversation (it is ${this.model})`,
      );
    }
    this.armSessionLimit(ws, attachment);
    this.limits.setupReceived(ws);
    this.attachments.set(ws, { ...attachment, setupSent: true });
    logEvent('setup', { ...this.logContext(), model: model.id, rejoined: this.link !== null });
    this.clientWantsUpdates = setup.sessionResumption !== undefined;
    if (this.link) {
      // The conversation is still up (the client came back within the grace period): no new upstream. Its
      // setupComplete goes to this client now, or when it arrives.
      if (this.setupFrame)
        this.channel.deliverSetupComplete(ws, this.attachmentOf(ws), this.setupFrame, this.feed!, true);
      return;
    }
    this.model = model.id;
    this.store.set({ model: model.id });
    const { sessionResumption: _own, ...rest } = setup;
    const upstreamSetup: JsonObject = { ...rest, model: model.name };
    if (attachment.contextCompression && upstreamSetup.contextWindowCompression === undefined) {
      // Without compression audio sessions end at 15 minutes (§4.1).
      upstreamSetup.contextWindowCompression = { slidingWindow: {} };
    }
    this.feed ??= new ClientFeed(this.store.record.lastSeq);
    this.link = new UpstreamLink(
      this.env,
      {
        setup: upstreamSetup,
        handle: clientHandle ?? this.handles.stored(),
        history: () => this.history.seed(),
      },
      {
        message: (data, parsed, kind, first) => this.onServerMessage(data, parsed, kind, first),
        connected: () => {
          this.counters.upstreamConnections++;
          logEvent('upstream_open', { ...this.logContext(), connection: this.link?.connections ?? 0 });
        },
        sent: (bytes) => count(this.counters.upstreamOut, bytes),
        handle: (google) => this.handles.remember(google),
        notice: (event) => this.onLinkNotice(event),
        failed: (close) => this.onLinkFailed(close),
      },
    );
    this.enter('linking');
    this.linkStartedAt = Date.now();
    this.link.start();
  }

  /** `maxSessionSeconds` counts from the conversation's first setup under the token, across rejoins. */
  private armSessionLimit(ws: WebSocket, attachment: Attachment): void {
    const seconds = attachment.constraints?.maxSessionSeconds;
    if (!seconds) return;
    const now = Date.now();
    const started = this.store.tokenStart(attachment.tokenId ?? `client-${attachment.client}`, now);
    const left = started + seconds * 1000 - now;
    const expired = new RelayClose(
      CloseCode.SessionExpired,
      `session reached its ${seconds} s limit; get a new token`,
    );
    if (left <= 0) throw expired;
    this.clearSessionTimer();
    this.sessionTimer = setTimeout(() => {
      this.sessionTimer = null;
      this.failClient(ws, expired);
    }, left);
  }

  private clearSessionTimer(): void {
    if (this.sessionTimer) clearTimeout(this.sessionTimer);
    this.sessionTimer = null;
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
      if (
        Object.keys(body).length === 1 &&
        isObject(audio) &&
        typeof audio.mimeType === 'string' &&
        pcmRateOf(audio.mimeType) !== null
      ) {
        if (typeof audio.data !== 'string')
          throw new RelayClose(CloseCode.InvalidPayload, 'realtimeInput.audio.data must be a base64 string');
        this.counters.clientAudioFrames++;
        // The client's own frame may go upstream as it is when nothing in it needs rewriting.
        const asIs = body === message.body && !raw.includes('_') && Object.keys(audio).length === 2;
        return audioInput.pushBase64(audio.data, audio.mimeType, origin, asIs ? raw : null);
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
        this.usage.audioSent(batch.durationMs);
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
    kind: ServerMessageKind,
    first: boolean,
  ): void {
    this.store.record.lastActivityAt = Date.now();
    count(this.counters.upstreamIn, byteLength(data));
    countKind(this.counters.serverMessagesByKind, kind);
    this.store.touch('counters', 'lastActivityAt');
    if (parsed) this.usage.serverMessage(parsed);
    if (kind === 'setupComplete') {
      if (!first) return; // a resumed connection's setupComplete: the client already has one
      logEvent('upstream_ready', { ...this.logContext(), setupMs: Date.now() - this.linkStartedAt });
      this.setupFrame = data;
      if (this.phase === 'linking') this.enter('live');
      const client = this.client();
      if (client)
        this.channel.deliverSetupComplete(client, this.attachmentOf(client), data, this.feed!, false);
      return;
    }
    // The relay handles goAway itself; resumption updates reach only clients that asked for them, in relay
    // terms (the relay's handle, the client's message index).
    if (kind === 'goAway' || (kind === 'sessionResumptionUpdate' && !this.clientWantsUpdates)) return;
    if (kind === 'sessionResumptionUpdate' && parsed) [data, parsed] = this.inClientTerms(data, parsed);
    if (parsed) {
      this.history.recordServerMessage(parsed);
      this.trackTurn(parsed);
    }
    this.forward(data, parsed);
  }

  private forward(data: string | ArrayBuffer, parsed: JsonObject | null): void {
    this.feed!.record(data);
    const client = this.client();
    if (client) this.channel.send(client, this.attachmentOf(client), data, parsed);
  }

  private trackTurn(parsed: JsonObject): void {
    const content = parsed.serverContent;
    if (isObject(content)) {
      if (content.turnComplete === true || content.interrupted === true) {
        this.turnOpen = false;
        this.handles.turnEndedNow();
      } else if (content.modelTurn !== undefined || content.outputTranscription !== undefined)
        this.turnOpen = true;
    } else if (parsed.toolCall !== undefined) {
      this.turnOpen = true;
    }
  }

  private onLinkNotice(event: Record<string, string | number | boolean>): void {
    if (event.event === 'resumed' || event.event === 'session_restarted') this.counters.resumptions++;
    const { event: kind, ...details } = event;
    logEvent('resumption', { ...this.logContext(), kind: String(kind), ...details });
    // The link resumes from a handle taken before the turn in progress: the model will produce that output
    // again. The client is told the cut turn ended (`interrupted`, what a voice client already handles by
    // flushing playback) before anything of the new connection arrives, so it never gets the same output twice
    // unmarked. A goAway handover waits for a resumable point and cuts nothing, unless its time runs out.
    const cut =
      event.event === 'reconnecting' && (event.cut === true || (event.reason !== 'goAway' && this.turnOpen));
    if (cut || (event.event === 'session_restarted' && this.turnOpen)) {
      this.turnOpen = false;
      this.forward(INTERRUPTED, null);
    }
    const client = this.client();
    if (client) this.channel.event(client, this.attachmentOf(client), event);
  }

  private inClientTerms(data: string | ArrayBuffer, parsed: JsonObject): [string | ArrayBuffer, JsonObject] {
    const update = parsed.sessionResumptionUpdate;
    if (!isObject(update)) return [data, parsed];
    const rewritten: JsonObject = { ...update };
    if (typeof update.newHandle === 'string' && update.newHandle !== '') {
      rewritten.newHandle = this.handles.issue(update.newHandle);
    }
    if (update.lastConsumedClientMessageIndex !== undefined) {
      const client = this.client();
      const index = client && this.link ? this.link.lastConsumed(this.attachmentOf(client).client) : 0;
      // int64 travels as a JSON string (§2.1).
      rewritten.lastConsumedClientMessageIndex = String(index);
    }
    const message = { ...parsed, sessionResumptionUpdate: rewritten };
    const text = JSON.stringify(message);
    // The frame keeps its type.
    return [typeof data === 'string' ? text : (encoder.encode(text).buffer as ArrayBuffer), message];
  }

  private onLinkFailed(close: RelayClose): void {
    if (close.code === CloseCode.TryAgainLater && this.client()) this.counters.overloadCloses++;
    const client = this.current;
    this.current = null;
    if (client) {
      this.closeAudio(client);
      safeClose(client, close.code, close.reason);
    }
    this.endLink(close.code, close.reason, 'upstream');
  }

  /** Retires a replaced socket: it never hears from the conversation again, and its frames are dropped. */
  private retire(ws: WebSocket, code: number, reason: string): void {
    if (ws === this.current) {
      this.current = null;
      this.limits.clientGone();
    }
    this.closeAudio(ws);
    safeClose(ws, code, reason);
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
    this.retire(ws, close.code, close.reason);
    this.clearSessionTimer();
    this.endLink(CloseCode.Normal, 'client connection closed by the relay');
  }

  private requireLink(): UpstreamLink {
    if (!this.link) throw new RelayClose(CloseCode.BadGateway, 'the upstream session has ended; reconnect');
    return this.link;
  }

  /** What the relay knows of a client socket (set when it is accepted, updated at setup and when retired). */
  private attachmentOf(ws: WebSocket): Attachment {
    const attachment = this.attachments.get(ws);
    if (!attachment) throw new Error('a client socket without its attachment');
    return attachment;
  }

  /**
   * The client that may receive Live API messages: the current one, once it has sent its setup. A rejoining
   * client gets what arrived before its setup from the feed (by `last_seq`) right after its setupComplete.
   */
  private client(): WebSocket | null {
    const ws = this.current;
    return ws && this.attachmentOf(ws).setupSent ? ws : null;
  }

  /** One structured line per link: ids, model, codes, durations and counts, never content or credentials. */
  private logLinkEnd(closedBy: 'relay' | 'upstream', code: number, reason: string): void {
    const { clientIn, upstreamOut, upstreamIn, clientOut, resumptions } = this.counters;
    logEvent('upstream_closed', {
      ...this.logContext(),
      closedBy,
      code,
      reason,
      durationMs: Date.now() - this.linkStartedAt,
      model: this.model,
      clientInMessages: clientIn.messages,
      clientInBytes: clientIn.bytes,
      upstreamOutBytes: upstreamOut.bytes,
      upstreamInBytes: upstreamIn.bytes,
      clientOutBytes: clientOut.bytes,
      resumptions,
    });
  }

  private logContext(): Record<string, LogValue> {
    return {
      ...this.logIds,
      conversation: this.logIds.conversation ?? this.store.record.meta?.conversationId,
    };
  }
}
