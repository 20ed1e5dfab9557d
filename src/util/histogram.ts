// A fixed-size histogram: means and percentiles of a stream without keeping the stream.

/**
 * Bounded histogram for mean and percentiles: value v lands in bin ceil(v / binWidth), values above
 * maxValue in one overflow bin. percentile() returns the bin's upper edge clamped to [min, max], so it is
 * exact for values on the bin grid and otherwise overestimates by less than binWidth.
 */
export class Histogram {
  readonly #bins: Uint32Array;
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;

  constructor(
    maxValue = 250,
    readonly binWidth = 1,
  ) {
    this.#bins = new Uint32Array(Math.ceil(maxValue / binWidth) + 2);
  }

  record(value: number): void {
    const i = Math.min(Math.max(Math.ceil(value / this.binWidth), 0), this.#bins.length - 1);
    this.#bins[i] = (this.#bins[i] ?? 0) + 1;
    this.count++;
    this.sum += value;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
  }

  get mean(): number {
    return this.count === 0 ? NaN : this.sum / this.count;
  }

  /** Nearest-rank percentile, p in [0, 100]; NaN when empty. */
  percentile(p: number): number {
    if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be in [0, 100], got ${p}`);
    if (this.count === 0) return NaN;
    const rank = Math.max(1, Math.ceil((p / 100) * this.count));
    const last = this.#bins.length - 1;
    let seen = 0;
    for (let i = 0; i < last; i++) {
      seen += this.#bins[i] ?? 0;
      if (seen >= rank) return Math.min(Math.max(i * this.binWidth, this.min), this.max);
    }
    return this.max;
  }

  snapshot(): { count: number; mean: number; p50: number; p95: number; max: number } {
    return {
      count: this.count,
      mean: this.mean,
      p50: this.percentile(50),
      p95: this.percentile(95),
      max: this.max,
    };
  }
}
