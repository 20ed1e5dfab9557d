// One logical Live API session that outlives its connections. The link opens the upstream socket, gates client
// frames until setupComplete, keeps every frame no resumption handle covers yet, and on goAway or an unexpected
// close moves to a new connection with the latest handle, replaying what the old one had not made durable.
//
//   connecting ──setupComplete──▶ live ──goAway──▶ switching ──setupComplete──▶ live
//        ▲                          │                  │
//        └──────── reconnecting ◀───┴── drop/1011 ─────┘          (any) ──close()/failure──▶ closed
import { CloseCode, RelayClose, clientCloseForUpstream, safeClose } from '../live-api/close-codes';
import { UPSTREAM_SETUP_TIMEOUT_MS, upstreamUrl } from '../config';
import { isObject, serverMessageKind, type Json, type JsonObject } from '../live-api/protocol';
import {
  MAX_REPLAY_BYTES,
  RECONNECT_ATTEMPTS,
  RECONNECT_BUDGET_MS,
  ReplayBuffer,
  type ClientOrigin,
  type OutboundFrame,
  ConsumedIndex,
  backoffDelay,
  isResumableClose,
  parseDuration,
  readResumptionUpdate,
} from './resumption';
import { upstreamAuthorization } from './auth';
import { openUpstream, parseServerFrame } from './socket';

export type LinkState = 'connecting' | 'live' | 'switching' | 'reconnecting' | 'closed';

export interface LinkEvents {
  /** A server message, in order; `fresh` is false for a repeated setupComplete after a switch. */
  message(data: string | ArrayBuffer, parsed: JsonObject | null, kind: string, fresh: boolean): void;
  /** A new upstream connection was opened (its setup is being sent). */
  connected(): void;
  /** A frame actually sent upstream (for counters). */
  sent(bytes: number): void;
  /** A resumable handle to keep (with when it was issued). */
  handle(handle: string | null): void;
  /** Relay events: reconnecting / resumed / session_restarted. */
  notice(event: Record<string, string | number | boolean>): void;
  /** The link gave up; the client gets this close. */
  failed(close: RelayClose): void;
}

export interface LinkOptions {
  /** The setup to send, model already rewritten; sessionResumption is added by the link. */
  setup: JsonObject;
  /** Resume from this handle on the first connection (a stored one, or the client's own). */
  handle: string | null;
  /** Text history to seed a fresh session with when a handle is refused. */
  history: () => JsonObject | null;
}

/** Milliseconds kept in reserve before goAway's deadline, and the most the relay waits for a resumable point. */
const GOAWAY_MARGIN_MS = 5_000;
/** A connection live this long before it drops gets a fresh reconnect budget. */
const STABLE_CONNECTION_MS = 5_000;

export class UpstreamLink {
  state: LinkState = 'connecting';
  connections = 0;
  private socket: WebSocket | null = null;
  /** The connection a goAway switch is leaving; it keeps delivering output until the new one is ready. */
  private previous: WebSocket | null = null;
  /** Frames waiting for the current connection's setupComplete (or for the switch to finish). */
  private queue: OutboundFrame[] = [];
  private queuedBytes = 0;
  private readonly replay = new ReplayBuffer();
  private readonly consumedIndex = new ConsumedIndex();
  private handleValue: string | null;
  private resumable = true;
  private goAwayTimer: ReturnType<typeof setTimeout> | null = null;
  private switchWhenResumable = false;
  private setupTimer: ReturnType<typeof setTimeout> | null = null;
  private lostAt = 0;
  private generation = 0;

  constructor(
    private readonly env: Env,
    private readonly options: LinkOptions,
    private readonly events: LinkEvents,
  ) {
    this.handleValue = options.handle;
  }

  get handle(): string | null {
    return this.handleValue;
  }

  get unacknowledged(): { count: number; bytes: number } {
    return { count: this.replay.pendingCount, bytes: this.replay.pendingBytes };
  }

  start(): Promise<void> {
    return this.connect();
  }

  /** The last client message (client's own numbering) that the upstream state includes. */
  lastConsumed(client: number): number {
    return this.replay.lastConsumed(client);
  }

  /** Sends a client frame now if live, else queues it (order is kept either way). */
  send(frame: string, origin: ClientOrigin | null = null): void {
    if (this.state === 'closed') return;
    if (this.state !== 'live' || !this.socket) {
      this.queue.push({ frame, origin });
      this.queuedBytes += frame.length;
      if (this.queuedBytes > MAX_REPLAY_BYTES) {
        this.fail(
          new RelayClose(CloseCode.TryAgainLater, 'too much input queued while the upstream connects'),
        );
      }
      return;
    }
    this.transmit({ frame, origin });
  }

  close(code: number, reason: string): void {
    this.state = 'closed';
    this.clearTimers();
    for (const socket of [this.socket, this.previous]) if (socket) safeClose(socket, code, reason);
    this.socket = null;
    this.previous = null;
  }

  private transmit({ frame, origin }: OutboundFrame): void {
    this.socket!.send(frame);
    this.replay.push(frame, origin);
    this.events.sent(frame.length);
    // Backpressure: with transparent resumption the service acknowledges what it consumed; a growing unacknowledged
    // tail means it is not keeping up, so stop before memory does.
    if (this.replay.pendingBytes > MAX_REPLAY_BYTES) {
      this.fail(
        new RelayClose(CloseCode.TryAgainLater, 'upstream is not keeping up with the input; retry later'),
      );
    }
  }

  private async connect(): Promise<void> {
    const generation = ++this.generation;
    const handle = this.handleValue;
    const setup = {
      setup: {
        ...this.options.setup,
        sessionResumption: { ...(handle ? { handle } : {}), transparent: true },
      },
    };
    let socket: WebSocket;
    try {
      socket = await openUpstream(upstreamUrl(this.env), await upstreamAuthorization(this.env));
    } catch (err) {
      if (generation !== this.generation || this.state === 'closed') return;
      const close =
        err instanceof RelayClose ? err : new RelayClose(CloseCode.BadGateway, 'upstream unreachable');
      // The first connection fails straight to the client; a resumption keeps trying within its budget.
      if (this.state === 'connecting' || close.code === CloseCode.UpstreamAuthFailed) return this.fail(close);
      return this.lost(null, close.reason);
    }
    if (generation !== this.generation || this.state === 'closed') {
      safeClose(socket, CloseCode.Normal, 'superseded');
      return;
    }
    this.socket = socket;
    this.connections++;
    socket.addEventListener('message', (event) => this.onMessage(socket, event.data, handle !== null));
    socket.addEventListener('close', (event) => this.onClose(socket, event.code, event.reason, handle));
    socket.addEventListener('error', () => this.onClose(socket, 1006, 'upstream socket error', handle));
    const setupFrame = JSON.stringify(setup);
    socket.send(setupFrame);
    this.events.connected();
    this.events.sent(setupFrame.length);
    this.setupTimer = setTimeout(() => {
      if (this.socket === socket && !this.isLive())
        this.lost(socket, 'upstream did not complete setup in time');
    }, UPSTREAM_SETUP_TIMEOUT_MS);
  }

  private isLive(): boolean {
    return this.state === 'live';
  }

  private onMessage(socket: WebSocket, data: string | ArrayBuffer, resumed: boolean): void {
    const parsed = parseServerFrame(data);
    const kind = parsed ? serverMessageKind(parsed) : 'unparsed';
    if (socket === this.previous) {
      // The old connection of a goAway switch: its output still reaches the client, its state no longer counts.
      if (kind !== 'sessionResumptionUpdate' && kind !== 'goAway')
        this.events.message(data, parsed, kind, true);
      return;
    }
    if (socket !== this.socket) return;
    if (kind === 'setupComplete') return this.onSetupComplete(data, parsed, resumed);
    if (kind === 'sessionResumptionUpdate') this.onResumptionUpdate(parsed!.sessionResumptionUpdate);
    if (kind === 'goAway') this.onGoAway(parsed!.goAway);
    this.events.message(data, parsed, kind, true);
  }

  private onSetupComplete(data: string | ArrayBuffer, parsed: JsonObject | null, resumed: boolean): void {
    if (this.setupTimer) clearTimeout(this.setupTimer);
    this.setupTimer = null;
    const first = this.connections === 1;
    const wasSwitching = this.state === 'switching';
    this.state = 'live';
    this.liveSince = Date.now();
    if (this.previous) safeClose(this.previous, CloseCode.Normal, 'switched to a new connection');
    this.previous = null;
    this.events.message(data, parsed, 'setupComplete', first);
    if (!first) {
      this.events.notice({
        event: 'resumed',
        gapMs: this.lostAt ? Date.now() - this.lostAt : 0,
        handover: wasSwitching,
        resumedFromHandle: resumed,
      });
    }
    this.lostAt = 0;
    const queued = this.queue;
    this.queue = [];
    this.queuedBytes = 0;
    for (const frame of queued) this.transmit(frame);
  }

  private onResumptionUpdate(body: Json | undefined): void {
    const update = readResumptionUpdate(body);
    if (!update) return;
    this.resumable = update.resumable;
    if (!update.handle) return;
    this.handleValue = update.handle;
    this.events.handle(update.handle);
    if (update.lastConsumed !== null) {
      const ack = this.consumedIndex.acknowledged(update.lastConsumed, this.replay.sentCount);
      if (ack.recalibrated) {
        console.warn(
          JSON.stringify({
            event: 'resumption_index_beyond_sent',
            lastConsumed: update.lastConsumed,
            sent: this.replay.sentCount,
          }),
        );
      }
      // Only a handle's own index makes frames durable: the state behind it is what a new connection resumes.
      this.replay.acknowledge(ack.count);
    }
    if (this.switchWhenResumable) this.beginSwitch();
  }

  private onGoAway(body: Json | undefined): void {
    const timeLeft = parseDuration(isObject(body) ? body.timeLeft : undefined) ?? 10_000;
    const margin = Math.min(GOAWAY_MARGIN_MS, timeLeft / 2);
    if (this.resumable) return this.beginSwitch();
    // The model is generating: a handle now would lose data (§5.2). Wait for a resumable point, within limits.
    this.switchWhenResumable = true;
    this.goAwayTimer = setTimeout(() => this.beginSwitch(), Math.max(0, timeLeft - margin));
  }

  /** Opens the next connection while the old one still runs; client frames queue until it is ready. */
  private beginSwitch(): void {
    if (this.state !== 'live') return;
    this.switchWhenResumable = false;
    if (this.goAwayTimer) clearTimeout(this.goAwayTimer);
    this.goAwayTimer = null;
    this.state = 'switching';
    this.lostAt = Date.now();
    this.previous = this.socket;
    this.socket = null;
    this.requeueUnacknowledged();
    this.events.notice({ event: 'reconnecting', reason: 'goAway' });
    void this.connect();
  }

  private requeueUnacknowledged(): void {
    const replay = this.replay.takeForReplay();
    this.queue = [...replay, ...this.queue];
    this.queuedBytes = this.queue.reduce((n, f) => n + f.frame.length, 0);
  }

  private onClose(socket: WebSocket, code: number, reason: string, usedHandle: string | null): void {
    if (this.state === 'closed') return;
    if (socket === this.previous) {
      // The old connection ran out its goAway time before the new one was ready; the switch goes on.
      this.previous = null;
      return;
    }
    if (socket !== this.socket) return;
    if (this.state === 'switching') {
      // The service refused a second connection for the session: fall back to close-then-resume.
      if (this.previous) safeClose(this.previous, CloseCode.Normal, 'resuming on a new connection');
      this.previous = null;
      return this.lost(socket, reason);
    }
    // A handle the service refuses (1007 before setupComplete) cannot be resumed: start a fresh session.
    if (usedHandle && !this.isLive() && (code === 1007 || code === 1008)) return this.restartFresh(reason);
    if (!isResumableClose(code)) {
      this.socket = null;
      const close = clientCloseForUpstream(code, reason);
      return this.fail(new RelayClose(close.code as CloseCode, close.reason));
    }
    this.lost(socket, reason);
  }

  /** The current connection is gone: reconnect with the latest handle, with backoff, within a budget. */
  private lost(socket: WebSocket | null, reason: string): void {
    if (socket) {
      if (socket === this.socket) this.socket = null;
      safeClose(socket, CloseCode.Normal, 'reconnecting');
    }
    if (this.state !== 'reconnecting') {
      if (this.state !== 'switching') this.lostAt = Date.now();
      // A connection that died soon after it came up does not earn a fresh reconnect budget.
      if (this.budgetStart === 0 || Date.now() - this.liveSince >= STABLE_CONNECTION_MS) {
        this.attempt = 0;
        this.budgetStart = this.lostAt;
      }
      this.state = 'reconnecting';
      this.requeueUnacknowledged();
      this.events.notice({ event: 'reconnecting', reason: reason.slice(0, 80) });
    }
    this.retryLater(reason);
  }

  private attempt = 0;
  private budgetStart = 0;
  private liveSince = 0;

  private retryLater(reason: string): void {
    if (this.attempt >= RECONNECT_ATTEMPTS || Date.now() - this.budgetStart > RECONNECT_BUDGET_MS) {
      return this.fail(
        new RelayClose(
          CloseCode.ResumptionFailed,
          `upstream lost and not resumed after ${this.attempt} attempts: ${reason}`,
        ),
      );
    }
    const delay = backoffDelay(this.attempt++);
    console.warn(
      JSON.stringify({
        event: 'upstream_reconnecting',
        attempt: this.attempt,
        delayMs: delay,
        reason: reason.slice(0, 120),
      }),
    );
    this.setupTimer = setTimeout(() => void this.connect(), delay);
  }

  private restartFresh(reason: string): void {
    console.warn(JSON.stringify({ event: 'resumption_handle_refused', reason }));
    this.handleValue = null;
    this.events.handle(null);
    this.events.notice({
      event: 'session_restarted',
      reason: 'resumption handle refused; history re-seeded from transcripts',
    });
    const history = this.options.history();
    if (history) this.queue.unshift({ frame: JSON.stringify(history), origin: null });
    this.state = 'reconnecting';
    void this.connect();
  }

  private fail(close: RelayClose): void {
    if (this.state === 'closed') return;
    this.close(CloseCode.Normal, 'relay closing');
    this.events.failed(close);
  }

  private clearTimers(): void {
    for (const timer of [this.goAwayTimer, this.setupTimer]) if (timer) clearTimeout(timer);
    this.goAwayTimer = null;
    this.setupTimer = null;
  }
}
