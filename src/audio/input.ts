// Drives the pure PcmBatcher with a clock and one timer: client audio (binary PCM or JSON base64) in, upstream
// `realtimeInput.audio` batches out, the oldest buffered sample never held past the hold time.
import { PcmBatcher, pcmRateOf, type Batch, type BatchOptions } from './batcher';
import { base64DecodedLength } from '../util/base64';
import type { ClientOrigin } from '../upstream/resumption';

/** Standard base64 (what the Live API's JSON carries); anything else takes the decoding path and its errors. */
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export class AudioInput {
  private readonly batcher: PcmBatcher;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private timerDeadline: number | null = null;
  /** Client frames not yet wholly sent upstream: where each ends in the input byte stream, and which it was. */
  private pending: Array<{ end: number; origin: ClientOrigin }> = [];
  private pendingHead = 0;
  private emittedBytes = 0;
  /** Client audio bytes passed through without the batcher (those through it are its `stats.bytesIn`). */
  private passedBytes = 0;
  /** The last client frame whose every byte has gone upstream. */
  private completed: ClientOrigin | null = null;

  constructor(
    readonly options: BatchOptions,
    private readonly sink: (batch: Batch, completes: ClientOrigin | null) => void,
  ) {
    this.batcher = new PcmBatcher(options);
  }

  /** Raw PCM16LE from a binary frame, at the connection's declared rate. */
  pushPcm(pcm: Uint8Array, origin: ClientOrigin): void {
    this.emit(this.batcher.push(pcm, Date.now(), this.options.rate), origin);
  }

  /**
   * A JSON `realtimeInput.audio` chunk (its mimeType may declare another rate). `raw` is the client's own frame
   * when it can go upstream as it is: then a chunk that needs no batching (nothing buffered, the current rate, a
   * minimum chunk or batching off) is forwarded without a base64 decode and re-encode.
   */
  pushBase64(data: string, mimeType: string, origin: ClientOrigin, raw: string | null = null): void {
    if (raw !== null && this.passThrough(raw, data, mimeType, origin)) return;
    this.emit(this.batcher.pushBase64(data, mimeType, Date.now()), origin);
  }

  private passThrough(raw: string, data: string, mimeType: string, origin: ClientOrigin): boolean {
    const batcher = this.batcher;
    if (batcher.bufferedBytes !== 0 || data.length % 4 !== 0) return false;
    const bytes = base64DecodedLength(data);
    const passes = batcher.windowBytes === 0 || (bytes >= batcher.minBytes && bytes <= batcher.windowBytes);
    if (!passes || bytes % 2 !== 0 || bytes === 0 || !BASE64.test(data)) return false;
    const rate = pcmRateOf(mimeType);
    if (rate !== batcher.options.rate) return false;
    const now = Date.now();
    this.passedBytes += bytes;
    this.pending.push({ end: this.inBytes(), origin });
    this.send({
      message: raw,
      pcmBytes: bytes,
      durationMs: (bytes * 500) / rate,
      rate,
      firstSampleAt: now,
      reason: 'frame',
    });
    return true;
  }

  /** Sends everything buffered now: called before any other client message so nothing is reordered. */
  flush(): void {
    const batch = this.batcher.flush(Date.now());
    if (batch) this.send(batch);
    this.schedule();
  }

  /** Flushes and stops the timer (the connection is going away). */
  close(): void {
    this.flush();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.timerDeadline = null;
  }

  /** Client audio bytes in, whichever way they went (batched or passed through). */
  private inBytes(): number {
    return this.batcher.stats.bytesIn + this.passedBytes;
  }

  /**
   * A client frame's batches, after the batcher took its bytes: the frame completes once they are all sent. (A
   * BatchError from the batcher never gets here: it is already a 1007 close.)
   */
  private emit(batches: readonly Batch[], origin: ClientOrigin): void {
    this.pending.push({ end: this.inBytes(), origin });
    for (const batch of batches) this.send(batch);
    this.schedule();
  }

  private send(batch: Batch): void {
    this.emittedBytes += batch.pcmBytes;
    const pending = this.pending;
    while (this.pendingHead < pending.length && pending[this.pendingHead]!.end <= this.emittedBytes)
      this.completed = pending[this.pendingHead++]!.origin;
    if (this.pendingHead > 256 && this.pendingHead * 2 > pending.length) {
      this.pending = pending.slice(this.pendingHead);
      this.pendingHead = 0;
    }
    this.sink(batch, this.completed);
  }

  /** One timer per batch: armed when a batch starts, left alone while frames join it, cleared when it leaves. */
  private schedule(): void {
    const deadline = this.batcher.deadline();
    if (deadline === this.timerDeadline) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.timerDeadline = deadline;
    if (deadline === null) return;
    this.timer = setTimeout(
      () => {
        this.timer = null;
        this.timerDeadline = null;
        const batch = this.batcher.poll(Date.now());
        if (batch) this.send(batch);
        this.schedule();
      },
      Math.max(0, deadline - Date.now()),
    );
  }
}
