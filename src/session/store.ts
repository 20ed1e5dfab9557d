// What a conversation keeps in its Durable Object's storage, typed, loaded once when the object starts and
// written through one method. Frequent changes are coalesced: a new resumption handle (every few hundred
// milliseconds while audio streams) at most once per FLUSH_INTERVAL_MS, counters, usage and last activity once per
// BOOKKEEPING_INTERVAL_MS (or with an earlier write); events that must survive a restart (a turn's end, a client
// drop, the end of a link) flush at once. Every write is one SQLite transaction: a billed row write per key in
// production, and in local workerd a commit on the one thread every conversation shares — `npm run load` showed
// those commits (and alarm writes) as the relay's stalls, which is why the interval is 5 s rather than 1 s.
// The loss window: an object that dies between flushes resumes from a handle up to 5 s old, which the upstream
// outbox (in memory) does not cover — the conversation continues, with up to that much input since the last
// finished turn missing from the model's state. A restart also loses at most 10 s of counters.
import { newCounters, type Counters } from './counters';
import { emptyUsage, type UsageTotals } from '../usage/totals';

interface Meta {
  conversationId: string;
  owner: string;
  createdAt: number;
}

/** A handle the relay gave a client, standing for one of Google's. */
export interface IssuedHandle {
  relay: string;
  google: string;
  at: number;
}

export interface ConversationRecord {
  meta: Meta | null;
  model: string | null;
  lastSeq: number;
  lastActivityAt: number;
  counters: Counters;
  /** The latest resumable Google handle and when it was issued. */
  handle: { google: string; at: number } | null;
  /** Handles given to clients, newest last (at most MAX_ISSUED_HANDLES). */
  issuedHandles: IssuedHandle[];
  /** When each client token first set up this conversation (ms): `maxSessionSeconds` counts from there. */
  tokenStarts: Record<string, number>;
  /** Billable usage so far, and the part of it already reported to the subject's ledger (src/usage/). */
  usage: UsageTotals;
  usageReported: UsageTotals;
}

const KEYS = [
  'meta',
  'model',
  'lastSeq',
  'lastActivityAt',
  'counters',
  'handle',
  'issuedHandles',
  'tokenStarts',
  'usage',
  'usageReported',
] as const satisfies ReadonlyArray<keyof ConversationRecord>;
type Key = (typeof KEYS)[number];

/** The handle's write interval: the loss window above. */
const FLUSH_INTERVAL_MS = 5_000;
/** Counters, usage and last activity change with every message; they are written this often (and at events). */
const BOOKKEEPING_INTERVAL_MS = 10_000;
/** Relay handles a client may present: enough for any client's recent ones, bounded for storage. */
const MAX_ISSUED_HANDLES = 32;
/** Tokens remembered per conversation for session limits (oldest forgotten first). */
const MAX_TOKEN_STARTS = 64;

function emptyRecord(): ConversationRecord {
  return {
    meta: null,
    model: null,
    lastSeq: 0,
    lastActivityAt: 0,
    counters: newCounters(),
    handle: null,
    issuedHandles: [],
    tokenStarts: {},
    usage: emptyUsage(),
    usageReported: emptyUsage(),
  };
}

export class SessionStore {
  private dirty = new Set<Key>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private due = 0;

  private constructor(
    private readonly storage: DurableObjectStorage,
    readonly record: ConversationRecord,
  ) {}

  static async load(storage: DurableObjectStorage): Promise<SessionStore> {
    const stored = await storage.get<unknown>([...KEYS]);
    const record = emptyRecord() as unknown as Record<Key, unknown>;
    for (const key of KEYS) if (stored.has(key)) record[key] = stored.get(key);
    return new SessionStore(storage, record as unknown as ConversationRecord);
  }

  /** Changes fields; `now` writes at once (events that must survive a restart), else within a second. */
  set<K extends Key>(changes: Pick<ConversationRecord, K>, urgency: 'now' | 'soon' = 'soon'): void {
    for (const key of Object.keys(changes) as K[]) {
      this.record[key] = changes[key];
      this.dirty.add(key);
    }
    if (urgency === 'now') this.flush();
    else this.schedule(FLUSH_INTERVAL_MS);
  }

  /** Marks fields changed in place (counters) for the next write. */
  touch(...keys: Key[]): void {
    for (const key of keys) this.dirty.add(key);
    this.schedule(BOOKKEEPING_INTERVAL_MS);
  }

  /** One timer: the earliest pending write wins. */
  private schedule(ms: number): void {
    const due = Date.now() + ms;
    if (this.timer && this.due <= due) return;
    if (this.timer) clearTimeout(this.timer);
    this.due = due;
    this.timer = setTimeout(() => this.flush(), ms);
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.dirty.size === 0) return;
    const entries: Record<string, unknown> = {};
    for (const key of this.dirty) entries[key] = this.record[key];
    this.dirty.clear();
    // Not awaited and not holding the output gate: the relay's frames to the client must not wait for a disk
    // flush of bookkeeping. A failed write surfaces as a broken object, which the client sees as a drop.
    void this.storage.put(entries, { allowUnconfirmed: true });
  }

  issueHandle(google: string, relay: string, at: number): void {
    const issued = this.record.issuedHandles;
    issued.push({ relay, google, at });
    if (issued.length > MAX_ISSUED_HANDLES) issued.splice(0, issued.length - MAX_ISSUED_HANDLES);
    this.set({ handle: { google, at }, issuedHandles: issued });
  }

  findIssued(relay: string): IssuedHandle | null {
    return this.record.issuedHandles.find((h) => h.relay === relay) ?? null;
  }

  /** When this token first set up the conversation (recorded now if it never did). */
  tokenStart(tokenId: string, now: number): number {
    const starts = this.record.tokenStarts;
    const known = starts[tokenId];
    if (known !== undefined) return known;
    starts[tokenId] = now;
    const ids = Object.keys(starts);
    if (ids.length > MAX_TOKEN_STARTS) delete starts[ids[0]!];
    this.set({ tokenStarts: starts }, 'now');
    return now;
  }
}
