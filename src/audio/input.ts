// Drives the pure PcmBatcher with a clock and one timer: client audio (binary PCM or JSON base64) in, upstream
// `realtimeInput.audio` batches out, the oldest buffered sample never held past the hold time.
import { BatchError, PcmBatcher, type Batch, type BatchOptions } from './batcher';
import { CloseCode, RelayClose } from '../live-api/close-codes';
import type { ClientOrigin } from '../upstream/resumption';

export class AudioInput {
  private readonly batcher: PcmBatcher;
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** Client frames not yet wholly sent upstream: where each ends in the input byte stream, and which it was. */
  private pending: Array<{ end: number; origin: ClientOrigin }> = [];
  private pendingHead = 0;
  private emittedBytes = 0;
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
    this.emit(() => this.batcher.push(pcm, Date.now(), this.options.rate), origin);
  }

  /** A JSON `realtimeInput.audio` chunk (its mimeType may declare another rate). */
  pushBase64(data: string, mimeType: string, origin: ClientOrigin): void {
    this.emit(() => this.batcher.pushBase64(data, mimeType, Date.now()), origin);
  }

  /** The last client frame the batches sent so far complete (an odd carried byte keeps its frame open). */
  get lastCompleted(): ClientOrigin | null {
    return this.completed;
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
  }

  private emit(push: () => readonly Batch[], origin: ClientOrigin): void {
    let batches: readonly Batch[];
    try {
      batches = push();
    } catch (err) {
      if (err instanceof BatchError) throw new RelayClose(CloseCode.InvalidPayload, err.message);
      throw err;
    }
    this.pending.push({ end: this.batcher.stats.bytesIn, origin });
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

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const deadline = this.batcher.deadline();
    if (deadline === null) return;
    this.timer = setTimeout(
      () => {
        this.timer = null;
        const batch = this.batcher.poll(Date.now());
        if (batch) this.send(batch);
        this.schedule();
      },
      Math.max(0, deadline - Date.now()),
    );
  }
}
