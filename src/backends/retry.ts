// Retrying a read that changes nothing: only when the backend was unreachable
// or too slow (an error it answered is an answer), after a jittered backoff.

import { BackendTimeout, BackendUnavailable } from "../errors.ts";

/** Whether a failed request may succeed if sent again: the backend did not answer it. */
export function isTransient(err: unknown): err is BackendUnavailable | BackendTimeout {
  return err instanceof BackendUnavailable || err instanceof BackendTimeout;
}

/** The wait before retry `attempt` (0-based): 100 ms doubling to at most 2 s, times 0.5-1.5 so that callers spread. */
export function backoffMs(attempt: number): number {
  return Math.min(100 * 2 ** attempt, 2000) * (0.5 + Math.random());
}
