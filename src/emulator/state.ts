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

/** Scenarios kept in memory; the oldest ones without open connections are dropped beyond this. */
const MAX_SCENARIOS = 500;
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
  audioChunks: number;
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
  audioChunks: Uint8Array[] = [];
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
    if (this.storedAudioBytes + audio.pcm.length <= MAX_STORED_AUDIO_BYTES) {
      this.audioChunks.push(audio.pcm);
      this.storedAudioBytes += audio.pcm.length;
    }
    this.audioBytes += audio.pcm.length;
    this.audioMs += (audio.pcm.length / 2 / audio.rate) * 1000;
  }

  storedAudio(): Uint8Array {
    const out = new Uint8Array(this.storedAudioBytes);
    let offset = 0;
    for (const chunk of this.audioChunks) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    return out;
  }

  snapshot(): SessionSnapshot {
    return {
      consumed: this.consumed.length,
      audioChunks: this.audioChunks.length,
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
    this.audioChunks.length = Math.min(this.audioChunks.length, snapshot.audioChunks);
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
    if (this.handles.size >= MAX_HANDLES) this.sweepHandles();
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
    if (this.scenarios.size > MAX_SCENARIOS) this.evict();
    return scenario;
  }

  /** Drops the oldest idle scenario (anonymous ones first) with its connections' ids and handles. */
  private evict(): void {
    const idle = [...this.scenarios.values()].filter((s) => !s.active);
    const victim = idle.find((s) => s.anonymous) ?? idle[0];
    if (!victim) return;
    this.scenarios.delete(victim.id);
    for (const [id, entry] of this.connections) if (entry.scenario === victim) this.connections.delete(id);
    for (const [id, entry] of this.handles) if (entry.session.scenario === victim) this.handles.delete(id);
  }

  private sweepHandles(): void {
    const now = Date.now();
    for (const [id, entry] of this.handles) if (entry.expiresAt <= now) this.handles.delete(id);
    // Still full: forget the oldest (Map order is issue order).
    for (const id of this.handles.keys()) {
      if (this.handles.size < MAX_HANDLES) break;
      this.handles.delete(id);
    }
  }
}
