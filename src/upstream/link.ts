// One logical Live API session that outlives its connections. The link opens upstream sockets, holds every client
// frame no resumption handle covers yet (the Outbox), and on goAway or an unexpected close moves to a new
// connection with the latest handle, sending again what the old one had not made durable.
//
//   connecting ──setupComplete──▶ live ──goAway──▶ switching ──setupComplete──▶ live
//       │  ▲                        │                 │
//       │  └─ handle refused        └── drop/1011 ──▶ reconnecting ──setupComplete──▶ live
//       │     (fresh session)                          │  (backoff, one budget)
//       └── refused/timeout ──▶ closed ◀── budget spent / non-resumable close / close()
//
// Every socket is a Connection, opened by `open` and closed by `dispose` only, so a refused, superseded or
// replaced socket is never left open and never mistaken for the current one (events are matched by identity).
import { CloseCode, RelayClose, clientCloseForUpstream, safeClose } from '../live-api/close-codes';
import { readConfig, upstreamUrl } from '../config';
import {
  isObject,
  serverMessageKind,
  type Json,
  type JsonObject,
  type ServerMessageKind,
} from '../live-api/protocol';
import { RetryBudget } from '../util/retry';
import {
  ConsumedIndex,
  MAX_OUTBOX_BYTES,
  Outbox,
  RECONNECT_POLICY,
  isResumableClose,
  parseDuration,
  readResumptionUpdate,
  type ClientOrigin,
} from './resumption';
import { upstreamAuthorization } from './auth';
import { openUpstream, parseServerFrame } from './socket';

export type LinkState = 'connecting' | 'live' | 'switching' | 'reconnecting' | 'closed';

export interface LinkEvents {
  /**
   * A server message, in order. `setupComplete` arrives once per connection: `first` is true only for the first
   * connection of the link that completed setup (the one a client must see).
   */
  message(
    data: string | ArrayBuffer,
    parsed: JsonObject | null,
    kind: ServerMessageKind,
    first: boolean,
  ): void;
  /** A new upstream connection was opened (its setup is being sent). */
  connected(): void;
  /** A frame actually sent upstream (for counters). */
  sent(bytes: number): void;
  /** The latest resumable handle (null when a refused handle was dropped). */
  handle(handle: string | null): void;
  /** Relay events: reconnecting / resumed / session_restarted. */
  notice(event: Record<string, string | number | boolean>): void;
  /** The link gave up; the client gets this close. */
  failed(close: RelayClose): void;
}

export interface LinkOptions {
  /** The setup to send, model already rewritten; sessionResumption is added by the link. */
  setup: JsonObject;
  /** Resume from this handle on the first connection (the conversation's stored one, or one the client had). */
  handle: string | null;
  /** Text history to seed a fresh session with when a handle is refused. */
  history: () => JsonObject | null;
}

/** Milliseconds kept in reserve before goAway's deadline, and the most the relay waits for a resumable point. */
const GOAWAY_MARGIN_MS = 5_000;
/** A connection live this long before it drops gets a fresh reconnect budget. */
const STABLE_CONNECTION_MS = 5_000;

class Connection {
  setupComplete = false;
  closed = false;
  readonly openedAt = Date.now();
  setupTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    readonly socket: WebSocket,
    /** The handle this connection resumed (null: a new session). */
    readonly handle: string | null,
  ) {}
}

export class UpstreamLink {
  state: LinkState = 'connecting';
  connections = 0;
  private current: Connection | null = null;
  /** The connection a goAway switch is leaving; it keeps delivering output until the new one is ready. */
  private previous: Connection | null = null;
  private readonly outbox = new Outbox();
  private readonly consumedIndex = new ConsumedIndex();
  private readonly budget = new RetryBudget(RECONNECT_POLICY);
  private handleValue: string | null;
  /** False while the model generates or awaits a tool response: no handle now would capture that (§5.2). */
  private resumable = true;
  private goAwayTimer: ReturnType<typeof setTimeout> | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private switchWhenResumable = false;
  private lostAt = 0;
  private liveSince = 0;
  /** Whether any connection of this link completed setup (the client has its setupComplete). */
  private everLive = false;
  /** Bumped by every open and by close(): an open that resolves late for an older generation is discarded. */
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

  /** False while the model is generating (a resume now would start from before its output). */
  get atResumablePoint(): boolean {
    return this.resumable;
  }

  get unacknowledged(): { count: number; bytes: number } {
    return { count: this.outbox.pendingCount, bytes: this.outbox.pendingBytes };
  }

  /** The last client message (the client's own numbering) that the upstream state includes. */
  lastConsumed(client: number): number {
    return this.outbox.lastConsumed(client);
  }

  start(): void {
    void this.open(this.handleValue);
  }

  /** Enqueues a client frame; it goes out now when a connection is ready, else when one is (order kept). */
  send(frame: string, origin: ClientOrigin | null = null): void {
    if (this.state === 'closed') return;
    this.outbox.enqueue(frame, origin);
    if (this.outbox.pendingBytes > MAX_OUTBOX_BYTES) {
      return this.fail(
        new RelayClose(
          CloseCode.TryAgainLater,
          this.state === 'live'
            ? 'upstream is not keeping up with the input; retry later'
            : 'too much input queued while the upstream connects',
        ),
      );
    }
    if (this.state === 'live') this.flushOutbox();
  }

  /** Ends the link: every socket it holds is closed, every timer cleared, and no event fires after this. */
  close(code: number, reason: string): void {
    if (this.state === 'closed') return;
    this.setState('closed');
    this.generation++;
    for (const timer of [this.goAwayTimer, this.retryTimer]) if (timer) clearTimeout(timer);
    this.goAwayTimer = null;
    this.retryTimer = null;
    this.dispose(this.current, code, reason);
    this.dispose(this.previous, code, reason);
    this.current = null;
    this.previous = null;
  }

  private setState(next: LinkState): void {
    this.state = next;
    if (next === 'live') {
      this.everLive = true;
      this.liveSince = Date.now();
    }
  }

  private flushOutbox(): void {
    if (this.current) this.outbox.transmit(this.sendFrame);
  }

  /** Made once, not per flush (a flush runs for every client frame). Only called while a socket is current. */
  private readonly sendFrame = (frame: string): void => {
    this.current!.socket.send(frame);
    this.events.sent(frame.length);
  };

  /** The one way a connection is opened. */
  private async open(handle: string | null): Promise<void> {
    const generation = ++this.generation;
    let socket: WebSocket;
    try {
      socket = await openUpstream(upstreamUrl(this.env), await upstreamAuthorization(this.env));
    } catch (err) {
      if (generation !== this.generation) return;
      const close =
        err instanceof RelayClose ? err : new RelayClose(CloseCode.BadGateway, 'upstream unreachable');
      // Before the client has its setupComplete, or without credentials, there is nothing to resume.
      if (!this.everLive || close.code === CloseCode.UpstreamAuthFailed) return this.fail(close);
      return this.lost(null, close.reason);
    }
    if (generation !== this.generation) {
      safeClose(socket, CloseCode.Normal, 'superseded');
      return;
    }
    const connection = new Connection(socket, handle);
    this.current = connection;
    this.connections++;
    // workerd types event.data as any; with binaryType 'arraybuffer' (socket.ts) it is a string or bytes.
    socket.addEventListener('message', (event) =>
      this.onMessage(connection, event.data as string | ArrayBuffer),
    );
    socket.addEventListener('close', (event) => this.onClose(connection, event.code, event.reason));
    socket.addEventListener('error', () => this.onClose(connection, 1006, 'upstream socket error'));
    const setup = JSON.stringify({
      setup: {
        ...this.options.setup,
        sessionResumption: { ...(handle ? { handle } : {}), transparent: true },
      },
    });
    socket.send(setup);
    this.events.connected();
    this.events.sent(setup.length);
    connection.setupTimer = setTimeout(
      () => this.onSetupTimeout(connection),
      readConfig(this.env).upstreamSetupTimeoutMs,
    );
  }

  /** The one way a connection is closed; its later events are ignored. */
  private dispose(connection: Connection | null, code: number, reason: string): void {
    if (!connection || connection.closed) return;
    connection.closed = true;
    if (connection.setupTimer) clearTimeout(connection.setupTimer);
    connection.setupTimer = null;
    safeClose(connection.socket, code, reason);
  }

  private onSetupTimeout(connection: Connection): void {
    if (connection !== this.current || connection.setupComplete || this.state === 'closed') return;
    const reason = `upstream did not complete setup within ${readConfig(this.env).upstreamSetupTimeoutMs} ms`;
    if (!this.everLive) return this.fail(new RelayClose(CloseCode.BadGateway, reason));
    this.lost(connection, reason);
  }

  private onMessage(connection: Connection, data: string | ArrayBuffer): void {
    if (connection.closed) return;
    const parsed = parseServerFrame(data);
    const kind: ServerMessageKind = parsed ? serverMessageKind(parsed) : 'unparsed';
    if (connection === this.previous) {
      // The old connection of a goAway switch: its output still reaches the client, its state no longer counts.
      if (kind !== 'sessionResumptionUpdate' && kind !== 'goAway')
        this.events.message(data, parsed, kind, false);
      return;
    }
    if (connection !== this.current) return;
    if (kind === 'setupComplete') return this.onSetupComplete(connection, data, parsed);
    if (kind === 'sessionResumptionUpdate') this.onResumptionUpdate(parsed!.sessionResumptionUpdate);
    if (kind === 'goAway') this.onGoAway(parsed!.goAway);
    this.events.message(data, parsed, kind, false);
  }

  private onSetupComplete(
    connection: Connection,
    data: string | ArrayBuffer,
    parsed: JsonObject | null,
  ): void {
    if (connection.setupComplete) return;
    connection.setupComplete = true;
    if (connection.setupTimer) clearTimeout(connection.setupTimer);
    connection.setupTimer = null;
    const first = !this.everLive;
    const handover = this.state === 'switching';
    this.dispose(this.previous, CloseCode.Normal, 'switched to a new connection');
    this.previous = null;
    this.setState('live');
    this.events.message(data, parsed, 'setupComplete', first);
    if (!first) {
      this.events.notice({
        event: 'resumed',
        gapMs: this.lostAt ? Date.now() - this.lostAt : 0,
        handover,
        resumedFromHandle: connection.handle !== null,
      });
    }
    this.lostAt = 0;
    this.flushOutbox();
  }

  private onResumptionUpdate(body: Json | undefined): void {
    const update = readResumptionUpdate(body);
    if (!update) return;
    this.resumable = update.resumable;
    if (!update.handle) return;
    this.handleValue = update.handle;
    this.events.handle(update.handle);
    if (update.lastConsumed !== null) {
      const ack = this.consumedIndex.acknowledged(update.lastConsumed, this.outbox.sentCount);
      if (ack.recalibrated) {
        console.warn(
          JSON.stringify({
            event: 'resumption_index_beyond_sent',
            lastConsumed: update.lastConsumed,
            sent: this.outbox.sentCount,
          }),
        );
      }
      // Only a handle's own index makes frames durable: the state behind it is what a new connection resumes.
      this.outbox.acknowledge(ack.count);
    }
    if (this.switchWhenResumable) this.beginSwitch();
  }

  private onGoAway(body: Json | undefined): void {
    const timeLeft = parseDuration(isObject(body) ? body.timeLeft : undefined) ?? 10_000;
    const margin = Math.min(GOAWAY_MARGIN_MS, timeLeft / 2);
    if (this.resumable) return this.beginSwitch();
    // The model is generating: a handle now would lose data (§5.2). Wait for a resumable point, within limits.
    this.switchWhenResumable = true;
    if (this.goAwayTimer) clearTimeout(this.goAwayTimer);
    this.goAwayTimer = setTimeout(() => this.beginSwitch(), Math.max(0, timeLeft - margin));
  }

  /** Opens the next connection while the old one still runs; client frames wait in the outbox until it is ready. */
  private beginSwitch(): void {
    if (this.state !== 'live') return;
    this.switchWhenResumable = false;
    if (this.goAwayTimer) clearTimeout(this.goAwayTimer);
    this.goAwayTimer = null;
    this.setState('switching');
    this.lostAt = Date.now();
    this.previous = this.current;
    this.current = null;
    this.outbox.rewind();
    this.events.notice({ event: 'reconnecting', reason: 'goAway', cut: !this.resumable });
    void this.open(this.handleValue);
  }

  private onClose(connection: Connection, code: number, reason: string): void {
    if (connection.closed || this.state === 'closed') return;
    if (connection === this.previous) {
      // The old connection ran out its goAway time before the new one was ready; the switch goes on.
      this.dispose(connection, CloseCode.Normal, 'closed');
      this.previous = null;
      return;
    }
    if (connection !== this.current) return this.dispose(connection, CloseCode.Normal, 'closed');
    this.dispose(connection, CloseCode.Normal, 'closed');
    // A handle the service refuses (1007/1008 before setupComplete) cannot be resumed: start a fresh session.
    if (connection.handle && !connection.setupComplete && (code === 1007 || code === 1008))
      return this.restartFresh(reason);
    if (!this.everLive && !connection.setupComplete) {
      // The first setup was refused or cut: the client's setup is at fault, or Google is; nothing to resume.
      const close = isResumableClose(code)
        ? { code: CloseCode.BadGateway, reason: `upstream closed before setup completed (${code})` }
        : clientCloseForUpstream(code, reason);
      return this.fail(new RelayClose(close.code as CloseCode, close.reason));
    }
    if (!isResumableClose(code)) {
      const close = clientCloseForUpstream(code, reason);
      return this.fail(new RelayClose(close.code as CloseCode, close.reason));
    }
    this.lost(connection, reason);
  }

  /** The current connection is gone: reconnect with the latest handle, with backoff, within one budget. */
  private lost(connection: Connection | null, reason: string): void {
    if (connection) {
      this.dispose(connection, CloseCode.Normal, 'reconnecting');
      if (connection === this.current) this.current = null;
    }
    if (this.state !== 'reconnecting') {
      // A switch that failed falls back to close-then-resume: the old connection goes too.
      this.dispose(this.previous, CloseCode.Normal, 'resuming on a new connection');
      this.previous = null;
      const cut = !this.resumable;
      if (this.state !== 'switching') this.lostAt = Date.now();
      // A connection that died soon after it came up does not earn a fresh reconnect budget.
      if (this.budget.attempts === 0 || Date.now() - this.liveSince >= STABLE_CONNECTION_MS)
        this.budget.restart();
      this.setState('reconnecting');
      this.outbox.rewind();
      this.events.notice({ event: 'reconnecting', reason: reason.slice(0, 80), cut });
    }
    const delay = this.budget.next();
    if (delay === null) {
      return this.fail(
        new RelayClose(
          CloseCode.ResumptionFailed,
          `upstream lost and not resumed after ${this.budget.attempts} attempts: ${reason}`,
        ),
      );
    }
    console.warn(
      JSON.stringify({
        event: 'upstream_reconnecting',
        attempt: this.budget.attempts,
        delayMs: delay,
        reason: reason.slice(0, 120),
      }),
    );
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      // What was generated since the last handle is gone with the connection; the new one starts resumable.
      this.resumable = true;
      void this.open(this.handleValue);
    }, delay);
  }

  /** The handle was refused: a fresh session, seeded with the conversation's text, with what is unacknowledged. */
  private restartFresh(reason: string): void {
    console.warn(JSON.stringify({ event: 'resumption_handle_refused', reason: reason.slice(0, 120) }));
    this.dispose(this.previous, CloseCode.Normal, 'restarting the session');
    this.previous = null;
    this.handleValue = null;
    this.resumable = true;
    this.events.handle(null);
    this.events.notice({
      event: 'session_restarted',
      reason: 'resumption handle refused; history re-seeded from transcripts',
    });
    const history = this.options.history();
    if (history) this.outbox.prepend(JSON.stringify(history));
    else this.outbox.rewind();
    this.lostAt ||= Date.now();
    if (this.everLive) this.setState('reconnecting');
    void this.open(null);
  }

  private fail(close: RelayClose): void {
    if (this.state === 'closed') return;
    this.close(CloseCode.Normal, 'relay closing');
    this.events.failed(close);
  }
}
