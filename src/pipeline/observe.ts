// What watches calls without taking part in them: metrics and traces. The
// pipeline tells each observer when a call starts, when it is forwarded to its
// backend and when that answered, and how the call ended, with the figures the
// audit row gets. With no observer configured none of this runs.

import type { Route } from "../dispatch/router.ts";
import type { SentinelError } from "../errors.ts";
import type { Call } from "./call.ts";
import type { Verdict } from "./steps.ts";

/** How a call ended, as its audit row says it. */
export type Ended = {
  route: Route | null;
  verdict: Verdict;
  /** null when it succeeded (a tool result with isError is `toolError`). */
  error: SentinelError | null;
  toolError: boolean;
  cancelled: boolean;
  /** From the request's arrival to its answer. */
  totalUs: number;
  /** Spent waiting for the backend (0 when it never got there). */
  backendUs: number;
};

/** One call, watched: what an observer's start() returns. */
export type Observation = {
  /** The steps passed: the call goes to its backend now. */
  forwarding?(route: Route): void;
  /** The backend answered (or failed, or was cancelled). */
  forwarded?(): void;
  ended(how: Ended): void;
};

export type CallObserver = {
  /** A call starts; null: not watched (sampled out). */
  start(call: Call): Observation | null;
};
