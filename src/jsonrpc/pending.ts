// Requests sent and not yet answered, by id: what a JSON-RPC requester keeps,
// whichever side it talks to. Peer uses it toward backends, Session toward a
// client (requests sent on a backend's behalf). Each request times out on its
// own; an answer, a cancellation or a failure settles it exactly once.

import type { SentinelError } from "../errors.ts";
import type { JsonRpcId } from "./message.ts";

type Entry<T> = {
  resolve: (result: Record<string, unknown>) => void;
  reject: (err: SentinelError) => void;
  timer: ReturnType<typeof setTimeout>;
  /** What the requester keeps about the request (Peer: its caller's options). */
  data: T;
};

export class PendingRequests<T = undefined> {
  private readonly entries = new Map<JsonRpcId, Entry<T>>();

  /**
   * Waits for the answer to request `id`. After `timeoutMs` it is dropped and
   * `timedOut()` names the error; a late answer then finds nothing.
   */
  add(id: JsonRpcId, data: T, timeoutMs: number, timedOut: () => SentinelError): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.entries.delete(id);
        reject(timedOut());
      }, timeoutMs);
      this.entries.set(id, { resolve, reject, timer, data });
    });
  }

  data(id: JsonRpcId): T | undefined {
    return this.entries.get(id)?.data;
  }

  /** The answer arrived; false when nothing waits for it (timed out, cancelled, unknown). */
  resolve(id: JsonRpcId, result: Record<string, unknown>): boolean {
    const e = this.take(id);
    e?.resolve(result);
    return e !== undefined;
  }

  reject(id: JsonRpcId, err: SentinelError): boolean {
    const e = this.take(id);
    e?.reject(err);
    return e !== undefined;
  }

  /** Fails every request still waiting. */
  rejectAll(err: SentinelError): void {
    const all = [...this.entries.values()];
    this.entries.clear();
    for (const e of all) {
      clearTimeout(e.timer);
      e.reject(err);
    }
  }

  *values(): IterableIterator<T> {
    for (const e of this.entries.values()) yield e.data;
  }

  get size(): number {
    return this.entries.size;
  }

  private take(id: JsonRpcId): Entry<T> | undefined {
    const e = this.entries.get(id);
    if (!e) return undefined;
    this.entries.delete(id);
    clearTimeout(e.timer);
    return e;
  }
}
