// One configured backend: connects (or spawns), initializes once, keeps its
// catalog, and reconnects with capped exponential backoff when it is lost.
// A single connection is shared by every client session, unless the backend
// is configured with `isolation: session` (session/connections.ts).

import type { BackendConfig, JsonLimits } from "../config/load.ts";
import { BackendUnavailable, ShuttingDown } from "../errors.ts";
import type { Notification, Params, Request } from "../jsonrpc/message.ts";
import { logger, type Logger } from "../log.ts";
import { VERSION } from "../version.ts";
import { LegacySseTransport } from "./legacy-sse.ts";
import { Peer } from "./peer.ts";
import type { CancelSignal, RequestOptions, Result } from "./request.ts";
import { StdioTransport } from "./stdio.ts";
import { StreamableHttpTransport } from "./streamable-http.ts";
import type { Transport } from "./transport.ts";

export const BACKEND_PROTOCOL_VERSION = "2025-11-25";

export type BackendState = "starting" | "ready" | "down" | "stopped";
export type Item = Record<string, unknown>;

/** What a backend offers, exactly as it listed it. */
export type BackendCatalog = { tools: Item[]; prompts: Item[]; resources: Item[]; resourceTemplates: Item[] };

const EMPTY: BackendCatalog = { tools: [], prompts: [], resources: [], resourceTemplates: [] };

// list method -> result key; the list_changed notification that invalidates it
const LISTS = {
  tools: { method: "tools/list", capability: "tools", changed: "notifications/tools/list_changed" },
  prompts: { method: "prompts/list", capability: "prompts", changed: "notifications/prompts/list_changed" },
  resources: { method: "resources/list", capability: "resources", changed: "notifications/resources/list_changed" },
  resourceTemplates: { method: "resources/templates/list", capability: "resources", changed: "notifications/resources/list_changed" },
} as const;
type ListKey = keyof typeof LISTS;

export type BackendEvents = {
  /** The backend's visible catalog or state changed. */
  changed(backend: Backend): void;
  /** A notification from the backend; `related`: the options of the request it came with, if known. */
  notification(backend: Backend, n: Notification, related: RequestOptions | null): void;
  /** A request from the backend (sampling, elicitation, roots), likewise; `cancel` fires if the backend withdraws it. */
  request(backend: Backend, r: Request, related: RequestOptions | null, cancel: CancelSignal): Promise<Result>;
};

// Sentinel tells backends it can do all that a client can: each request is
// then passed to the client session it belongs to, which may refuse it.
const CLIENT_CAPABILITIES = {
  sampling: {},
  elicitation: { form: {}, url: {} },
  roots: { listChanged: true },
};

export class Backend {
  state: BackendState = "starting";
  catalog: BackendCatalog = EMPTY;
  capabilities: Record<string, unknown> = {};
  serverInfo: Record<string, unknown> = {};
  instructions: string | undefined;
  lastError: string | undefined;
  private peer: Peer | null = null;
  private transport: Transport | null = null;
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly firstOutcome = Promise.withResolvers<void>();
  private readonly log: Logger;

  constructor(
    readonly config: BackendConfig,
    /** Bounds on what this backend may send (limits.backend). */
    private readonly limits: JsonLimits,
    private readonly startupTimeoutMs: number,
    private readonly events: BackendEvents,
    /** A connection for one client session (`isolation: session`): it serves calls, not the catalog. */
    readonly dedicated = false,
  ) {
    this.log = logger(config.name);
  }

  get name(): string {
    return this.config.name;
  }

  /** Settles once the first connection attempt has succeeded or failed. */
  get settled(): Promise<void> {
    return this.firstOutcome.promise;
  }

  start(): void {
    void this.connect();
  }

  request(method: string, params: Params | undefined, options?: RequestOptions): Promise<Result> {
    const peer = this.peer;
    if (!peer || this.state !== "ready") {
      const why = this.state === "stopped" ? "is stopped" : `is unavailable${this.lastError ? ` (${this.lastError})` : ""}; retrying`;
      return Promise.reject(new BackendUnavailable(`Backend ${this.name} ${why}`));
    }
    return peer.request(method, params, this.config.timeoutMs, options);
  }

  /** Requests waiting for an answer here. */
  get inFlight(): number {
    return this.peer?.inFlight ?? 0;
  }

  /** The options of the requests waiting here (reverse-routing.ts reads their origins). */
  *waiting(): IterableIterator<RequestOptions> {
    if (this.peer) yield* this.peer.waiting();
  }

  notify(method: string, params?: Params): void {
    if (this.state === "ready") this.peer?.notify(method, params);
  }

  async stop(): Promise<void> {
    this.state = "stopped";
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.peer?.fail(new ShuttingDown());
    const t = this.transport;
    this.transport = null;
    this.peer = null;
    await t?.close();
  }

  private makeTransport(): Transport {
    const c = this.config;
    if (c.transport === "stdio") return new StdioTransport(c, this.limits);
    return c.transport === "sse" ? new LegacySseTransport(c, this.limits) : new StreamableHttpTransport(c, this.limits);
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    this.state = "starting";
    const transport = this.makeTransport();
    const peer = new Peer(this.name, transport);
    this.transport = transport;
    this.peer = peer;
    let lost = false;
    transport.onclose = (reason) => {
      if (lost) return;
      lost = true;
      this.lost(peer, reason);
    };
    peer.onnotification = (n, related) => this.onNotification(n, related);
    peer.onrequest = (r, related, cancel) => this.events.request(this, r, related, cancel);
    try {
      await transport.start();
      const init = await peer.request(
        "initialize",
        {
          protocolVersion: BACKEND_PROTOCOL_VERSION,
          capabilities: CLIENT_CAPABILITIES,
          clientInfo: { name: "sentinel", version: VERSION },
        },
        this.startupTimeoutMs,
      );
      const version = typeof init.protocolVersion === "string" ? init.protocolVersion : BACKEND_PROTOCOL_VERSION;
      transport.setProtocolVersion?.(version);
      this.capabilities = (init.capabilities as Record<string, unknown>) ?? {};
      this.serverInfo = (init.serverInfo as Record<string, unknown>) ?? {};
      this.instructions = typeof init.instructions === "string" ? init.instructions : undefined;
      peer.notify("notifications/initialized");
      const catalog = { ...EMPTY };
      // A per-session connection serves calls only; the shared one keeps the catalog.
      if (!this.dedicated) for (const key of Object.keys(LISTS) as ListKey[]) catalog[key] = await this.fetchList(peer, key);
      if (lost || this.peer !== peer) return;
      this.catalog = catalog;
      this.state = "ready";
      this.attempt = 0;
      this.lastError = undefined;
      this.log.info(
        `ready (${String(this.serverInfo.name ?? "?")} ${String(this.serverInfo.version ?? "")}, protocol ${version}): ` +
          `${catalog.tools.length} tools, ${catalog.prompts.length} prompts, ${catalog.resources.length} resources`,
      );
      this.events.changed(this);
    } catch (err) {
      if (this.peer !== peer || this.stopped) return;
      lost = true;
      const reason = (err as Error).message;
      await transport.close().catch(() => {});
      this.lost(peer, reason);
    } finally {
      this.firstOutcome.resolve();
    }
  }

  private async fetchList(peer: Peer, key: ListKey): Promise<Item[]> {
    const spec = LISTS[key];
    if (!(spec.capability in this.capabilities)) return [];
    const items: Item[] = [];
    let cursor: string | undefined;
    // Pull every page: clients get Sentinel's merged list, paged by Sentinel.
    for (let page = 0; page < 1000; page++) {
      const result = await peer.request(spec.method, cursor ? { cursor } : undefined, this.startupTimeoutMs);
      const list = result[key];
      if (Array.isArray(list)) items.push(...(list as Item[]));
      cursor = typeof result.nextCursor === "string" ? result.nextCursor : undefined;
      if (!cursor) break;
    }
    return items;
  }

  private onNotification(n: Notification, related: RequestOptions | null): void {
    const peer = this.peer;
    for (const key of Object.keys(LISTS) as ListKey[]) {
      if (LISTS[key].changed !== n.method || !peer || this.state !== "ready" || this.dedicated) continue;
      void this.fetchList(peer, key).then(
        (items) => {
          if (this.peer !== peer) return;
          this.catalog = { ...this.catalog, [key]: items };
          this.events.changed(this);
        },
        (err) => this.log.warn(`cannot refresh ${key}: ${(err as Error).message}`),
      );
    }
    this.events.notification(this, n, related);
  }

  private get stopped(): boolean {
    return this.state === "stopped";
  }

  private lost(peer: Peer, reason: string): void {
    if (this.peer !== peer || this.stopped) return;
    const wasReady = this.state === "ready";
    this.state = "down";
    this.lastError = reason;
    peer.fail(new BackendUnavailable(`Backend ${this.name} is unavailable: ${reason}`));
    this.peer = null;
    this.transport = null;
    const delay = Math.min(this.config.restart.initialDelayMs * 2 ** this.attempt, this.config.restart.maxDelayMs);
    this.attempt++;
    this.log.warn(`${reason}; reconnecting in ${delay} ms`);
    this.retryTimer = setTimeout(() => void this.connect(), delay);
    this.retryTimer.unref?.();
    if (wasReady) this.events.changed(this);
  }
}
