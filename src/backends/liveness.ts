// The liveness ping of a 2025 connection: every interval one `ping`, never two
// at once; what it says (an answer, or the count of pings missed in a row) is
// the backend's to act on (backend.ts: degraded, ready again, reconnected).
// A 2026-07-28 backend is never pinged: its liveness is its transport's.

import { BackendError, BackendTimeout } from "../errors.ts";
import type { Peer } from "./peer.ts";

export type LivenessConfig = { intervalMs: number; timeoutMs: number };

export type LivenessEvents = {
  /** The connection answered (an error answer is an answer: a server without ping, say). */
  answered(peer: Peer): void;
  /** A ping timed out; `missed`: how many in a row. */
  missed(peer: Peer, missed: number): void;
};

export class Liveness {
  private timer: ReturnType<typeof setInterval> | null = null;
  private missedInRow = 0;

  constructor(
    private readonly config: LivenessConfig,
    private readonly events: LivenessEvents,
  ) {}

  /** Pings `peer` from now on (instead of any earlier connection); an interval of 0 never pings. */
  watch(peer: Peer, current: () => Peer | null): void {
    this.stop();
    this.missedInRow = 0;
    const { intervalMs, timeoutMs } = this.config;
    if (intervalMs <= 0) return;
    let pinging = false;
    this.timer = setInterval(() => {
      if (pinging || current() !== peer) return;
      pinging = true;
      peer
        .request("ping", undefined, timeoutMs)
        .then(
          () => this.answered(peer),
          (err) => {
            // A lost connection is the backend's lost() already; only a timeout is a missed ping.
            if (err instanceof BackendTimeout) this.events.missed(peer, ++this.missedInRow);
            else if (err instanceof BackendError) this.answered(peer);
          },
        )
        .finally(() => (pinging = false));
    }, intervalMs);
    this.timer.unref?.();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private answered(peer: Peer): void {
    this.missedInRow = 0;
    this.events.answered(peer);
  }
}
