// One backoff for everything the relay retries: upstream reconnects and Google's token endpoint.

export interface BackoffPolicy {
  baseDelayMs: number;
  maxDelayMs: number;
}

/**
 * Exponential backoff with full jitter (AWS's "full jitter", floored at the base): a random delay in
 * [base, min(max, base·2^attempt)]. `attempt` counts from 0.
 */
export function backoffDelay(
  attempt: number,
  policy: BackoffPolicy,
  random: () => number = Math.random,
): number {
  const { baseDelayMs, maxDelayMs } = policy;
  const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** attempt);
  return Math.round(baseDelayMs + random() * Math.max(0, ceiling - baseDelayMs));
}

/** A number of attempts that share a time budget; `next()` gives the next delay, or null when spent. */
export class RetryBudget {
  private attempt = 0;
  private startedAt = 0;

  constructor(
    private readonly policy: BackoffPolicy & { attempts: number; budgetMs: number },
    private readonly now: () => number = Date.now,
  ) {}

  /** A fresh budget from now (after a stable period, or for a new failure). */
  restart(): void {
    this.attempt = 0;
    this.startedAt = this.now();
  }

  get attempts(): number {
    return this.attempt;
  }

  next(): number | null {
    if (this.startedAt === 0) this.restart();
    if (this.attempt >= this.policy.attempts || this.now() - this.startedAt > this.policy.budgetMs)
      return null;
    return backoffDelay(this.attempt++, this.policy);
  }
}
