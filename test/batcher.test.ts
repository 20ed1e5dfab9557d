import { describe, expect, it } from 'vitest';
import {
  BatchError,
  DEFAULT_BATCH_OPTIONS,
  PcmBatcher,
  batchDefaultsFromVars,
  pcmRateOf,
  resolveBatchOptions,
  windowBytesOf,
} from '../src/audio/batcher';
import type { Batch, BatchOptions } from '../src/audio/batcher';
import { Histogram } from '../src/util/histogram';
import { RelayClose } from '../src/live-api/close-codes';
import { decodeBatch } from './helpers/batcher-decode';
import { Rng } from './helpers/batcher-prng';

const RATES = [8000, 16000, 24000, 48000] as const;

function seq(n: number, start = 0): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (start + i) & 0xff);
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Index of the first differing byte, or -1 (toEqual on large typed arrays is slow). */
function firstMismatch(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

function decodeAll(batches: readonly Batch[]): Uint8Array {
  return concat(batches.map((b) => decodeBatch(b).pcm));
}

/**
 * Drives a batcher the way the DO does, against a model of the byte stream: pushed bytes (with the rate
 * in force when they were pushed) and emitted bytes. Every emitted batch must continue the input exactly.
 */
class Harness {
  readonly batcher: PcmBatcher;
  input = new Uint8Array(1 << 16);
  inLen = 0;
  outLen = 0;
  now = 1_000;
  batches = 0;
  messageBytes = 0;
  /** Input offsets where a rate took effect; `carried` = an odd byte from the old rate leads the segment. */
  readonly segments: Array<{ start: number; rate: number; carried: boolean }>;

  constructor(readonly opts: BatchOptions) {
    this.batcher = new PcmBatcher(opts);
    this.segments = [{ start: 0, rate: opts.rate, carried: false }];
  }

  accept(batches: readonly (Batch | null)[]): Batch[] {
    const got: Batch[] = [];
    for (const batch of batches) {
      if (batch === null) continue;
      const { rate, pcm } = decodeBatch(batch);
      if (this.opts.windowMs > 0)
        expect(pcm.length).toBeLessThanOrEqual(windowBytesOf({ ...this.opts, rate }));
      const start = this.outLen;
      expect(start + pcm.length, 'a batch ran ahead of the input').toBeLessThanOrEqual(this.inLen);
      expect(
        firstMismatch(pcm, this.input.subarray(start, start + pcm.length)),
        'batch differs from input',
      ).toBe(-1);
      // The batch's rate is the one in force when its audio (bar a carried odd byte) was pushed.
      const seg = this.segments.findLast((s) => s.start <= start + pcm.length - 1);
      expect(seg?.rate).toBe(rate);
      expect(seg !== undefined && (seg.start <= start || (seg.carried && seg.start === start + 1))).toBe(
        true,
      );
      this.outLen += pcm.length;
      this.batches++;
      this.messageBytes += batch.message.length;
      got.push(batch);
    }
    return got;
  }

  push(frame: Uint8Array, rate = this.batcher.options.rate, asBase64 = false): Batch[] {
    if (rate !== this.batcher.options.rate) {
      this.segments.push({ start: this.inLen, rate, carried: this.inLen % 2 === 1 });
    }
    while (this.inLen + frame.length > this.input.length) {
      const grown = new Uint8Array(this.input.length * 2);
      grown.set(this.input.subarray(0, this.inLen));
      this.input = grown;
    }
    this.input.set(frame, this.inLen);
    this.inLen += frame.length;
    const batches = asBase64
      ? this.batcher.pushBase64(frame.toBase64(), `audio/pcm;rate=${rate}`, this.now)
      : this.batcher.push(frame, this.now, rate);
    frame.fill(0xee); // The batcher must have copied what it kept.
    return this.accept(batches);
  }

  /** A control point: the DO flushes before relaying a non-audio message. */
  control(): void {
    this.accept([this.batcher.flush(this.now)]);
    expect(this.outLen, 'audio pushed before a control point was not flushed').toBe(this.inLen & ~1);
    expect(this.batcher.bufferedBytes).toBe(this.inLen & 1);
    expect(this.batcher.deadline()).toBeNull();
  }

  /** Advances time, firing poll() at each deadline as the DO's timer would. */
  advance(ms: number): void {
    const target = this.now + ms;
    for (let due = this.batcher.deadline(); due !== null && due <= target; due = this.batcher.deadline()) {
      this.now = due;
      const [batch] = this.accept([this.batcher.poll(due)]);
      expect(batch?.reason).toBe('hold');
      expect(this.now - (batch?.firstSampleAt ?? NaN)).toBe(this.opts.holdMs);
    }
    this.now = target;
  }

  checkInvariants(): void {
    const b = this.batcher;
    expect(b.bufferedBytes).toBe(this.inLen - this.outLen);
    const wb = b.windowBytes;
    expect(b.bufferedBytes).toBeLessThan(wb === 0 ? 2 : wb);
    const due = b.deadline();
    expect(due === null).toBe(b.bufferedBytes < 2);
    if (due !== null) expect(due, 'a buffered sample is past its hold time').toBeGreaterThan(this.now);
  }
}

describe('PcmBatcher properties (seeded)', () => {
  it('emits exactly the input, in order, flushed at every control point, within the window', () => {
    for (let seed = 1; seed <= 150; seed++) {
      const rng = new Rng(seed);
      const opts: BatchOptions = {
        rate: rng.pick(RATES),
        windowMs: rng.next() < 0.15 ? 0 : rng.int(10, 200),
        holdMs: rng.int(10, 200),
      };
      const h = new Harness(opts);
      let late = false;
      try {
        for (let step = 0; step < 120; step++) {
          const r = rng.next();
          if (r < 0.55) {
            const rate = rng.next() < 0.04 ? rng.pick(RATES) : h.batcher.options.rate;
            h.push(rng.bytes(rng.int(1, 3000)), rate, rng.next() < 0.2);
            late = false;
          } else if (r < 0.7) {
            h.control();
            late = false;
          } else if (r < 0.95) {
            h.advance(rng.int(0, 80));
          } else {
            // The DO's timer fires late: the next push must send the overdue audio at once.
            h.now += rng.int(0, 300);
            late = true;
          }
          if (!late) h.checkInvariants();
        }
        h.control();
        const s = h.batcher.stats;
        expect(s.bytesIn).toBe(h.inLen);
        expect(s.pcmBytesOut).toBe(h.outLen);
        expect(s.batchesOut).toBe(h.batches);
        expect(s.bytesOut).toBe(h.messageBytes);
        expect(s.durationMs.count).toBe(h.batches);
      } catch (err) {
        throw new Error(`seed ${seed} ${JSON.stringify(opts)}: ${String(err)}`, { cause: err });
      }
    }
  });

  it('never lets a batch exceed the window, splitting large frames into full batches', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const rng = new Rng(seed);
      const opts = { rate: rng.pick(RATES), windowMs: rng.int(10, 200), holdMs: 40 };
      const b = new PcmBatcher(opts);
      const wb = windowBytesOf(opts);
      const frame = rng.bytes(rng.int(wb * 2, wb * 5));
      const lead = rng.bytes(rng.int(0, wb - 1));
      const batches = [...b.push(lead, 0), ...b.push(frame, 0)];
      const full = Math.floor((lead.length + frame.length) / wb);
      expect(batches.map((x) => x.pcmBytes)).toEqual(Array<number>(full).fill(wb));
      expect(batches.every((x) => x.reason === 'full')).toBe(true);
      expect(b.bufferedBytes).toBe((lead.length + frame.length) % wb);
    }
  });
});

describe('PcmBatcher behaviour', () => {
  const opts16k: BatchOptions = { rate: 16000, windowMs: 40, holdMs: 40 };

  it('sends a partial batch via poll() once the hold time passes, with no further input', () => {
    const b = new PcmBatcher(opts16k);
    expect(b.push(seq(320), 100)).toEqual([]);
    expect(b.deadline()).toBe(140);
    expect(b.poll(139)).toBeNull();
    const batch = b.poll(140);
    expect(batch?.reason).toBe('hold');
    expect(batch?.firstSampleAt).toBe(100);
    expect(batch && decodeBatch(batch).pcm).toEqual(seq(320));
    expect(b.deadline()).toBeNull();
    expect(b.poll(1_000)).toBeNull();
  });

  it('times the hold from the oldest sample, not the latest frame', () => {
    const b = new PcmBatcher({ rate: 16000, windowMs: 100, holdMs: 30 });
    b.push(seq(100), 0);
    b.push(seq(100), 20);
    expect(b.deadline()).toBe(30);
    expect(b.poll(30)?.pcmBytes).toBe(200);
  });

  it('sends overdue audio together with the next frame when the timer fires late', () => {
    const b = new PcmBatcher(opts16k);
    b.push(seq(100), 0);
    const [batch, ...rest] = b.push(seq(60, 100), 55);
    expect(rest).toEqual([]);
    expect(batch?.reason).toBe('hold');
    expect(batch?.firstSampleAt).toBe(0);
    expect(batch && decodeBatch(batch).pcm).toEqual(seq(160));
  });

  it('emits a full window as soon as it fills', () => {
    const b = new PcmBatcher(opts16k);
    expect(b.windowBytes).toBe(1280);
    expect(b.push(seq(640), 0)).toEqual([]);
    const [batch] = b.push(seq(640, 640), 20);
    expect(batch?.reason).toBe('full');
    expect(batch?.durationMs).toBe(40);
    expect(batch?.firstSampleAt).toBe(0);
    expect(batch && decodeBatch(batch).pcm).toEqual(seq(1280));
    expect(b.bufferedBytes).toBe(0);
  });

  it('builds the exact upstream message', () => {
    const b = new PcmBatcher(opts16k);
    b.push(Uint8Array.of(1, 2, 3, 4), 0);
    expect(b.flush(0)?.message).toBe(
      '{"realtimeInput":{"audio":{"mimeType":"audio/pcm;rate=16000","data":"AQIDBA=="}}}',
    );
  });

  it('carries an odd byte across 1-byte frames without losing or misaligning any', () => {
    const b = new PcmBatcher(opts16k);
    const input = seq(2 * 1280 + 3);
    const out: Batch[] = [];
    input.forEach((byte, i) => out.push(...b.push(Uint8Array.of(byte), i * 0.001)));
    expect(out.map((x) => x.pcmBytes)).toEqual([1280, 1280]);
    expect(b.bufferedBytes).toBe(3);
    out.push(b.flush(10) ?? fail('nothing flushed'));
    expect(out.at(-1)?.pcmBytes).toBe(2);
    expect(b.bufferedBytes).toBe(1);
    expect(b.flush(10)).toBeNull();
    expect(b.deadline()).toBeNull();
    expect(b.push(Uint8Array.of(0xab), 11)).toEqual([]);
    out.push(b.flush(11) ?? fail('carried byte lost'));
    expect(decodeAll(out)).toEqual(Uint8Array.of(...input, 0xab));
    expect(b.stats.oddBytesCarried).toBe(Math.ceil(input.length / 2));
  });

  it('with window 0 sends every frame as is, even-aligned', () => {
    const b = new PcmBatcher({ rate: 16000, windowMs: 0, holdMs: 40 });
    expect(b.windowBytes).toBe(0);
    const a = b.push(seq(5000), 0);
    expect(a.map((x) => [x.pcmBytes, x.reason])).toEqual([[5000, 'frame']]);
    const odd = b.push(seq(7, 100), 1);
    expect(odd.map((x) => x.pcmBytes)).toEqual([6]);
    expect(b.bufferedBytes).toBe(1);
    expect(b.deadline()).toBeNull();
    expect(b.poll(1_000)).toBeNull();
    const next = b.push(seq(3, 200), 2);
    expect(next.map((x) => x.pcmBytes)).toEqual([4]);
    expect(decodeAll([...a, ...odd, ...next])).toEqual(concat([seq(5000), seq(7, 100), seq(3, 200)]));
    expect(b.push(Uint8Array.of(9), 3)).toEqual([]);
    expect(b.bufferedBytes).toBe(1);
  });

  it.each([8000, 24000, 48000])('declares rate %i and sizes the window from it', (rate) => {
    for (const windowMs of [10, 40, 200]) {
      const b = new PcmBatcher({ rate, windowMs, holdMs: 40 });
      const wb = (windowMs * rate * 2) / 1000;
      expect(b.windowBytes).toBe(wb);
      const batches = b.push(seq(wb * 3 + 10), 0);
      expect(batches.map((x) => x.pcmBytes)).toEqual([wb, wb, wb]);
      for (const x of batches) {
        expect(x.message).toContain(`"mimeType":"audio/pcm;rate=${rate}"`);
        expect(decodeBatch(x).rate).toBe(rate);
        expect(x.durationMs).toBe(windowMs);
      }
      expect(b.flush(0)?.pcmBytes).toBe(10);
    }
  });

  it('rounds a window that is not a whole number of samples down to whole samples', () => {
    expect(windowBytesOf({ rate: 11025, windowMs: 10 })).toBe(220);
    expect(new PcmBatcher({ rate: 44100, windowMs: 15, holdMs: 40 }).windowBytes).toBe(1322);
  });

  it('flushes at the old rate before switching', () => {
    const b = new PcmBatcher(opts16k);
    b.push(seq(501), 0);
    const [old, ...rest] = b.push(seq(4800, 50), 5, 24000);
    expect(old?.reason).toBe('rate');
    expect(old && decodeBatch(old)).toEqual({ rate: 16000, pcm: seq(500) });
    expect(b.options.rate).toBe(24000);
    expect(b.windowBytes).toBe(1920);
    // The carried byte from the old stream leads the new one, so the byte stream stays aligned.
    expect(rest.map((x) => [x.rate, x.pcmBytes])).toEqual([
      [24000, 1920],
      [24000, 1920],
    ]);
    const tail = b.flush(6);
    expect(decodeAll([old ?? fail('no old batch'), ...rest, tail ?? fail('no tail')])).toEqual(
      concat([seq(501), seq(4800, 50)]).subarray(0, 5300),
    );
    expect(b.stats.rateChanges).toBe(1);
  });

  it('batches JSON base64 audio like binary frames, switching rate on a different mimeType', () => {
    const b = new PcmBatcher(opts16k);
    expect(b.pushBase64(seq(300).toBase64(), 'audio/pcm;rate=16000', 0)).toEqual([]);
    expect(b.pushBase64(seq(300, 300).toBase64(), 'audio/pcm', 1)).toEqual([]);
    const url = seq(100, 600).toBase64({ alphabet: 'base64url', omitPadding: true });
    const [old] = b.pushBase64(url, 'audio/pcm; rate=8000', 2);
    expect(old && decodeBatch(old)).toEqual({ rate: 16000, pcm: seq(600) });
    expect(b.bufferedBytes).toBe(100);
    expect(b.flush(3)?.rate).toBe(8000);
    expect(() => b.pushBase64('AAAA', 'audio/opus', 4)).toThrow(BatchError);
    expect(() => b.pushBase64('!!', 'audio/pcm', 4)).toThrow(/not valid base64/);
    expect(() => b.pushBase64('AAAA', 'audio/pcm;rate=96000', 4)).toThrow(/8000 to 48000/);
    expect(b.stats.framesIn).toBe(3);
  });

  it('copies the input, so the caller may reuse its frame buffer', () => {
    const b = new PcmBatcher(opts16k);
    const frame = seq(333);
    b.push(frame, 0);
    frame.fill(0);
    const batch = b.flush(1);
    expect(batch && decodeBatch(batch).pcm).toEqual(seq(332));
  });

  it('keeps duration and wait statistics', () => {
    const b = new PcmBatcher(opts16k);
    b.push(seq(1280 * 3), 0);
    b.push(seq(640), 0);
    b.poll(40);
    const { durationMs, waitMs, byReason } = b.stats;
    expect(durationMs.snapshot()).toEqual({ count: 4, mean: 35, p50: 40, p95: 40, max: 40 });
    expect(durationMs.percentile(0)).toBe(20);
    expect(waitMs.max).toBe(40);
    expect(byReason).toMatchObject({ full: 3, hold: 1 });
  });
});

describe('Histogram', () => {
  it('computes mean and nearest-rank percentiles in bounded memory', () => {
    const h = new Histogram(100, 1);
    for (let v = 1; v <= 100; v++) h.record(v);
    expect(h.mean).toBe(50.5);
    expect(h.percentile(95)).toBe(95);
    expect(h.percentile(50)).toBe(50);
    expect(h.percentile(100)).toBe(100);
    h.record(5_000);
    expect(h.percentile(100)).toBe(5_000);
    expect(h.max).toBe(5_000);
  });

  it('rounds up to the bin edge and clamps to the observed range', () => {
    const h = new Histogram(250, 5);
    h.record(12.5);
    h.record(13);
    h.record(19);
    expect(h.percentile(50)).toBe(15);
    expect(h.percentile(100)).toBe(19);
    const one = new Histogram(250, 5);
    one.record(13);
    expect(one.percentile(0)).toBe(13);
    expect(new Histogram().percentile(95)).toBeNaN();
    expect(() => h.percentile(101)).toThrow(RangeError);
  });
});

describe('the minimum chunk', () => {
  const opts: BatchOptions = { rate: 16000, windowMs: 40, holdMs: 40, minMs: 20 };

  it('sends a frame of at least the minimum at once, straight from the frame, and never over the window', () => {
    const b = new PcmBatcher(opts);
    expect(b.push(seq(640), 0).map((x) => x.pcmBytes)).toEqual([640]);
    expect(b.push(seq(1000), 0).map((x) => x.pcmBytes)).toEqual([1000]);
    expect(b.push(seq(3000), 0).map((x) => x.pcmBytes)).toEqual([1280, 1280, 440]);
    expect(b.bufferedBytes).toBe(0);
    expect(b.deadline()).toBeNull();
  });

  it('coalesces smaller frames up to the minimum: 8 ms frames leave three at a time', () => {
    const b = new PcmBatcher(opts);
    const sizes: number[] = [];
    for (let i = 0; i < 9; i++) sizes.push(...b.push(seq(256), i * 8).map((x) => x.pcmBytes));
    expect(sizes).toEqual([768, 768, 768]);
    // What is left waits at most the hold time.
    b.push(seq(256), 72);
    expect(b.deadline()).toBe(72 + 40);
  });

  it('keeps an odd byte carried across a minimum-chunk send', () => {
    const b = new PcmBatcher(opts);
    const out = b.push(seq(641), 0);
    expect(out.map((x) => x.pcmBytes)).toEqual([640]);
    expect(b.bufferedBytes).toBe(1);
  });
});

describe('options', () => {
  it('uses the defaults when the client chooses nothing', () => {
    expect(resolveBatchOptions({})).toEqual({ rate: 16000, windowMs: 40, holdMs: 40, minMs: 20 });
    expect(resolveBatchOptions({ windowMs: undefined }, { rate: 24000, windowMs: 20, holdMs: 30 })).toEqual({
      rate: 24000,
      windowMs: 20,
      holdMs: 30,
      minMs: 20,
    });
  });

  it('accepts values within the bounds, as numbers or decimal strings, and window 0', () => {
    expect(resolveBatchOptions({ windowMs: '10', holdMs: 200, rate: '48000' })).toEqual({
      rate: 48000,
      windowMs: 10,
      holdMs: 200,
      minMs: 20,
    });
    expect(resolveBatchOptions({ windowMs: 0 }).windowMs).toBe(0);
    expect(resolveBatchOptions({ windowMs: 200, holdMs: 10, rate: 8000 })).toEqual({
      rate: 8000,
      windowMs: 200,
      holdMs: 10,
      minMs: 20,
    });
  });

  it.each([
    [{ windowMs: 5 }, 'windowMs', 'windowMs must be 0 (off) or an integer from 10 to 200, got 5'],
    [{ windowMs: 201 }, 'windowMs', 'got 201'],
    [{ windowMs: 12.5 }, 'windowMs', 'got 12.5'],
    [{ windowMs: '40ms' }, 'windowMs', 'got "40ms"'],
    // Strings are plain decimal digits only: no blank (a query's `batch_ms=`), space, hex or exponent.
    [{ windowMs: '' }, 'windowMs', 'got ""'],
    [{ windowMs: ' 40' }, 'windowMs', 'got " 40"'],
    [{ holdMs: '0x20' }, 'holdMs', 'got "0x20"'],
    [{ rate: '16e3' }, 'rate', 'got "16e3"'],
    [{ rate: '16000.0' }, 'rate', 'got "16000.0"'],
    [{ windowMs: -1 }, 'windowMs', 'got -1'],
    [{ windowMs: null }, 'windowMs', 'got null'],
    [{ holdMs: 0 }, 'holdMs', 'holdMs must be an integer from 10 to 200, got 0'],
    [{ holdMs: Number.NaN }, 'holdMs', 'got NaN'],
    [{ rate: 4000 }, 'rate', 'rate must be an integer from 8000 to 48000, got 4000'],
    [{ rate: 96000 }, 'rate', 'got 96000'],
    [{ rate: { n: 1 } }, 'rate', 'got object'],
    [{ minMs: 5 }, 'minMs', 'minMs must be an integer from 10 to 200, got 5'],
  ])('rejects %j with a clear error', (req, field, message) => {
    let caught: unknown;
    try {
      resolveBatchOptions(req);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(BatchError);
    const err = caught as BatchError;
    expect(err.field).toBe(field);
    expect(err.message).toContain(message);
    expect(new TextEncoder().encode(err.message).length).toBeLessThanOrEqual(123);
  });

  it('keeps error messages within a close reason even for long input', () => {
    const err = (() => {
      try {
        resolveBatchOptions({ rate: 'x'.repeat(500) });
      } catch (e) {
        return e as Error;
      }
      return fail('no error');
    })();
    expect(new TextEncoder().encode(err.message).length).toBeLessThanOrEqual(123);
  });

  it('reads deployment defaults from vars and names the var in errors', () => {
    expect(batchDefaultsFromVars({})).toEqual(DEFAULT_BATCH_OPTIONS);
    expect(batchDefaultsFromVars({ AUDIO_BATCH_WINDOW_MS: '' })).toEqual(DEFAULT_BATCH_OPTIONS);
    expect(batchDefaultsFromVars({ AUDIO_BATCH_WINDOW_MS: '20', AUDIO_INPUT_RATE: 24000 })).toEqual({
      rate: 24000,
      windowMs: 20,
      holdMs: 40,
      minMs: 20,
    });
    expect(batchDefaultsFromVars({ AUDIO_BATCH_MIN_MS: '40' }).minMs).toBe(40);
    expect(() => batchDefaultsFromVars({ AUDIO_BATCH_HOLD_MS: '500' })).toThrow(
      /^AUDIO_BATCH_HOLD_MS must be/,
    );
  });

  it('a BatchError is a 1007 close wherever it escapes on a socket', () => {
    const err = (() => {
      try {
        pcmRateOf('audio/pcm;rate=0');
      } catch (e) {
        return e;
      }
      return fail('no error');
    })();
    expect(err).toBeInstanceOf(RelayClose);
    expect((err as RelayClose).code).toBe(1007);
  });

  it('validates options given to the constructor and to setRate', () => {
    expect(() => new PcmBatcher({ rate: 16000, windowMs: 5, holdMs: 40 })).toThrow(BatchError);
    const b = new PcmBatcher(DEFAULT_BATCH_OPTIONS);
    expect(() => b.push(seq(2), 0, 1000)).toThrow(/rate/);
    expect(b.stats.framesIn).toBe(0);
  });

  it('parses audio/pcm mimeTypes', () => {
    expect(pcmRateOf('audio/pcm;rate=24000')).toBe(24000);
    expect(pcmRateOf('Audio/PCM; Rate = 8000')).toBe(8000);
    expect(pcmRateOf('audio/pcm;channels=1;rate=48000')).toBe(48000);
    expect(pcmRateOf('audio/pcm')).toBe(16000);
    expect(pcmRateOf('audio/opus')).toBeNull();
    expect(pcmRateOf('audio/pcmx;rate=16000')).toBeNull();
    expect(pcmRateOf('image/jpeg')).toBeNull();
    expect(() => pcmRateOf('audio/pcm;rate=')).toThrow(BatchError);
    expect(() => pcmRateOf('audio/pcm;rate=abc')).toThrow(
      /^realtimeInput\.audio\.mimeType rate .* got "abc"$/,
    );
    expect(() => pcmRateOf('audio/pcm;rate=16000.5')).toThrow(BatchError);
  });
});

function fail(message: string): never {
  throw new Error(message);
}
