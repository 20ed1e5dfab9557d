// Drives the pure PcmBatcher with a clock and one timer: client audio (binary PCM or JSON base64) in, upstream
// `realtimeInput.audio` batches out, the oldest buffered sample never held past the hold time.
import { BatchError, PcmBatcher, type Batch, type BatchOptions } from './batcher';
import { CloseCode, RelayClose } from './close-codes';

export class AudioInput {
  private readonly batcher: PcmBatcher;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    readonly options: BatchOptions,
    private readonly sink: (batch: Batch) => void,
  ) {
    this.batcher = new PcmBatcher(options);
  }

  /** Raw PCM16LE from a binary frame, at the connection's declared rate. */
  pushPcm(pcm: Uint8Array): void {
    this.emit(() => this.batcher.push(pcm, Date.now(), this.options.rate));
  }

  /** A JSON `realtimeInput.audio` chunk (its mimeType may declare another rate). */
  pushBase64(data: string, mimeType: string): void {
    this.emit(() => this.batcher.pushBase64(data, mimeType, Date.now()));
  }

  /** Sends everything buffered now: called before any other client message so nothing is reordered. */
  flush(): void {
    const batch = this.batcher.flush(Date.now());
    if (batch) this.sink(batch);
    this.schedule();
  }

  /** Flushes and stops the timer (the connection is going away). */
  close(): void {
    this.flush();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private emit(push: () => readonly Batch[]): void {
    let batches: readonly Batch[];
    try {
      batches = push();
    } catch (err) {
      if (err instanceof BatchError) throw new RelayClose(CloseCode.InvalidPayload, err.message);
      throw err;
    }
    for (const batch of batches) this.sink(batch);
    this.schedule();
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
        if (batch) this.sink(batch);
        this.schedule();
      },
      Math.max(0, deadline - Date.now()),
    );
  }
}
