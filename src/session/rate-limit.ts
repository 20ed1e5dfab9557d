// Flood control for client frames: a token bucket, so bursts pass and sustained floods are refused.

/** A browser's AudioWorklet sends ~125 frames/s at 8 ms; twice that sustained, plus bursts, is allowed. */
const CLIENT_MESSAGES_PER_SECOND = 250;
const CLIENT_MESSAGE_BURST = 1000;

export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    private readonly rate = CLIENT_MESSAGES_PER_SECOND,
    private readonly burst = CLIENT_MESSAGE_BURST,
    now = Date.now(),
  ) {
    this.tokens = burst;
    this.at = now;
  }

  /** Takes one token; false when the bucket is empty (the caller refuses the frame). */
  take(now = Date.now()): boolean {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) * this.rate) / 1000);
    this.at = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
