// backoff.ts: full-jitter exponential backoff. Attempt n waits a uniform draw between `minMs`
// and min(maxMs, minMs · 2^n): clients that lost the same server spread their retries instead
// of returning together, and no retry comes sooner than `minMs` or later than `maxMs`.

export interface BackoffOptions {
  /** The shortest wait, and the first attempt's (default 500 ms). */
  minMs?: number;
  /** The longest wait (default 20 s). */
  maxMs?: number;
  /** A uniform draw in [0, 1); Math.random by default (tests pass a seeded one). */
  random?: () => number;
}

export class Backoff {
  readonly minMs: number;
  readonly maxMs: number;
  private readonly random: () => number;
  private attempt = 0;

  constructor(options: BackoffOptions = {}) {
    this.minMs = options.minMs ?? 500;
    this.maxMs = options.maxMs ?? 20_000;
    this.random = options.random ?? Math.random;
    if (!(this.minMs > 0) || !(this.maxMs >= this.minMs))
      throw new RangeError(`backoff needs 0 < minMs <= maxMs (got ${this.minMs}, ${this.maxMs})`);
  }

  /** The ceiling of the next wait: min(maxMs, minMs · 2^attempt). */
  ceiling(): number {
    return Math.min(this.maxMs, this.minMs * 2 ** Math.min(this.attempt, 52));
  }

  /** The next wait in ms; each call doubles the ceiling until it reaches maxMs. */
  next(): number {
    const ceiling = this.ceiling();
    this.attempt += 1;
    return this.minMs + this.random() * (ceiling - this.minMs);
  }

  /** After a success: the next wait is `minMs` again. */
  reset(): void {
    this.attempt = 0;
  }

  get attempts(): number {
    return this.attempt;
  }
}
