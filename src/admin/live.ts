// The admin page's live view: a call observer (pipeline/observe.ts) that tells
// the pages watching (GET /admin/api/live, SSE) of each call as it ends. It is
// among the gateway's observers only while a page watches: with none open,
// calls pay nothing for it.

import type { Call } from "../pipeline/call.ts";
import type { CallObserver, Ended, Observation } from "../pipeline/observe.ts";

/** One ended call, as the live view shows it. */
export type LiveCall = {
  ts: number;
  identity: string;
  method: string;
  target: string | null;
  backend: string | null;
  outcome: "ok" | "error";
  decision: string | null;
  latencyMs: number;
};

export class AdminFeed implements CallObserver {
  private readonly watchers = new Set<(c: LiveCall) => void>();

  /** `observers`: the list the pipeline reads on each call (the gateway's). */
  constructor(private readonly observers: CallObserver[]) {}

  start(call: Call): Observation | null {
    const ts = Date.now();
    return {
      ended: (how: Ended) => {
        const seen: LiveCall = {
          ts,
          identity: call.identity.sub,
          method: call.request.method,
          target: how.route?.target ?? null,
          backend: how.route?.backend?.name ?? null,
          // As the audit row says it: a refusal is an error whose decision says why.
          outcome: how.error || how.toolError ? "error" : "ok",
          decision: how.verdict.decision,
          latencyMs: Math.round(how.totalUs) / 1000,
        };
        for (const w of this.watchers) w(seen);
      },
    };
  }

  /** Calls `watch` for each call that ends from now on; the function returned stops it. */
  watch(watch: (c: LiveCall) => void): () => void {
    this.watchers.add(watch);
    if (!this.observers.includes(this)) this.observers.push(this);
    return () => {
      this.watchers.delete(watch);
      const at = this.observers.indexOf(this);
      if (this.watchers.size === 0 && at >= 0) this.observers.splice(at, 1);
    };
  }
}
