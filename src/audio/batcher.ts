// Edge-side batching of the client's PCM16LE mono input into `realtimeInput.audio` messages.
// Google recommends 20–40 ms chunks and warns against buffering more (live-api-protocol.md §4.4), so a
// batch is bounded both by size (the window) and by age (the hold time). Pure: no timers, no I/O — the
// Durable Object drives it with its own clock and must flush() before relaying any other client message.
import { Histogram } from '../util/histogram';
import { decodeBase64, encodeBase64 } from '../util/base64';
import { numberOrDigits } from '../util/strict-input';
import { CloseCode, RelayClose } from '../live-api/close-codes';
import {
  BATCH_MAX_HOLD_MS,
  BATCH_MAX_WINDOW_MS,
  BATCH_MIN_HOLD_MS,
  BATCH_MIN_WINDOW_MS,
  MAX_INTEGER_DIGITS,
  PCM_MAX_RATE,
  PCM_MIN_RATE,
} from '../limits';

export {
  BATCH_MAX_HOLD_MS,
  BATCH_MAX_WINDOW_MS,
  BATCH_MIN_HOLD_MS,
  BATCH_MIN_WINDOW_MS,
  PCM_MAX_RATE,
  PCM_MIN_RATE,
} from '../limits';

/** Google's native input rate; `audio/pcm` without a `rate` parameter means this (§4.4). */
export const PCM_DEFAULT_RATE = 16_000;
export const BATCH_DEFAULT_WINDOW_MS = 40;
export const BATCH_DEFAULT_HOLD_MS = 40;
/** The smallest chunk worth a message of its own: the low end of Google's 20–40 ms recommendation (§4.4). */
export const BATCH_DEFAULT_MIN_MS = 20;

export interface BatchOptions {
  /** Sample rate in Hz, declared upstream as `audio/pcm;rate=N`. */
  readonly rate: number;
  /** Largest batch; 0 disables batching (each frame goes out as is, even-aligned). */
  readonly windowMs: number;
  /**
   * A batch goes out as soon as it holds this much (capped at the window): frames at least this long pass at
   * once, smaller ones are coalesced up to it. The window then bounds only how big a batch gets. Absent: a
   * batch goes out when the window fills (the relay always resolves it; see DEFAULT_BATCH_OPTIONS).
   */
  readonly minMs?: number;
  /** Longest the oldest buffered sample may wait before poll() (or the next push) sends it. */
  readonly holdMs: number;
}

export const DEFAULT_BATCH_OPTIONS: BatchOptions = Object.freeze({
  rate: PCM_DEFAULT_RATE,
  windowMs: BATCH_DEFAULT_WINDOW_MS,
  holdMs: BATCH_DEFAULT_HOLD_MS,
  minMs: BATCH_DEFAULT_MIN_MS,
});

/**
 * Values as a client or a var supplies them: numbers or strings of plain decimal digits; undefined = default
 * (and, for vars only, '' = default).
 */
export interface BatchRequest {
  readonly windowMs?: unknown;
  readonly holdMs?: unknown;
  readonly minMs?: unknown;
  readonly rate?: unknown;
}

export type BatchField = 'windowMs' | 'holdMs' | 'minMs' | 'rate' | 'mimeType' | 'data';

/**
 * An invalid option or audio input; `message` is short enough (< 123 bytes) for a WebSocket close reason. It is
 * a 1007 close wherever it escapes on a socket (the DO classifies mimeTypes with pcmRateOf itself); the connect
 * path turns it into HTTP 400.
 */
export class BatchError extends RelayClose {
  override readonly name = 'BatchError';
  constructor(
    readonly field: BatchField,
    message: string,
  ) {
    super(CloseCode.InvalidPayload, message);
  }
}

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 16 ? `${value.slice(0, 16)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return value === null ? 'null' : typeof value;
}

interface Bounds {
  readonly min: number;
  readonly max: number;
  /** 0 is also accepted (window 0 = batching off). */
  readonly zeroOk?: boolean;
}
const RATE_BOUNDS: Bounds = { min: PCM_MIN_RATE, max: PCM_MAX_RATE };
const WINDOW_BOUNDS: Bounds = { min: BATCH_MIN_WINDOW_MS, max: BATCH_MAX_WINDOW_MS, zeroOk: true };
const HOLD_BOUNDS: Bounds = { min: BATCH_MIN_HOLD_MS, max: BATCH_MAX_HOLD_MS };
const MIN_CHUNK_BOUNDS: Bounds = { min: BATCH_MIN_WINDOW_MS, max: BATCH_MAX_WINDOW_MS };

function parseBounded(field: BatchField, label: string, value: unknown, fallback: number, b: Bounds): number {
  if (value === undefined) return fallback;
  const n = numberOrDigits(value, MAX_INTEGER_DIGITS);
  if (Number.isInteger(n) && ((n >= b.min && n <= b.max) || (b.zeroOk === true && n === 0))) return n;
  const range = `${b.zeroOk ? '0 (off) or ' : ''}an integer from ${b.min} to ${b.max}`;
  throw new BatchError(field, `${label} must be ${range}, got ${show(value)}`);
}

/** How an error names each field: the query option or var the value came from. */
export type BatchLabels = Record<'windowMs' | 'holdMs' | 'rate', string> & { minMs?: string };

function resolveWith(req: BatchRequest, defaults: BatchOptions, labels: BatchLabels): BatchOptions {
  return {
    rate: parseBounded('rate', labels.rate, req.rate, defaults.rate, RATE_BOUNDS),
    windowMs: parseBounded('windowMs', labels.windowMs, req.windowMs, defaults.windowMs, WINDOW_BOUNDS),
    holdMs: parseBounded('holdMs', labels.holdMs, req.holdMs, defaults.holdMs, HOLD_BOUNDS),
    minMs: parseBounded(
      'minMs',
      labels.minMs ?? 'minMs',
      req.minMs,
      defaults.minMs ?? BATCH_DEFAULT_MIN_MS,
      MIN_CHUNK_BOUNDS,
    ),
  };
}

/**
 * A client's connect-time choice, validated against the bounds. Out-of-bounds or malformed values (an empty
 * one included) are rejected (BatchError), never silently clamped: the client should learn its request was not
 * honoured.
 */
export function resolveBatchOptions(
  req: BatchRequest,
  defaults: BatchOptions = DEFAULT_BATCH_OPTIONS,
  labels: BatchLabels = { windowMs: 'windowMs', holdMs: 'holdMs', rate: 'rate' },
): BatchOptions {
  return resolveWith(req, defaults, labels);
}

/** Deployment defaults from vars (strings, or numbers if declared as TOML numbers); unset = built-in default. */
export function batchDefaultsFromVars(vars: {
  readonly AUDIO_BATCH_WINDOW_MS?: unknown;
  readonly AUDIO_BATCH_HOLD_MS?: unknown;
  readonly AUDIO_BATCH_MIN_MS?: unknown;
  readonly AUDIO_INPUT_RATE?: unknown;
}): BatchOptions {
  // An empty var means "not set".
  const given = (v: unknown): unknown => (v === '' ? undefined : v);
  const req = {
    windowMs: given(vars.AUDIO_BATCH_WINDOW_MS),
    holdMs: given(vars.AUDIO_BATCH_HOLD_MS),
    minMs: given(vars.AUDIO_BATCH_MIN_MS),
    rate: given(vars.AUDIO_INPUT_RATE),
  };
  return resolveWith(req, DEFAULT_BATCH_OPTIONS, {
    windowMs: 'AUDIO_BATCH_WINDOW_MS',
    holdMs: 'AUDIO_BATCH_HOLD_MS',
    minMs: 'AUDIO_BATCH_MIN_MS',
    rate: 'AUDIO_INPUT_RATE',
  });
}

const PCM_TYPE = /^\s*audio\/pcm\s*(?:;|$)/i;
const RATE_PARAM = /;\s*rate\s*=([^;]*)/i;

/**
 * The rate an `audio/pcm[;rate=N]` mimeType declares (16000 when it names none); null for any other
 * media type, which the DO forwards unbatched after a flush(). Throws BatchError on a bad rate.
 */
export function pcmRateOf(mimeType: string): number | null {
  if (!PCM_TYPE.test(mimeType)) return null;
  const rate = RATE_PARAM.exec(mimeType)?.[1]?.trim();
  if (rate === undefined) return PCM_DEFAULT_RATE;
  return parseBounded('rate', 'realtimeInput.audio.mimeType rate', rate, PCM_DEFAULT_RATE, RATE_BOUNDS);
}

/** Window size in bytes: whole samples only, so a batch is always even-aligned. */
export function windowBytesOf(opts: Pick<BatchOptions, 'rate' | 'windowMs'>): number {
  return Math.floor((opts.windowMs * opts.rate) / 1000) * 2;
}

/**
 * 'full': the batch reached the minimum chunk (or the window, for a big frame); 'hold': the oldest sample reached
 * holdMs; 'frame': window 0 passthrough.
 */
export type BatchReason = 'full' | 'hold' | 'flush' | 'rate' | 'frame';

export interface Batch {
  /** The serialized upstream JSON, ready for `ws.send`. */
  readonly message: string;
  readonly pcmBytes: number;
  readonly durationMs: number;
  readonly rate: number;
  /** When the oldest sample in this batch was pushed (the caller's clock). */
  readonly firstSampleAt: number;
  readonly reason: BatchReason;
}

export interface BatcherStats {
  framesIn: number;
  bytesIn: number;
  batchesOut: number;
  /** Upstream JSON bytes (the message is ASCII, so characters = bytes). */
  bytesOut: number;
  pcmBytesOut: number;
  /** Pushes that left an odd byte carried to the next one. */
  oddBytesCarried: number;
  rateChanges: number;
  readonly byReason: Record<BatchReason, number>;
  readonly durationMs: Histogram;
  /** How long each batch's oldest sample waited in the batcher: the latency batching adds. */
  readonly waitMs: Histogram;
}

function decodeProtoBytes(data: string): Uint8Array {
  try {
    return decodeBase64(data);
  } catch {
    try {
      return Uint8Array.fromBase64(data, { alphabet: 'base64url' });
    } catch {
      throw new BatchError('data', 'realtimeInput.audio.data is not valid base64');
    }
  }
}

const SUFFIX = '"}}}';
const NONE: readonly Batch[] = Object.freeze([]);

/**
 * Per-conversation batcher. Contract with the DO: send every returned batch, in order; call flush() and
 * send its batch before relaying any other client message; after each call, (re)arm one timer for
 * deadline() and call poll() when it fires. Input is copied, so callers may reuse their frame buffers.
 */
export class PcmBatcher {
  readonly stats: BatcherStats = {
    framesIn: 0,
    bytesIn: 0,
    batchesOut: 0,
    bytesOut: 0,
    pcmBytesOut: 0,
    oddBytesCarried: 0,
    rateChanges: 0,
    byReason: { full: 0, hold: 0, flush: 0, rate: 0, frame: 0 },
    durationMs: new Histogram(),
    waitMs: new Histogram(),
  };
  #opts: BatchOptions;
  #windowBytes = 0;
  /** A batch this big goes out at once (whole samples, ≤ the window). */
  #minBytes = 0;
  #prefix = '';
  // Preallocated to the window; bytes [0, #len) are buffered, and an odd #len means the last one is
  // half a sample waiting for its partner.
  #buf = new Uint8Array(0);
  #len = 0;
  /** When the oldest complete buffered sample arrived; null while fewer than 2 bytes are buffered. */
  #since: number | null = null;

  constructor(opts: BatchOptions) {
    const resolved = resolveBatchOptions(opts, opts);
    // Without a minimum chunk, batches fill the window (resolving would have supplied the default).
    const { minMs: _default, ...windowFill } = resolved;
    this.#opts = opts.minMs === undefined ? windowFill : resolved;
    this.#configure();
  }

  get options(): BatchOptions {
    return this.#opts;
  }
  get windowBytes(): number {
    return this.#windowBytes;
  }
  /** A batch this big goes out at once. */
  get minBytes(): number {
    return this.#minBytes;
  }
  get bufferedBytes(): number {
    return this.#len;
  }

  /**
   * Appends PCM16LE audio; returns the batches to send now, in order (a shared empty array when none).
   * A `rate` different from the current one flushes what is buffered first, at the old rate.
   */
  push(pcm: Uint8Array, now: number, rate: number = this.#opts.rate): readonly Batch[] {
    const switched = rate === this.#opts.rate ? null : this.setRate(rate, now);
    let out: Batch[] | null = switched ? [switched] : null;
    this.stats.framesIn++;
    this.stats.bytesIn += pcm.length;
    if (this.#windowBytes === 0) out = this.#passThrough(pcm, now, out);
    else out = this.#append(pcm, now, out);
    // A late caller (timer fired after the deadline) gets the overdue audio with this frame's, in one batch.
    const held = this.poll(now);
    if (held) (out ??= []).push(held);
    if (this.#len & 1) this.stats.oddBytesCarried++;
    return out ?? NONE;
  }

  /** JSON `realtimeInput.audio`: standard or URL-safe base64 (proto3 JSON accepts both). */
  pushBase64(data: string, mimeType: string, now: number): readonly Batch[] {
    const rate = pcmRateOf(mimeType);
    if (rate === null)
      throw new BatchError('mimeType', `audio mimeType must be audio/pcm, got ${show(mimeType)}`);
    return this.push(decodeProtoBytes(data), now, rate);
  }

  /** Everything buffered, in whole samples; an odd trailing byte stays carried. Call before any other message. */
  flush(now: number): Batch | null {
    return this.#flush(now, 'flush');
  }

  /** When the DO must call poll(); null when no complete sample is buffered. */
  deadline(): number | null {
    return this.#since === null ? null : this.#since + this.#opts.holdMs;
  }

  poll(now: number): Batch | null {
    const due = this.deadline();
    return due !== null && now >= due ? this.#flush(now, 'hold') : null;
  }

  /** Flushes at the old rate, then switches; the carried odd byte (if any) is kept, so alignment holds. */
  setRate(rate: number, now: number): Batch | null {
    const valid = parseBounded('rate', 'rate', rate, this.#opts.rate, RATE_BOUNDS);
    if (valid === this.#opts.rate) return null;
    const batch = this.#flush(now, 'rate');
    this.#opts = { ...this.#opts, rate: valid };
    this.stats.rateChanges++;
    this.#configure();
    return batch;
  }

  #configure(): void {
    this.#windowBytes = windowBytesOf(this.#opts);
    this.#minBytes = Math.min(
      this.#windowBytes,
      Math.max(
        2,
        windowBytesOf({ rate: this.#opts.rate, windowMs: this.#opts.minMs ?? this.#opts.windowMs }),
      ),
    );
    this.#prefix = `{"realtimeInput":{"audio":{"mimeType":"audio/pcm;rate=${this.#opts.rate}","data":"`;
    const size = Math.max(this.#windowBytes, 2);
    if (this.#buf.length < size) {
      const next = new Uint8Array(size);
      next.set(this.#buf.subarray(0, this.#len));
      this.#buf = next;
    }
  }

  #append(pcm: Uint8Array, now: number, out: Batch[] | null): Batch[] | null {
    const wb = this.#windowBytes;
    const n = pcm.length;
    let off = 0;
    // A frame of at least a minimum chunk goes out whole and at once, its tail included — unless the minimum is
    // the window (fixed-size batches: the tail waits to fill the next one).
    const tailGoes = n >= this.#minBytes && this.#minBytes < wb;
    while (off < n) {
      if (this.#len === 0 && (n - off >= this.#minBytes || (tailGoes && n - off >= 2))) {
        // Aligned and at least a minimum chunk available: send straight from the frame (no copy, no wait),
        // at most a window at a time.
        const take = Math.min(wb, (n - off) & ~1);
        (out ??= []).push(this.#emit(pcm.subarray(off, off + take), now, now, 'full'));
        off += take;
        continue;
      }
      const take = Math.min(wb - this.#len, n - off);
      this.#buf.set(take === n ? pcm : pcm.subarray(off, off + take), this.#len);
      if (this.#since === null && this.#len + take >= 2) this.#since = now;
      this.#len += take;
      off += take;
      // Coalesced up to a minimum chunk: out now, in whole samples (an odd byte stays carried).
      if (this.#len >= this.#minBytes) {
        const batch = this.#flush(now, 'full');
        if (batch) (out ??= []).push(batch);
      }
    }
    return out;
  }

  #passThrough(pcm: Uint8Array, now: number, out: Batch[] | null): Batch[] | null {
    let data = pcm;
    if (this.#len === 1) {
      // Rare (a client splitting samples across frames): one copy to re-align.
      data = new Uint8Array(pcm.length + 1);
      data.set(this.#buf.subarray(0, 1));
      data.set(pcm, 1);
    }
    const even = data.length & ~1;
    if (even > 0) (out ??= []).push(this.#emit(data.subarray(0, even), now, now, 'frame'));
    this.#len = data.length - even;
    if (this.#len === 1) this.#buf.set(data.subarray(even));
    return out;
  }

  #flush(now: number, reason: BatchReason): Batch | null {
    const even = this.#len & ~1;
    if (even === 0) return null;
    const batch = this.#emit(this.#buf.subarray(0, even), this.#since ?? now, now, reason);
    if (this.#len & 1) this.#buf.copyWithin(0, this.#len - 1, this.#len);
    this.#len &= 1;
    this.#since = null;
    return batch;
  }

  #emit(pcm: Uint8Array, firstSampleAt: number, now: number, reason: BatchReason): Batch {
    const message = this.#prefix + encodeBase64(pcm) + SUFFIX;
    const rate = this.#opts.rate;
    const durationMs = (pcm.length * 500) / rate;
    const s = this.stats;
    s.batchesOut++;
    s.bytesOut += message.length;
    s.pcmBytesOut += pcm.length;
    s.byReason[reason]++;
    s.durationMs.record(durationMs);
    s.waitMs.record(now - firstSampleAt);
    return { message, pcmBytes: pcm.length, durationMs, rate, firstSampleAt, reason };
  }
}
