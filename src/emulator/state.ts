// Everything the hub remembers: scenarios (faults + counters), sessions (a conversation's state across
// resumed connections), resumption handles (snapshots of a session), and the reports built from them.
import { SERVER_MESSAGE_TYPES } from './frames';
import type { HistoryEntry } from './model';
import type { FaultSpec, ScenarioSpec } from './scenarios';
import { Vad, type VadState } from './vad';

const CLIENT_MESSAGE_TYPES: readonly string[] = [
  'setup',
  'clientContent',
  'realtimeInput.audio',
  'realtimeInput.text',
  'realtimeInput.video',
  'realtimeInput.activityStart',
  'realtimeInput.activityEnd',
  'realtimeInput.audioStreamEnd',
  'toolResponse',
];

/** Scenarios kept in memory; beyond this the oldest ones without open connections are dropped (see evict). */
const MAX_SCENARIOS = 500;
/** Handles remembered (the newest): a full map forgets its oldest tenth at once (see sweepHandles). */
const MAX_HANDLES = 20_000;
/** Input audio kept per session for GET …/audio (counters keep counting past it). */
const MAX_STORED_AUDIO_BYTES = 32 * 1024 * 1024;
const MAX_CONSUMED_ENTRIES = 200_000;

export interface ConnectionRecord {
  ordinal: number;
  sessionId: string;
  resumedWithHandle: boolean;
  open: boolean;
  closeCode: number | null;
  closeReason: string | null;
  clientMessages: number;
  lastConsumedIndex: number;
}

export interface ConsumedEntry {
  conn: number;
  index: number;
  type: string;
  bytes?: number;
  text?: string;
  /** When the emulator received the message (ms since the epoch), for latency measurements. */
  at: number;
}

export class Scenario {
  readonly connections: ConnectionRecord[] = [];
  readonly messagesByType: Record<string, number> = Object.fromEntries(
    CLIENT_MESSAGE_TYPES.map((t) => [t, 0]),
  );
  readonly serverMessagesByType: Record<string, number> = Object.fromEntries(
    SERVER_MESSAGE_TYPES.map((t) => [t, 0]),
  );
  sessionCount = 0;
  latestSession: Session | undefined;

  constructor(
    readonly id: string,
    readonly spec: ScenarioSpec,
    readonly anonymous: boolean,
  ) {}

  addConnection(sessionId: string, resumedWithHandle: boolean): ConnectionRecord {
    const record: ConnectionRecord = {
      ordinal: this.connections.length,
      sessionId,
      resumedWithHandle,
      open: true,
      closeCode: null,
      closeReason: null,
      clientMessages: 0,
      lastConsumedIndex: -1,
    };
    this.connections.push(record);
    return record;
  }

  faultFor(ordinal: number): FaultSpec {
    return this.spec.connections?.[ordinal] ?? this.spec.default ?? {};
  }

  get active(): boolean {
    return this.connections.some((c) => c.open);
  }
}

/** The connection currently speaking for a session (the newest one to set up with it). */
export interface SessionOwner {
  supersede(): void;
}

interface SessionSnapshot {
  consumed: number;
  storedAudioBytes: number;
  audioBytes: number;
  audioMs: number;
  history: number;
  vad: VadState;
  pendingUserText: string[];
}

/** One conversation: survives across connections through resumption handles. */
export class Session {
  history: HistoryEntry[] = [];
  consumed: ConsumedEntry[] = [];
  /**
   * Input audio in one buffer that doubles as it fills, its first storedAudioBytes valid: one object per session
   * rather than one per message (hundreds of thousands under `npm run load`, which the GC had to trace).
   */
  private audio = new Uint8Array(0);
  storedAudioBytes = 0;
  audioBytes = 0;
  audioMs = 0;
  readonly vad = new Vad();
  /** User turns sent with turnComplete: false, waiting for a turnComplete. */
  pendingUserText: string[] = [];
  current: SessionOwner | undefined;

  constructor(readonly scenario: Scenario) {}

  consume(entry: ConsumedEntry, audio?: { pcm: Uint8Array; rate: number }): void {
    if (this.consumed.length < MAX_CONSUMED_ENTRIES) this.consumed.push(entry);
    if (!audio) return;
    const end = this.storedAudioBytes + audio.pcm.length;
    if (end <= MAX_STORED_AUDIO_BYTES) {
      if (end > this.audio.length) {
        const grown = new Uint8Array(
          Math.min(MAX_STORED_AUDIO_BYTES, Math.max(end, 2 * this.audio.length, 64 * 1024)),
        );
        grown.set(this.audio.subarray(0, this.storedAudioBytes));
        this.audio = grown;
      }
      this.audio.set(audio.pcm, this.storedAudioBytes);
      this.storedAudioBytes = end;
    }
    this.audioBytes += audio.pcm.length;
    this.audioMs += (audio.pcm.length / 2 / audio.rate) * 1000;
  }

  storedAudio(): Uint8Array {
    return this.audio.slice(0, this.storedAudioBytes);
  }

  snapshot(): SessionSnapshot {
    return {
      consumed: this.consumed.length,
      storedAudioBytes: this.storedAudioBytes,
      audioBytes: this.audioBytes,
      audioMs: this.audioMs,
      history: this.history.length,
      vad: this.vad.snapshot(),
      pendingUserText: [...this.pendingUserText],
    };
  }

  /**
   * Back to the state a handle represents: whatever was consumed after it is forgotten, so a client that
   * replays its unacknowledged messages (§5.3) ends up with each message in the session exactly once.
   */
  restore(snapshot: SessionSnapshot): void {
    this.consumed.length = Math.min(this.consumed.length, snapshot.consumed);
    this.storedAudioBytes = snapshot.storedAudioBytes;
    this.audioBytes = snapshot.audioBytes;
    this.audioMs = snapshot.audioMs;
    this.history.length = Math.min(this.history.length, snapshot.history);
    this.vad.restore(snapshot.vad);
    this.pendingUserText = [...snapshot.pendingUserText];
  }
}

interface HandleEntry {
  session: Session;
  snapshot: SessionSnapshot;
  expiresAt: number;
}

export interface ScenarioReport {
  id: string;
  connections: ConnectionRecord[];
  messagesByType: Record<string, number>;
  serverMessagesByType: Record<string, number>;
  audioBytes: number;
  audioMs: number;
  consumed: ConsumedEntry[];
  history: Array<{ role: 'user' | 'model'; text: string }>;
  turns: number;
  sessionCount: number;
}

export class EmulatorState {
  private readonly scenarios = new Map<string, Scenario>();
  /** setupComplete sessionId (one per connection) → where that connection belongs. */
  private readonly connections = new Map<string, { scenario: Scenario; session?: Session }>();
  private readonly handles = new Map<string, HandleEntry>();
  /** Until when the state is worth keeping in memory: the last request's horizon or the last handle's expiry. */
  retainUntil = 0;

  constructor(
    private readonly defaultHandleTtlMs: number,
    private readonly onRetain: () => void = () => {},
    /** The caps, smaller in tests. */
    private readonly caps = { handles: MAX_HANDLES, scenarios: MAX_SCENARIOS },
  ) {}

  retain(until: number): void {
    this.retainUntil = Math.max(this.retainUntil, until);
    this.onRetain();
  }

  createScenario(spec: ScenarioSpec): Scenario {
    return this.add(new Scenario(`sc-${crypto.randomUUID()}`, spec, false));
  }

  getScenario(id: string): Scenario | undefined {
    return this.scenarios.get(id);
  }

  /** A marker naming an unknown scenario gets one with default behaviour (handy with `npm start`). */
  scenarioFor(id: string): Scenario {
    return this.scenarios.get(id) ?? this.add(new Scenario(id, {}, false));
  }

  anonymousScenario(): Scenario {
    return this.add(new Scenario(`anon-${crypto.randomUUID()}`, {}, true));
  }

  newSession(scenario: Scenario): Session {
    scenario.sessionCount++;
    return new Session(scenario);
  }

  registerConnection(sessionId: string, scenario: Scenario, session?: Session): void {
    this.connections.set(sessionId, { scenario, session });
  }

  byConnection(sessionId: string): { scenario: Scenario; session?: Session } | undefined {
    return this.connections.get(sessionId);
  }

  issueHandle(session: Session): string {
    if (this.handles.size >= this.caps.handles) this.sweepHandles();
    const handle = `emu-${crypto.randomUUID()}`;
    const ttl = session.scenario.spec.handleTtlMs ?? this.defaultHandleTtlMs;
    const expiresAt = Date.now() + ttl;
    this.handles.set(handle, { session, snapshot: session.snapshot(), expiresAt });
    this.retain(expiresAt);
    return handle;
  }

  /** The handle's entry, expired or not: a refused resume is still counted in the session's scenario. */
  lookupHandle(handle: string): (HandleEntry & { expired: boolean }) | undefined {
    const entry = this.handles.get(handle);
    return entry && { ...entry, expired: entry.expiresAt <= Date.now() };
  }

  report(scenario: Scenario, session = scenario.latestSession): ScenarioReport {
    return {
      id: scenario.id,
      connections: scenario.connections.map((c) => ({ ...c })),
      messagesByType: { ...scenario.messagesByType },
      serverMessagesByType: { ...scenario.serverMessagesByType },
      audioBytes: session?.audioBytes ?? 0,
      audioMs: Math.round((session?.audioMs ?? 0) * 1000) / 1000,
      consumed: session ? [...session.consumed] : [],
      history: (session?.history ?? []).map(({ role, text }) => ({ role, text })),
      // Every turnComplete sent, interrupted turns included.
      turns: scenario.serverMessagesByType['serverContent.turnComplete'] ?? 0,
      sessionCount: scenario.sessionCount,
    };
  }

  private add(scenario: Scenario): Scenario {
    this.scenarios.set(scenario.id, scenario);
    if (this.scenarios.size > this.caps.scenarios) this.evict();
    return scenario;
  }

  /**
   * Drops the oldest idle scenarios (anonymous ones first) with their connections' ids and handles, down to nine
   * tenths of the cap: the walk over every connection and handle happens once per tenth of the cap created, not
   * once per scenario.
   */
  private evict(): void {
    const idle = [...this.scenarios.values()].filter((s) => !s.active);
    const order = [...idle.filter((s) => s.anonymous), ...idle.filter((s) => !s.anonymous)];
    const excess = this.scenarios.size - (this.caps.scenarios - Math.ceil(this.caps.scenarios / 10));
    const victims = new Set(order.slice(0, Math.max(0, excess)));
    if (victims.size === 0) return;
    for (const victim of victims) this.scenarios.delete(victim.id);
    for (const [id, entry] of this.connections) if (victims.has(entry.scenario)) this.connections.delete(id);
    for (const [id, entry] of this.handles) if (victims.has(entry.session.scenario)) this.handles.delete(id);
  }

  /**
   * Forgets expired handles, then the oldest (Map order is issue order) down to nine tenths of the cap: one pass
   * over the map per tenth of the cap issued, not one per handle. (Trimming to just under the cap made every
   * issue on a full map walk all of it: half the emulator's CPU at 200 conversations under `npm run load`.)
   */
  private sweepHandles(): void {
    const now = Date.now();
    for (const [id, entry] of this.handles) if (entry.expiresAt <= now) this.handles.delete(id);
    const keep = this.caps.handles - Math.ceil(this.caps.handles / 10);
    for (const id of this.handles.keys()) {
      if (this.handles.size <= keep) break;
      this.handles.delete(id);
    }
  }
}
