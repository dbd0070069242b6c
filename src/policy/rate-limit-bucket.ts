// One budget's state: a token bucket that refills continuously, so a client
// spending its budget evenly is never refused and a burst is capped at `limit`.

import type { Rate } from "../config/load.ts";

/** Milliseconds from an arbitrary origin; only differences matter. */
export type Clock = () => number;

// performance.now() is monotonic: a wall-clock step must not refill or drain budgets.
export const monotonic: Clock = () => performance.now();

export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private rate: Rate,
    private readonly now: Clock = monotonic,
  ) {
    this.tokens = rate.limit;
    this.last = now();
  }

  /** 0 when a token was taken; otherwise the ms until one is available, and nothing is taken. */
  take(t = this.now()): number {
    const wait = this.wait(t);
    if (wait === 0) this.tokens = Math.max(0, this.tokens - 1);
    return wait;
  }

  /** The ms until a token is available (0: now), taking nothing. */
  wait(t = this.now()): number {
    this.refill(t);
    // The tolerance absorbs float error, so that waiting the answer is always enough.
    if (this.tokens >= 1 - 1e-9) return 0;
    // "0/min" never refills; answer a period so that clients back off rather than spin.
    if (this.rate.limit === 0) return this.rate.periodMs;
    return Math.ceil(((1 - this.tokens) * this.rate.periodMs) / this.rate.limit - 1e-6);
  }

  /** Full again: forgetting this bucket loses nothing, a new one would start the same. */
  isFull(t = this.now()): boolean {
    this.refill(t);
    return this.tokens >= this.rate.limit;
  }

  /** Switches to another rate keeping what was spent, so that changing roles does not reset a budget. */
  retune(rate: Rate, t = this.now()): void {
    if (rate === this.rate) return;
    this.refill(t);
    this.rate = rate;
    this.tokens = Math.min(this.tokens, rate.limit);
  }

  private refill(t: number): void {
    const elapsed = Math.max(0, t - this.last);
    this.last = Math.max(this.last, t);
    if (this.rate.periodMs > 0) {
      this.tokens = Math.min(this.rate.limit, this.tokens + (elapsed * this.rate.limit) / this.rate.periodMs);
    }
  }
}
