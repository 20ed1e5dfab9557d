// Flood control for client frames, measured the way a real-time client's traffic is: in bytes (audio time) as well
// as in frames. Two token buckets: a burst passes — a client flushing the audio it buffered through a network drop
// sends seconds of audio back to back — and a sustained flood is refused.

/**
 * Bytes: 8× real-time 16 kHz PCM16 (32 KB/s) sustained, and a burst of minutes of it (a reconnect backlog is
 * seconds). The burst is above what the upstream outbox holds unacknowledged (16 MiB of base64 JSON, ~12 MiB of
 * audio), so a burst Google cannot take closes as "not keeping up", and this bucket bounds what is sustained.
 */
export const CLIENT_BYTES_PER_SECOND = 256 * 1024;
export const CLIENT_BYTE_BURST = 24 * 1024 * 1024;
/**
 * Frames: what costs the relay per frame regardless of size. An AudioWorklet sends 125 frames/s at 8 ms; twice
 * that is sustained, and a burst of 2000 is 16 s of 8 ms frames (40 s of the usual 20 ms ones).
 */
export const CLIENT_MESSAGES_PER_SECOND = 250;
export const CLIENT_MESSAGE_BURST = 2000;

class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.at = now;
  }

  /** Takes `n` tokens; false when there are not enough (the caller refuses the frame). */
  take(n: number, now: number): boolean {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) * this.rate) / 1000);
    this.at = now;
    if (this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }
}

/** Why a frame was refused, for the close reason; null when it may pass. */
export type FloodVerdict = null | 'bytes' | 'frames';

export class FloodGuard {
  private readonly frames: TokenBucket;
  private readonly bytes: TokenBucket;

  constructor(now = Date.now()) {
    this.frames = new TokenBucket(CLIENT_MESSAGES_PER_SECOND, CLIENT_MESSAGE_BURST, now);
    this.bytes = new TokenBucket(CLIENT_BYTES_PER_SECOND, CLIENT_BYTE_BURST, now);
  }

  take(bytes: number, now = Date.now()): FloodVerdict {
    if (!this.frames.take(1, now)) return 'frames';
    if (!this.bytes.take(bytes, now)) return 'bytes';
    return null;
  }
}
