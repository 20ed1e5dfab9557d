// One client WebSocket: setup, message consumption and counting, resumption updates, lifetime and injected
// faults. Phases: awaitingSetup → settingUp (setupComplete pending) → live → closed.
import { Conversation, type ConversationHost } from './conversation';
import { durationString, encodeServerMessage, serverMessageType, type ServerMessage } from './frames';
import {
  CLOSE,
  ProtocolError,
  parseClientFrame,
  describeMessage,
  truncateReason,
  type ApiVersion,
  type ClientMessage,
  type CloseSpec,
} from './protocol';
import { messageFaults, scheduleFaultTimers, type FaultHooks } from './faults';
import { DEFAULTS, type FaultSpec } from './scenarios';
import { parseSetup, setupRouting, type SetupConfig } from './setup';
import type {
  ConnectionRecord,
  ConsumedEntry,
  EmulatorState,
  Scenario,
  Session,
  SessionOwner,
} from './state';

export interface ConnectionDefaults {
  lifetimeMs: number;
  chunkDelayMs: number;
}

type Phase = 'awaitingSetup' | 'settingUp' | 'live' | 'closed';
type NonSetup = Exclude<ClientMessage, { kind: 'setup' }>;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

export class LiveConnection implements ConversationHost, SessionOwner {
  private phase: Phase = 'awaitingSetup';
  private lastIndex = -1;
  private messagesAfterSetup = 0;
  private early: Array<{ index: number; message: NonSetup; at: number }> = [];
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private readonly sessionId = crypto.randomUUID();
  private scenario: Scenario | undefined;
  private record: ConnectionRecord | undefined;
  private fault: FaultSpec = {};
  private conversation: Conversation | undefined;
  private goAwaySent = false;
  private sinceUpdate = 0;
  private updateTimer: ReturnType<typeof setTimeout> | undefined;
  private ackedIndex = 0;
  private session_: Session | undefined;
  private config_: SetupConfig | undefined;

  constructor(
    private readonly ws: WebSocket,
    private readonly hub: EmulatorState,
    private readonly version: ApiVersion,
    private readonly defaults: ConnectionDefaults,
  ) {
    ws.accept();
    // Binary client frames as ArrayBuffer (the compatibility date's default is Blob, which can only be read
    // asynchronously and would break message order).
    ws.binaryType = 'arraybuffer';
    // A WebSocket message is text or binary; workerd types MessageEvent.data as `any`.
    ws.addEventListener('message', (event) => this.receive(event.data as string | ArrayBuffer | Blob));
    ws.addEventListener('close', (event) => this.peerClosed(event.code, event.reason));
    ws.addEventListener('error', () => this.peerClosed(1006, ''));
  }

  get session(): Session {
    if (!this.session_) throw new Error('no session before setup');
    return this.session_;
  }

  get config(): SetupConfig {
    if (!this.config_) throw new Error('no config before setup');
    return this.config_;
  }

  get chunkDelayMs(): number {
    return this.fault.chunkDelayMs ?? this.scenario?.spec.chunkDelayMs ?? this.defaults.chunkDelayMs;
  }

  get silenceMs(): number {
    return this.scenario?.spec.silenceMs ?? this.config_?.silenceDurationMs ?? DEFAULTS.silenceMs;
  }

  private get isCurrent(): boolean {
    return this.session_?.current === this;
  }

  send(message: ServerMessage): void {
    if (this.phase === 'closed') return;
    const text = encodeServerMessage(message);
    // Binary frames of UTF-8 JSON unless the scenario asks for text (protocol reference §0.3).
    this.ws.send(this.scenario?.spec.textFrames ? text : new TextEncoder().encode(text));
    const counters = this.scenario?.serverMessagesByType;
    if (counters) {
      const type = serverMessageType(message);
      counters[type] = (counters[type] ?? 0) + 1;
    }
  }

  private receive(data: string | ArrayBuffer | Blob): void {
    if (this.phase === 'closed') return;
    try {
      if (this.record) this.record.clientMessages++;
      if (data instanceof Blob) throw new Error('binary frame arrived as a Blob');
      // Receipt time (workerd's clock stands still within an event): what the benchmarks measure latency to.
      const at = Date.now();
      const message = parseClientFrame(typeof data === 'string' ? data : utf8.decode(data));
      const index = ++this.lastIndex;
      if (this.phase === 'awaitingSetup') {
        if (message.kind !== 'setup') throw new ProtocolError(CLOSE.invalidArgument);
        this.setup(message.setup);
      } else if (message.kind === 'setup') {
        throw new ProtocolError(CLOSE.invalidArgument);
      } else if (this.phase === 'settingUp') {
        // Messages sent before setupComplete are processed in order (recordings README, observation 10).
        this.early.push({ index, message, at });
      } else {
        this.consume(index, message, at);
      }
    } catch (error) {
      this.fail(error);
    }
  }

  private setup(raw: Record<string, unknown>): void {
    const routing = setupRouting(raw);
    const resumed = routing.handle !== undefined ? this.hub.lookupHandle(routing.handle) : undefined;
    const scenario =
      resumed?.session.scenario ??
      (routing.scenarioId !== undefined
        ? this.hub.scenarioFor(routing.scenarioId)
        : this.hub.anonymousScenario());
    this.scenario = scenario;
    const record = scenario.addConnection(this.sessionId, routing.handle !== undefined);
    this.record = record;
    record.clientMessages = 1;
    this.fault = scenario.faultFor(record.ordinal);
    scenario.messagesByType.setup = (scenario.messagesByType.setup ?? 0) + 1;
    this.hub.registerConnection(this.sessionId, scenario);

    this.config_ = parseSetup(raw, this.version);
    if (routing.handle !== undefined) {
      if (!resumed || resumed.expired || this.fault.rejectHandle)
        throw new ProtocolError(CLOSE.invalidArgument);
      if (this.fault.refuseConcurrentResume && resumed.session.current)
        throw new ProtocolError(CLOSE.unavailable);
    }
    const session = resumed?.session ?? this.hub.newSession(scenario);
    if (resumed) {
      session.current?.supersede();
      session.restore(resumed.snapshot);
    }
    session.current = this;
    scenario.latestSession = session;
    this.session_ = session;
    this.hub.registerConnection(this.sessionId, scenario, session);
    this.conversation = new Conversation(this);
    record.lastConsumedIndex = 0;
    session.consume({ conn: record.ordinal, index: 0, type: 'setup', at: Date.now() });

    this.phase = 'settingUp';
    scheduleFaultTimers(this.fault, this.defaults.lifetimeMs, this.faultHooks);
    const delay = this.fault.setupCompleteDelayMs ?? 0;
    if (delay > 0) this.after(delay, () => this.completeSetup());
    else this.completeSetup();
  }

  private completeSetup(): void {
    if (this.phase !== 'settingUp') return;
    this.phase = 'live';
    this.send({ setupComplete: { sessionId: this.sessionId } });
    this.announce();
    for (const { index, message, at } of this.early.splice(0)) {
      if (this.phase !== 'live') break;
      this.consume(index, message, at);
    }
  }

  private consume(index: number, message: NonSetup, at: number): void {
    const scenario = this.scenario!;
    const record = this.record!;
    const { types, text, audio } = describeMessage(message);
    for (const type of types) scenario.messagesByType[type] = (scenario.messagesByType[type] ?? 0) + 1;
    record.lastConsumedIndex = index;
    // A superseded connection (its session resumed elsewhere) is counted but no longer changes the session.
    if (this.isCurrent) {
      const entry: ConsumedEntry = { conn: record.ordinal, index, type: types[0] ?? message.kind, at };
      if (audio) entry.bytes = audio.pcm.length;
      if (text !== undefined) entry.text = text;
      this.session.consume(entry, audio);
      this.conversation?.handle(message);
    }
    this.messagesAfterSetup++;
    messageFaults(this.fault, this.messagesAfterSetup, this.faultHooks);
    if (this.phase === 'closed') return;
    this.sinceUpdate++;
    this.maybeAnnounce();
  }

  private readonly faultHooks: FaultHooks = {
    after: (ms, fn) => void this.after(ms, fn),
    goAway: (timeLeftMs) => this.goAway(timeLeftMs),
    close: (close) => this.closeWith(close),
  };

  busyChanged(): void {
    this.announce();
  }

  /** Periodic updates while audio streams in: every N consumed messages, or after a quiet interval. */
  private maybeAnnounce(): void {
    const spec = this.scenario!.spec;
    if (this.sinceUpdate >= (spec.resumptionUpdateEveryMessages ?? DEFAULTS.resumptionUpdateEveryMessages)) {
      this.announce();
    } else if (!this.updateTimer && this.config_?.resumption) {
      this.updateTimer = this.after(spec.resumptionUpdateEveryMs ?? DEFAULTS.resumptionUpdateEveryMs, () => {
        this.updateTimer = undefined;
        if (this.sinceUpdate > 0) this.announce();
      });
    }
  }

  /**
   * A sessionResumptionUpdate for the current state (§5.2): a fresh handle when idle; `resumable: false`
   * with an empty handle while generating or awaiting a toolResponse. The index (a string, setup = 0) only
   * advances with a handle, so a client that prunes at it never drops a message no handle covers.
   */
  private announce(): void {
    const resumption = this.config_?.resumption;
    if (!resumption || this.phase !== 'live' || !this.isCurrent || !this.conversation) return;
    this.sinceUpdate = 0;
    const busy = this.conversation.busy;
    let newHandle = '';
    if (!busy) {
      newHandle = this.hub.issueHandle(this.session);
      this.ackedIndex = this.record!.lastConsumedIndex;
    }
    const update: { newHandle: string; resumable: boolean; lastConsumedClientMessageIndex?: string } = {
      newHandle,
      resumable: !busy,
    };
    if (resumption.transparent) update.lastConsumedClientMessageIndex = String(this.ackedIndex);
    this.send({ sessionResumptionUpdate: update });
  }

  private goAway(timeLeftMs: number): void {
    if (this.goAwaySent || this.phase === 'closed') return;
    this.goAwaySent = true;
    this.send({ goAway: { timeLeft: durationString(timeLeftMs) } });
    this.after(timeLeftMs, () => this.closeWith(CLOSE.connectionLifetime));
  }

  /** Another connection resumed this session: this one stays open but speaks for it no more. */
  supersede(): void {
    this.conversation?.stop();
    if (this.updateTimer) this.clearTimer(this.updateTimer);
    this.updateTimer = undefined;
  }

  private clearTimer(timer: ReturnType<typeof setTimeout>): void {
    clearTimeout(timer);
    this.timers.delete(timer);
  }

  private after(ms: number, fn: () => void): ReturnType<typeof setTimeout> {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      try {
        fn();
      } catch (error) {
        this.fail(error);
      }
    }, ms);
    this.timers.add(timer);
    return timer;
  }

  private fail(error: unknown): void {
    if (error instanceof ProtocolError) return this.closeWith(error.close);
    console.error('emulator: unexpected error', error instanceof Error ? error.stack : String(error));
    this.closeWith(CLOSE.internal);
  }

  private shutDown(code: number, reason: string): void {
    this.phase = 'closed';
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.conversation?.stop();
    this.early = [];
    if (this.record) Object.assign(this.record, { open: false, closeCode: code, closeReason: reason });
    if (this.session_?.current === this) this.session_.current = undefined;
  }

  private closeWith(close: CloseSpec): void {
    if (this.phase === 'closed') return;
    const reason = truncateReason(close.reason);
    this.shutDown(close.code, reason);
    try {
      this.ws.close(close.code, reason);
    } catch (error) {
      console.warn('emulator: close failed', error instanceof Error ? error.message : String(error));
    }
  }

  private peerClosed(code: number, reason: string): void {
    if (this.phase === 'closed') return;
    this.shutDown(code, reason);
    try {
      this.ws.close(1000, '');
    } catch {
      // Already closed from the other side.
    }
  }
}
