// One configured backend: connects (or spawns), initializes once, keeps its
// catalog, and reconnects with capped exponential backoff when it is lost.
// A single connection is shared by every client session, unless the backend
// is configured with `isolation: session` (session/connections.ts). It speaks
// the era its config names or its probe found (era-probe.ts): 2025-11-25 with
// initialize, or 2026-07-28, stateless, where server/discover says what
// initialize said, each request carries its envelope (modern-requests.ts) and
// change notifications come on a listen (modern-listen.ts).

import type { BackendConfig, JsonLimits } from "../config/load.ts";
import { BackendError, BackendUnavailable, InvalidParams, MethodNotFound, ShuttingDown } from "../errors.ts";
import type { Notification, Params, Request } from "../jsonrpc/message.ts";
import { logger, type Logger } from "../log.ts";
import type { EraVerdicts } from "../store/era-verdicts.ts";
import { VERSION } from "../version.ts";
import { eraOfResult, type Era } from "./era-probe.ts";
import { Breaker } from "./breaker.ts";
import { CrashLoop } from "./crash-loop.ts";
import { Liveness } from "./liveness.ts";
import { backoffMs, isTransient } from "./retry.ts";
import { EraVerdictKeeper } from "./era-verdict.ts";
import { LegacySseTransport } from "./legacy-sse.ts";
import { META, MODERN_VERSION } from "../jsonrpc/mcp-meta.ts";
import { isObject, withEnvelope } from "./modern-envelope.ts";
import type { ParamHeader } from "./modern-headers.ts";
import { EMPTY, fetchList, LISTS, screenParamHeaders, type BackendCatalog, type Item, type ListKey } from "./lists.ts";
import { ModernHttpTransport } from "./modern-http.ts";
import { ModernListen } from "./modern-listen.ts";
import { ModernRequester } from "./modern-requests.ts";
import { Peer } from "./peer.ts";
import type { CancelSignal, RequestOptions, Result } from "./request.ts";
import { StdioTransport } from "./stdio.ts";
import { StreamableHttpTransport } from "./streamable-http.ts";
import type { Transport } from "./transport.ts";

export const BACKEND_PROTOCOL_VERSION = "2025-11-25";

/**
 * Its connection's state. "degraded": connected but not answering its liveness
 * ping; "open-circuit": failing so often that calls fail fast for a while.
 */
export type BackendState = "starting" | "ready" | "degraded" | "open-circuit" | "down" | "stopped";
export type { BackendCatalog, Item, ListKey } from "./lists.ts";

/** A transport started ahead of its handshake. */
type Early = { transport: Transport; started: Promise<void>; closed: string | null };

export type BackendEvents = {
  /** The backend's visible catalog or state changed. */
  changed(backend: Backend, announced?: ListKey): void;
  /** A notification from the backend; `related`: the options of the request it came with, if known. */
  notification(backend: Backend, n: Notification, related: RequestOptions | null): void;
  /** A request from the backend (sampling, elicitation, roots), likewise; `cancel` fires if the backend withdraws it. */
  request(backend: Backend, r: Request, related: RequestOptions | null, cancel: CancelSignal): Promise<Result>;
};

// Sentinel tells legacy backends it can do all that a client can: each request
// is then passed to the client session it belongs to, which may refuse it.
// Modern backends are told per request what the caller can do (modern-envelope.ts).
const CLIENT_CAPABILITIES = {
  sampling: {},
  elicitation: { form: {}, url: {} },
  roots: { listChanged: true },
};

// How long the first listen may take to be acknowledged before the catalog is fetched anyway.
const FIRST_LISTEN_WAIT_MS = 5000;

// Liveness pings missed in a row before a degraded backend is reconnected.
const MISSED_PINGS_BEFORE_RECONNECT = 3;

export class Backend {
  state: BackendState = "starting";
  catalog: BackendCatalog = EMPTY;
  capabilities: Record<string, unknown> = {};
  serverInfo: Record<string, unknown> = {};
  instructions: string | undefined;
  lastError: string | undefined;
  /** The revision it speaks: decided by config, or probed (era-probe.ts); null before a verdict. */
  era: Era | null = null;
  /** Times a lost connection was retried (reconnects), for /metrics and /readyz. */
  restarts = 0;
  private peer: Peer | null = null;
  private transport: Transport | null = null;
  /** Set while connected to a modern backend: its requests, and its change notifications. */
  private modern: ModernRequester | null = null;
  private listen: ModernListen | null = null;
  /** The x-mcp-header annotations of its tools (modern HTTP), by their own names. */
  private paramHeaders = new Map<string, ParamHeader[]>();
  private readonly eras: EraVerdictKeeper;
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly firstOutcome = Promise.withResolvers<void>();
  private readonly log: Logger;
  /** Fails calls fast after repeated failures (the pipeline's circuit step asks it; forward() tells it outcomes). */
  readonly breaker: Breaker;
  private circuitTimer: ReturnType<typeof setTimeout> | null = null;
  /** The liveness ping of a 2025 connection. */
  private readonly liveness: Liveness;
  /** The exits of a stdio server lately (the crash-loop window). */
  private readonly crashes: CrashLoop;

  constructor(
    readonly config: BackendConfig,
    /** Bounds on what this backend may send (limits.backend). */
    private readonly limits: JsonLimits,
    private readonly startupTimeoutMs: number,
    private readonly events: BackendEvents,
    /** A connection for one client session (`isolation: session`): it serves calls, not the catalog. */
    readonly dedicated = false,
    /** Probed era verdicts, shared by the gateways on one database. */
    verdicts: EraVerdicts | null = null,
  ) {
    this.log = logger(config.name);
    this.breaker = new Breaker(config.breaker, (open) => this.circuitChanged(open));
    this.liveness = new Liveness(config.liveness, { answered: (p) => this.answered(p), missed: (p, n) => this.missed(p, n) });
    this.crashes = new CrashLoop(config.crashLoop);
    this.eras = new EraVerdictKeeper(config, limits, startupTimeoutMs, verdicts, this.log, (era) => this.eraChanged(era));
  }

  get name(): string {
    return this.config.name;
  }

  /** Connected, whether or not it answers well just now (degraded, circuit open): its catalog stands. */
  get connected(): boolean {
    return this.state === "ready" || this.state === "degraded" || this.state === "open-circuit";
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
    // Open-circuit: the pipeline's circuit step admitted this call (the half-open probe, or Sentinel's own request).
    if (!peer || (this.state !== "ready" && this.state !== "open-circuit")) {
      if (this.state === "degraded") return Promise.reject(new BackendUnavailable(`Backend ${this.name} is not answering (degraded); retrying`));
      const why = this.state === "stopped" ? "is stopped" : `is unavailable${this.lastError ? ` (${this.lastError})` : ""}; retrying`;
      return Promise.reject(new BackendUnavailable(`Backend ${this.name} ${why}`));
    }
    const modern = this.modern;
    if (modern) return this.modernRequest(modern, method, params, options);
    return peer.request(method, params, this.config.timeoutMs, options);
  }

  /** Requests waiting for an answer here (a listen is no caller's). */
  get inFlight(): number {
    return Math.max(0, (this.peer?.inFlight ?? 0) - (this.listen?.size ?? 0));
  }

  /** The options of the requests waiting here (reverse-routing.ts reads their origins). */
  *waiting(): IterableIterator<RequestOptions> {
    if (this.peer) yield* this.peer.waiting();
  }

  notify(method: string, params?: Params): void {
    // A modern backend takes no client notifications (roots/list_changed is gone; cancellation is the peer's).
    if (this.connected && !this.modern) this.peer?.notify(method, params);
  }

  /**
   * An operator's restart (the admin page): the connection is closed and
   * opened again at once, its backoff and crash count forgotten. Calls in
   * flight there fail as for a lost connection.
   */
  async restart(): Promise<void> {
    if (this.stopped) return;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const { peer, transport } = this;
    this.dropConnection();
    peer?.fail(new BackendUnavailable(`Backend ${this.name} is restarting`));
    this.attempt = 0;
    this.crashes.reset();
    this.restarts++;
    await transport?.close();
    await this.connect();
  }

  async stop(): Promise<void> {
    this.state = "stopped";
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.circuitTimer) clearTimeout(this.circuitTimer);
    this.liveness.stop();
    this.eras.stop();
    this.listen?.stop();
    this.peer?.fail(new ShuttingDown());
    const t = this.transport;
    this.transport = null;
    this.peer = null;
    this.modern = null;
    this.listen = null;
    await t?.close();
  }

  private modernRequest(modern: ModernRequester, method: string, params: Params | undefined, options: RequestOptions | undefined): Promise<Result> {
    switch (method) {
      // The level travels with each request (logLevel); liveness is the transport's.
      case "logging/setLevel":
      case "ping":
        return Promise.resolve({});
      case "resources/subscribe":
      case "resources/unsubscribe": {
        const uri = params?.uri;
        if (typeof uri !== "string") return Promise.reject(new InvalidParams('Invalid params: "uri" must be a string'));
        const listen = this.listen!;
        return (method === "resources/subscribe" ? listen.subscribe(uri) : listen.unsubscribe(uri)).then(() => ({}));
      }
    }
    return modern.request(method, params, this.config.timeoutMs, options);
  }

  private makeTransport(era: Era): Transport {
    const c = this.config;
    if (c.transport === "stdio") return new StdioTransport(c, this.limits);
    if (c.transport === "sse") return new LegacySseTransport(c, this.limits);
    return era === "modern" ? new ModernHttpTransport(c, this.limits, (tool) => this.paramHeaders.get(tool)) : new StreamableHttpTransport(c, this.limits);
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    this.state = "starting";
    // A stdio server whose era is asked (in a sibling process) starts meanwhile, in either era the
    // same process, and is sent nothing until the verdict: a first start costs one start, not two.
    const early = this.config.transport === "stdio" && this.eras.willProbe() ? this.startEarly() : null;
    try {
      let verdict = await this.eras.decide(false);
      // A remembered verdict whose handshake is refused no longer holds: probed again, at once, once.
      if ((await this.open(verdict.era, verdict.remembered, early)) === "stale") {
        this.log.info(`the remembered ${verdict.era} verdict no longer holds; probing again`);
        verdict = await this.eras.decide(true);
        await this.open(verdict.era, false);
      }
    } catch (err) {
      void early?.transport.close().catch(() => {});
      // The probe met an outage, which says nothing of the era: retried like any lost connection.
      if (!this.stopped) this.lost(null, (err as Error).message);
    } finally {
      this.firstOutcome.resolve();
    }
  }

  /**
   * One connection attempt in a known era: handshake (initialize, or
   * server/discover), change notifications, catalog. "stale": the handshake
   * was refused and `mayBeStale` allowed for it; the caller probes again.
   */
  /** A stdio server spawned before its era is known (connect()). */
  private startEarly(): Early {
    const transport = this.makeTransport("legacy");
    const early: Early = { transport, started: transport.start(), closed: null };
    // Awaited by open(); a failure to spawn is its to report.
    early.started.catch(() => {});
    // An exit before open() takes the transport over is passed on there.
    transport.onclose = (reason) => (early.closed = reason);
    return early;
  }

  private async open(era: Era, mayBeStale: boolean, early: Early | null = null): Promise<"ready" | "lost" | "stale"> {
    const transport = early?.transport ?? this.makeTransport(era);
    const peer = new Peer(this.name, transport);
    this.transport = transport;
    this.peer = peer;
    this.era = era;
    let lost = false;
    let handshaken = false;
    transport.onclose = (reason) => {
      if (lost) return;
      lost = true;
      this.lost(peer, reason);
    };
    if (early?.closed) transport.onclose(early.closed);
    peer.onnotification = (n, related) => this.onNotification(n, related);
    // A modern server sends no requests (§1.5): it asks with input_required.
    peer.onrequest = era === "modern" ? (r) => Promise.reject(new MethodNotFound(r.method)) : (r, related, cancel) => this.events.request(this, r, related, cancel);
    try {
      await (early?.started ?? transport.start());
      const version = era === "modern" ? await this.discover(peer) : await this.initialize(peer, transport);
      handshaken = true;
      if (this.listen) await within(this.listen.start(), FIRST_LISTEN_WAIT_MS);
      const catalog = { ...EMPTY };
      // A per-session connection serves calls only; the shared one keeps the catalog.
      if (!this.dedicated) for (const key of Object.keys(LISTS) as ListKey[]) catalog[key] = await this.fetchList(peer, key);
      if (lost || this.peer !== peer) return "lost";
      this.catalog = catalog;
      this.state = "ready";
      this.attempt = 0;
      this.lastError = undefined;
      this.log.info(
        `ready (${String(this.serverInfo.name ?? "?")} ${String(this.serverInfo.version ?? "")}, protocol ${version}): ` +
          `${catalog.tools.length} tools, ${catalog.prompts.length} prompts, ${catalog.resources.length} resources`,
      );
      this.eras.watch(era);
      this.events.changed(this);
      // Still failing fast after a reconnect: shown as such, the catalog kept (it lists ready backends).
      if (this.breaker.state === "open") this.state = "open-circuit";
      if (era === "legacy") this.liveness.watch(peer, () => this.peer);
      return "ready";
    } catch (err) {
      if (this.peer !== peer || this.stopped) return "lost";
      lost = true;
      const reason = (err as Error).message;
      await transport.close().catch(() => {});
      if (mayBeStale && !handshaken && err instanceof BackendError && this.peer === peer) {
        this.dropConnection();
        peer.fail(new BackendUnavailable(`Backend ${this.name} is unavailable: ${reason}`));
        this.log.warn(`refused the ${era} handshake: ${reason}`);
        return "stale";
      }
      this.lost(peer, reason);
      return "lost";
    }
  }

  private async initialize(peer: Peer, transport: Transport): Promise<string> {
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
    return version;
  }

  /** The modern handshake that is none: server/discover says what initialize used to. */
  private async discover(peer: Peer): Promise<string> {
    const d = await peer.request("server/discover", withEnvelope(undefined, {}), this.startupTimeoutMs);
    if (eraOfResult(d) !== "modern") throw new BackendError({ code: -32603, message: `server/discover does not offer ${MODERN_VERSION}` });
    this.capabilities = isObject(d.capabilities) ? d.capabilities : {};
    const info = isObject(d._meta) ? d._meta[META.serverInfo] : undefined;
    this.serverInfo = isObject(info) ? info : {};
    this.instructions = typeof d.instructions === "string" ? d.instructions : undefined;
    this.modern = new ModernRequester(peer, { name: this.name, log: this.log, suspect: () => this.eras.suspect("modern") });
    const changes = (k: string) => !this.dedicated && isObject(this.capabilities[k]) && this.capabilities[k].listChanged === true;
    this.listen = new ModernListen(peer, { tools: changes("tools"), prompts: changes("prompts"), resources: changes("resources") }, this.log);
    return MODERN_VERSION;
  }

  private async fetchList(peer: Peer, key: ListKey): Promise<Item[]> {
    const modern = this.modern?.peer === peer ? this.modern : null;
    const timeout = this.startupTimeoutMs;
    const items = await fetchList(key, this.capabilities, (method, params) =>
      modern ? modern.request(method, params, timeout) : peer.request(method, params, timeout),
    );
    if (key !== "tools" || !modern || this.config.transport === "stdio") return items;
    const { kept, headers } = screenParamHeaders(items, this.log);
    this.paramHeaders = headers;
    return kept;
  }

  /** fetchList for a list_changed: an idempotent read, retried (jittered backoff) when the backend was unreachable or slow. */
  private async refetchList(peer: Peer, key: ListKey): Promise<Item[]> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.fetchList(peer, key);
      } catch (err) {
        if (!isTransient(err) || attempt >= this.config.retries || this.peer !== peer) throw err;
        await Bun.sleep(backoffMs(attempt));
      }
    }
  }

  private onNotification(n: Notification, related: RequestOptions | null): void {
    if (this.listen) {
      const change = this.listen.take(n);
      if (!change) return;
      n = change;
    }
    const peer = this.peer;
    for (const key of Object.keys(LISTS) as ListKey[]) {
      if (LISTS[key].changed !== n.method || !peer || this.state !== "ready" || this.dedicated) continue;
      void this.refetchList(peer, key).then(
        (items) => {
          if (this.peer !== peer) return;
          this.catalog = { ...this.catalog, [key]: items };
          this.events.changed(this, key);
        },
        (err) => this.log.warn(`cannot refresh ${key}: ${(err as Error).message}`),
      );
    }
    this.events.notification(this, n, related);
  }

  /** A new probe found it in another era: reconnected in that one. */
  private eraChanged(era: Era): void {
    const peer = this.peer;
    const transport = this.transport;
    if (!peer) return;
    this.log.warn(`now speaks the ${era} revision; reconnecting`);
    this.lost(peer, `backend ${this.name} changed to the ${era} revision`, false);
    void transport?.close();
  }

  private get stopped(): boolean {
    return this.state === "stopped";
  }

  /** Forgets the current connection (its peer and era-specific parts). */
  private dropConnection(): void {
    this.liveness.stop();
    this.listen?.stop();
    this.listen = null;
    this.modern = null;
    this.peer = null;
    this.transport = null;
  }

  /**
   * The connection is gone (`peer`; null: none was made): retried with capped
   * exponential backoff, unless a stdio server `crashed` in a loop (crashLoop()).
   */
  private lost(peer: Peer | null, reason: string, crashed = true): void {
    if (this.peer !== peer || this.stopped) return;
    const wasReady = this.state === "ready" || this.state === "degraded" || this.state === "open-circuit";
    this.state = "down";
    this.lastError = reason;
    this.dropConnection();
    peer?.fail(new BackendUnavailable(`Backend ${this.name} is unavailable: ${reason}`));
    const loop = crashed && this.config.transport === "stdio" ? this.crashes.exited() : null;
    if (loop) {
      this.lastError = loop;
      this.log.error(`${reason}; ${loop}`);
      if (wasReady) this.events.changed(this);
      return;
    }
    const delay = Math.min(this.config.restart.initialDelayMs * 2 ** this.attempt, this.config.restart.maxDelayMs);
    this.attempt++;
    this.restarts++;
    this.log.warn(`${reason}; reconnecting in ${delay} ms`);
    this.retryTimer = setTimeout(() => void this.connect(), delay);
    this.retryTimer.unref?.();
    if (wasReady) this.events.changed(this);
  }

  /** Its liveness ping was answered: a degraded connection is ready again. */
  private answered(peer: Peer): void {
    if (this.peer !== peer || this.state !== "degraded") return;
    this.state = this.breaker.state === "open" ? "open-circuit" : "ready";
    this.lastError = undefined;
    this.log.info("answering its liveness ping again");
    // The catalog may have been rebuilt without it meanwhile.
    this.events.changed(this);
  }

  /**
   * Its liveness ping timed out, `missed` times in a row: degraded (callers are
   * told at once instead of waiting), and after a few, reconnected.
   */
  private missed(peer: Peer, missed: number): void {
    if (this.peer !== peer) return;
    const why = `not answering its liveness ping (${missed} missed)`;
    if (missed >= MISSED_PINGS_BEFORE_RECONNECT) {
      this.log.warn(`${why}; reconnecting`);
      const transport = this.transport;
      this.lost(peer, why, false);
      void transport?.close().catch(() => {});
      return;
    }
    if (this.state === "ready" || this.state === "open-circuit") {
      this.state = "degraded";
      this.log.warn(why);
    }
    this.lastError = why;
  }

  /** The breaker opened or closed: shown in its state while open; its catalog stays listed. */
  private circuitChanged(open: boolean): void {
    if (this.circuitTimer) clearTimeout(this.circuitTimer);
    this.circuitTimer = null;
    if (!open) {
      if (this.state === "open-circuit") {
        this.state = "ready";
        this.log.info("circuit closed");
        // The catalog may have been rebuilt without it meanwhile (it lists ready backends).
        this.events.changed(this);
      }
      return;
    }
    this.log.warn(`circuit open after ${this.config.breaker.failures} failures in a row; failing fast for ${this.config.breaker.coolDownMs} ms`);
    if (this.state === "ready") this.state = "open-circuit";
    // After the cool-down it is half-open: ready to take its probe call.
    this.circuitTimer = setTimeout(() => {
      this.circuitTimer = null;
      if (this.state !== "open-circuit") return;
      this.state = "ready";
      this.events.changed(this);
    }, this.config.breaker.coolDownMs);
    this.circuitTimer.unref?.();
  }
}

/** Waits for `p`, but no longer than `ms`. */
async function within(p: Promise<void>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([p, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
