// A circuit breaker for one backend. After `failures` failures in a row (the
// backend unreachable or not answering in time) it opens: calls fail fast for
// `coolDownMs`. Then it is half-open: one probe call goes through; its success
// closes the breaker, its failure opens it again. Nothing runs on a timer: the
// cool-down is read from the clock when a call asks, so a closed breaker costs
// one comparison per call.

export type CircuitState = "closed" | "open" | "half-open";

export type BreakerOptions = { failures: number; coolDownMs: number };

export class Breaker {
  private failures = 0;
  /** When it opened; 0 while closed. */
  private openedAt = 0;
  /** When the half-open probe was let through; 0 if none is out. */
  private probeAt = 0;

  constructor(
    private readonly options: BreakerOptions,
    /** Told when it opens (again, after a failed probe) or closes (the backend shows "open-circuit" while open). */
    private readonly onChange: (open: boolean) => void = () => {},
    private readonly now: () => number = Date.now,
  ) {}

  get state(): CircuitState {
    if (this.openedAt === 0) return "closed";
    return this.now() - this.openedAt >= this.options.coolDownMs ? "half-open" : "open";
  }

  /** How long calls still fail fast; 0 when closed or half-open. */
  get retryAfterMs(): number {
    if (this.openedAt === 0) return 0;
    return Math.max(0, this.openedAt + this.options.coolDownMs - this.now());
  }

  /**
   * Whether a call may go now: 0 if it may, else the milliseconds until it
   * may. Half-open lets one probe through; one that never reports back (refused
   * before it was sent, say) is given up after another cool-down.
   */
  admit(): number {
    if (this.openedAt === 0) return 0;
    const t = this.now();
    const wait = this.openedAt + this.options.coolDownMs - t;
    if (wait > 0) return wait;
    if (this.probeAt !== 0 && t - this.probeAt < this.options.coolDownMs) return this.options.coolDownMs - (t - this.probeAt);
    this.probeAt = t;
    return 0;
  }

  /** The backend answered (a result or its own JSON-RPC error). */
  succeeded(): void {
    if (this.failures === 0 && this.openedAt === 0) return;
    this.failures = 0;
    this.probeAt = 0;
    if (this.openedAt !== 0) {
      this.openedAt = 0;
      this.onChange(false);
    }
  }

  /** The backend was unreachable or did not answer in time. */
  failed(): void {
    this.failures++;
    if (this.openedAt !== 0) {
      // The probe failed (or a call sent before it opened): a new cool-down.
      if (this.state === "half-open" || this.probeAt !== 0) {
        this.openedAt = this.now();
        this.probeAt = 0;
        this.onChange(true);
      }
      return;
    }
    if (this.failures >= this.options.failures) {
      this.openedAt = this.now();
      this.probeAt = 0;
      this.onChange(true);
    }
  }
}
