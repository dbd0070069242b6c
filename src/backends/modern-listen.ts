// A modern backend sends change notifications only on a subscriptions/listen
// stream (§1.6): one is kept per backend, filtered to the lists it says can
// change plus the resource URIs Sentinel is subscribed to. A filter is fixed
// per listen, so a new subscription opens a new listen, waits for its
// acknowledgement, and only then closes the old one (make-before-break): no
// update falls between them. A listen that drops is opened again with
// backoff, never in a hot loop. On HTTP a listen is a long POST answered with
// an SSE stream; on stdio its notifications arrive tagged with its id.

import { BackendTimeout, BackendUnavailable } from "../errors.ts";
import type { Notification } from "../jsonrpc/message.ts";
import type { Logger } from "../log.ts";
import { META } from "../jsonrpc/mcp-meta.ts";
import { isObject, withEnvelope } from "./modern-envelope.ts";
import type { Peer } from "./peer.ts";
import { CancelSignal } from "./request.ts";

export type ListenFilter = {
  toolsListChanged?: true;
  promptsListChanged?: true;
  resourcesListChanged?: true;
  resourceSubscriptions?: string[];
};

type Listen = {
  id: number;
  filter: ListenFilter;
  cancel: CancelSignal;
  acked: PromiseWithResolvers<void>;
  /** What of the filter the backend said it honours, once it acknowledged. */
  honoured: Record<string, unknown> | null;
  opened: number;
};

const ACK_TIMEOUT_MS = 10_000;
// A listen lasts as long as the connection: no request timeout applies to it.
const FOREVER_MS = 2 ** 31 - 1;
const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 60_000;
// A listen that stayed up this long was healthy: the next drop starts the backoff over.
const HEALTHY_MS = 30_000;

export class ModernListen {
  /** The listen whose notifications count; another may be opening to replace it. */
  private current: Listen | null = null;
  private readonly open = new Map<number, Listen>();
  private readonly uris = new Set<string>();
  private queue: Promise<unknown> = Promise.resolve();
  private failures = 0;
  private retry: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;

  constructor(
    private readonly peer: Peer,
    /** The lists the backend says may change (its listChanged capabilities); none on a dedicated connection. */
    private readonly lists: { tools: boolean; prompts: boolean; resources: boolean },
    private readonly log: Logger,
  ) {}

  /** Opens the first listen, if there is anything to listen for; resolves when it is acknowledged or has failed. */
  start(): Promise<void> {
    return this.refilter().catch((err) => this.reopenLater(`cannot listen: ${(err as Error).message}`));
  }

  subscribe(uri: string): Promise<void> {
    if (this.uris.has(uri)) return Promise.resolve();
    this.uris.add(uri);
    return this.refilter().then(
      () => {
        const honoured = this.current?.honoured?.resourceSubscriptions;
        if (!Array.isArray(honoured) || !honoured.includes(uri)) this.log.warn(`the backend did not take the subscription to ${uri}`);
      },
      (err) => {
        this.uris.delete(uri);
        throw err;
      },
    );
  }

  unsubscribe(uri: string): Promise<void> {
    if (!this.uris.delete(uri)) return Promise.resolve();
    // Failing that, the old listen stays: a few updates too many, which Subscriptions routes to no one.
    return this.refilter().catch((err) => this.log.warn(`cannot narrow the listen: ${(err as Error).message}`));
  }

  /** Listens opened and not yet ended (they are requests waiting at the peer, but no caller's). */
  get size(): number {
    return this.open.size;
  }

  /**
   * A notification from the backend: the listen's own messages (acknowledgement,
   * its end) are taken here, a change notification on the listen in use comes
   * back without its tag, one from a listen being replaced is dropped (null), and
   * anything else comes back as it is.
   */
  take(n: Notification): Notification | null {
    const p = n.params;
    if (n.method === "notifications/cancelled") {
      const listen = typeof p?.requestId === "number" ? this.open.get(p.requestId) : undefined;
      if (!listen) return n;
      listen.cancel.cancel("ended by the backend");
      return null;
    }
    const meta = p?._meta;
    const id = isObject(meta) ? meta[META.subscriptionId] : undefined;
    if (id === undefined) return n;
    const listen = typeof id === "number" ? this.open.get(id) : undefined;
    if (n.method === "notifications/subscriptions/acknowledged") {
      if (listen) {
        listen.honoured = isObject(p?.notifications) ? p.notifications : {};
        listen.acked.resolve();
      }
      return null;
    }
    if (!listen || listen !== this.current) return null;
    const { [META.subscriptionId]: _, ...rest } = meta as Record<string, unknown>;
    const { _meta: __, ...params } = p!;
    return { ...n, params: Object.keys(rest).length > 0 ? { ...params, _meta: rest } : params };
  }

  stop(): void {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    this.current = null;
    for (const listen of [...this.open.values()]) listen.cancel.cancel("stopping");
  }

  private filter(): ListenFilter | null {
    const f: ListenFilter = {};
    if (this.lists.tools) f.toolsListChanged = true;
    if (this.lists.prompts) f.promptsListChanged = true;
    if (this.lists.resources) f.resourcesListChanged = true;
    if (this.uris.size > 0) f.resourceSubscriptions = [...this.uris].sort();
    return Object.keys(f).length > 0 ? f : null;
  }

  /** Brings the listen in line with the filter wanted now; one change at a time. */
  private refilter(): Promise<void> {
    const next = this.queue.then(() => this.replace());
    this.queue = next.catch(() => {});
    return next;
  }

  private async replace(): Promise<void> {
    if (this.stopped) return;
    const filter = this.filter();
    const old = this.current;
    if (old && JSON.stringify(old.filter) === JSON.stringify(filter)) return;
    if (!filter) {
      this.current = null;
      old?.cancel.cancel("nothing to listen for");
      return;
    }
    const fresh = this.listen(filter);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new BackendTimeout(`${this.peer.backend} (subscriptions/listen acknowledgement)`, ACK_TIMEOUT_MS)), ACK_TIMEOUT_MS);
    });
    try {
      await Promise.race([fresh.acked.promise, timeout]);
    } catch (err) {
      fresh.cancel.cancel("not acknowledged");
      throw err;
    } finally {
      clearTimeout(timer);
    }
    if (this.stopped) return fresh.cancel.cancel("stopping");
    this.current = fresh;
    old?.cancel.cancel("replaced");
  }

  private listen(filter: ListenFilter): Listen {
    const cancel = new CancelSignal();
    const { id, answer } = this.peer.requestWithId("subscriptions/listen", withEnvelope({ notifications: filter }, {}), FOREVER_MS, { cancel });
    const listen: Listen = { id, filter, cancel, acked: Promise.withResolvers(), honoured: null, opened: Date.now() };
    listen.acked.promise.catch(() => {}); // whoever waits sees it; a listen closed unacknowledged is not an error
    this.open.set(id, listen);
    answer.then(
      () => this.ended(listen, "closed by the backend"),
      (err: Error) => this.ended(listen, err.message),
    );
    return listen;
  }

  private ended(listen: Listen, why: string): void {
    this.open.delete(listen.id);
    listen.acked.reject(new BackendUnavailable(`subscriptions/listen ended before its acknowledgement: ${why}`));
    if (this.stopped || listen !== this.current) return;
    this.current = null;
    if (Date.now() - listen.opened > HEALTHY_MS) this.failures = 0;
    this.reopenLater(`change notifications ended (${why})`);
  }

  private reopenLater(why: string): void {
    if (this.stopped || this.retry) return;
    const delay = Math.min(RETRY_FIRST_MS * 2 ** this.failures, RETRY_MAX_MS);
    this.failures++;
    this.log.warn(`${why}; listening again in ${delay} ms`);
    this.retry = setTimeout(() => {
      this.retry = null;
      void this.refilter().catch((err) => this.reopenLater(`cannot listen: ${(err as Error).message}`));
    }, delay);
    this.retry.unref?.();
  }

}
