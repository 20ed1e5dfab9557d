// Session-resumption rules, kept pure so each can be tested on its own (protocol reference §5).
import { isObject, type Json } from '../live-api/protocol';

/** Reconnect attempts after an unexpected upstream close, and the time budget they share. */
const RECONNECT_ATTEMPTS = 5;
const RECONNECT_BUDGET_MS = 20_000;
export const RECONNECT_BASE_DELAY_MS = 100;
export const RECONNECT_MAX_DELAY_MS = 3_000;
/** Client bytes the relay holds for the upstream (queued or unacknowledged); past this Google is not keeping up. */
export const MAX_OUTBOX_BYTES = 16 * 1024 * 1024;

/** A protobuf Duration in JSON ("60s", "1.5s", "0.250s") in milliseconds; null when malformed. */
export function parseDuration(value: unknown): number | null {
  if (typeof value !== 'string') return null;
  const match = /^(\d+(?:\.\d+)?)s$/.exec(value.trim());
  return match ? Math.round(Number(match[1]) * 1000) : null;
}

export interface ResumptionUpdate {
  resumable: boolean;
  /** Non-empty only when resumable. */
  handle: string | null;
  /** The last client message (per-connection index, setup = 0) the update's state includes, if sent. */
  lastConsumed: number | null;
}

/** Reads a sessionResumptionUpdate; int64 fields arrive as strings (§2.1). */
export function readResumptionUpdate(body: Json | undefined): ResumptionUpdate | null {
  if (!isObject(body)) return null;
  const resumable = body.resumable === true;
  const handle = typeof body.newHandle === 'string' && body.newHandle !== '' ? body.newHandle : null;
  const raw = body.lastConsumedClientMessageIndex;
  const index = typeof raw === 'string' || typeof raw === 'number' ? Number(raw) : NaN;
  return {
    resumable,
    // Store a handle only when it is resumable and non-empty (§5.2).
    handle: resumable ? handle : null,
    lastConsumed: Number.isSafeInteger(index) && index >= 0 ? index : null,
  };
}

/**
 * Converts the server's lastConsumedClientMessageIndex into how many of this connection's client messages (after
 * setup) the state includes. The counting base is undocumented (§5.3); the relay assumes setup = 0 and the first
 * message after it = 1, as Vertex's best-practice recipe and the emulator do. An index beyond what was sent
 * proves a higher base (e.g. setup = 1): from then on the difference is subtracted, so a frame is never
 * acknowledged before it was consumed (which would lose it on replay). A lower base (first message = 0) cannot
 * be told from a frame still in flight; it costs one re-sent frame after a switch, never a lost one.
 */
export class ConsumedIndex {
  private offset = 0;

  /** The number of this connection's frames the state includes; `recalibrated` when the base was corrected. */
  acknowledged(lastConsumed: number, sent: number): { count: number; recalibrated: boolean } {
    const count = lastConsumed - this.offset;
    if (count <= sent) return { count: Math.max(0, count), recalibrated: false };
    this.offset += count - sent;
    return { count: sent, recalibrated: true };
  }
}

/**
 * Which client message an upstream frame carries: the client connection (numbered by the session) and the
 * message's index on it as the client counts (setup = 0, first message after it = 1). A batch of audio carries the
 * last client frame it completes; a frame the relay composed itself (a history seed) carries none.
 */
export interface ClientOrigin {
  readonly client: number;
  readonly index: number;
}

interface Entry {
  /** Emptied once acknowledged. */
  frame: string;
  origin: ClientOrigin | null;
  /** Index on the current upstream connection (1 = first message after setup); 0 while not yet sent on it. */
  index: number;
}

/** Acknowledged entries (emptied) kept before the array is compacted: amortizes the copy. */
const COMPACT_AFTER = 64;

/**
 * The frames not yet durable, and the only place they live: every client frame on its way upstream is enqueued
 * here, transmitted when a connection is ready, dropped once a resumption handle's index covers it, and sent
 * again from the oldest unacknowledged one when the session moves to a new connection (`rewind`). Order is the
 * client's, always: the outbox is one FIFO.
 */
export class Outbox {
  private entries: Entry[] = [];
  private head = 0;
  /** The next entry to go out on the current connection (entries before it, from head, went out on it). */
  private cursor = 0;
  /** Frames numbered on the current connection so far. */
  private sent = 0;
  private bytes = 0;
  private consumed: ClientOrigin | null = null;

  enqueue(frame: string, origin: ClientOrigin | null): void {
    this.entries.push({ frame, origin, index: 0 });
    this.bytes += frame.length;
  }

  /** A frame the relay composes to go before everything unacknowledged (the history seeding a fresh session). */
  prepend(frame: string): void {
    this.entries = this.entries.slice(this.head);
    this.cursor -= this.head;
    this.head = 0;
    this.entries.unshift({ frame, origin: null, index: 0 });
    this.bytes += frame.length;
    this.rewind();
  }

  /** Sends what the current connection has not had yet, in order, numbering it for acknowledgement. */
  transmit(send: (frame: string) => void): void {
    while (this.cursor < this.entries.length) {
      const entry = this.entries[this.cursor++]!;
      entry.index = ++this.sent;
      send(entry.frame);
    }
  }

  /** Drops the frames the state behind a handle includes: this connection's first `count`. */
  acknowledge(count: number): void {
    while (this.head < this.entries.length) {
      const entry = this.entries[this.head]!;
      if (entry.index === 0 || entry.index > count) break;
      this.bytes -= entry.frame.length;
      const origin = entry.origin;
      // Monotonic: an audio batch finishing a frame's carried odd byte may trail a later message of the client.
      if (origin && (origin.client !== this.consumed?.client || origin.index > this.consumed.index))
        this.consumed = origin;
      // Acknowledged frames are never sent again: let go of the text now, not at the next compaction (20 ms
      // audio frames are ~1 KiB of base64 each; holding them until compaction held seconds of audio per
      // conversation).
      entry.frame = '';
      entry.origin = null;
      this.head++;
    }
    // Compact now and then instead of shifting on every acknowledgement.
    if (this.head > COMPACT_AFTER && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.cursor -= this.head;
      this.head = 0;
    }
  }

  /** A new connection resumes from the last handle: everything unacknowledged goes out again, renumbered. */
  rewind(): void {
    for (let i = this.head; i < this.cursor; i++) this.entries[i]!.index = 0;
    this.cursor = this.head;
    this.sent = 0;
  }

  /**
   * The last client message the upstream state includes, in the client's own terms: what a
   * `lastConsumedClientMessageIndex` forwarded to that client must say. It only moves forward, across batching,
   * replays and new connections, because frames are acknowledged in the order the client sent them.
   */
  lastConsumed(client: number): number {
    return this.consumed?.client === client ? this.consumed.index : 0;
  }

  /** Frames sent on the current connection (the most an index from the service can cover). */
  get sentCount(): number {
    return this.sent;
  }

  get pendingBytes(): number {
    return this.bytes;
  }

  get pendingCount(): number {
    return this.entries.length - this.head;
  }
}

/** The reconnect policy after an unexpected upstream close (one backoff with Google auth: src/util/retry.ts). */
export const RECONNECT_POLICY = {
  attempts: RECONNECT_ATTEMPTS,
  budgetMs: RECONNECT_BUDGET_MS,
  baseDelayMs: RECONNECT_BASE_DELAY_MS,
  maxDelayMs: RECONNECT_MAX_DELAY_MS,
} as const;

/** Upstream closes worth resuming: network loss, server faults and the normal end of a connection's life. */
export function isResumableClose(code: number): boolean {
  return (
    code === 1000 ||
    code === 1001 ||
    code === 1006 ||
    code === 1011 ||
    code === 1012 ||
    code === 1013 ||
    code === 1014
  );
}
