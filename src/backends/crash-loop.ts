// A stdio server that exits `restarts` times within `windowMs` is in a crash
// loop: it is marked down instead of being restarted forever.

export type CrashLoopConfig = { restarts: number; windowMs: number };

export class CrashLoop {
  /** When it exited lately, within the window. */
  private exits: number[] = [];

  constructor(private readonly config: CrashLoopConfig) {}

  /** Counts an exit; why it is not to be restarted again, or null while it may be. */
  exited(now = Date.now()): string | null {
    const { restarts, windowMs } = this.config;
    this.exits = this.exits.filter((t) => now - t < windowMs);
    this.exits.push(now);
    if (this.exits.length < restarts) return null;
    return `crashed ${this.exits.length} times in ${Math.ceil((now - this.exits[0]!) / 1000)}s; not restarted`;
  }

  /** A restart by hand starts the count afresh. */
  reset(): void {
    this.exits = [];
  }
}
