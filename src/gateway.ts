// The composition root: builds the backends, the catalog, routing, the policy
// and the pipeline from a config, each handed its slice, and owns the set of
// client sessions. The constructor does no I/O; start() opens the database,
// starts the timers and connects the backends.

import type { Database } from "bun:sqlite";
import { AdminFeed } from "./admin/live.ts";
import { AuditStore } from "./audit/store.ts";
import { principalKey, type Principal } from "./auth/principal.ts";
import { Backend, type BackendEvents } from "./backends/backend.ts";
import type { Config } from "./config/load.ts";
import { changesBetween, describeChanges, type ConfigChanges } from "./config/changes.ts";
import { Catalog } from "./dispatch/catalog.ts";
import { OwnMethods } from "./dispatch/own-methods.ts";
import { ReverseRouting } from "./dispatch/reverse-routing.ts";
import { Router } from "./dispatch/router.ts";
import { Subscriptions } from "./dispatch/subscriptions.ts";
import { Tasks } from "./dispatch/tasks.ts";
import { Listens } from "./dispatch/listens.ts";
import { Views } from "./dispatch/views.ts";
import type { Message } from "./jsonrpc/message.ts";
import { logger } from "./log.ts";
import { Metrics, type LiveGateway } from "./ops/gateway-metrics.ts";
import { ModernRequests } from "./pipeline/modern.ts";
import type { CallObserver } from "./pipeline/observe.ts";
import { Parking } from "./pipeline/parking.ts";
import { Pipeline } from "./pipeline/pipeline.ts";
import { RequestStates } from "./pipeline/request-state.ts";
import { Policy } from "./pipeline/policy.ts";
import { Approvals } from "./policy/approvals.ts";
import { GovernanceStore } from "./policy/governance-store.ts";
import { Guardrails } from "./policy/guardrails.ts";
import { SessionConnections } from "./session/connections.ts";
import { Session, type Front } from "./session/session.ts";
import { openDatabase } from "./store/database.ts";
import { EraVerdicts } from "./store/era-verdicts.ts";

const log = logger("gateway");

const LIST_NOTIFICATIONS = {
  tools: "notifications/tools/list_changed",
  prompts: "notifications/prompts/list_changed",
  resources: "notifications/resources/list_changed",
  resourceTemplates: "notifications/resources/list_changed",
} as const;

const PRUNE_MS = 3_600_000;

/** What start() opens and builds: the database and everything that reads it. */
type Running = {
  db: Database;
  audit: AuditStore | null;
  governance: GovernanceStore;
  policy: Policy;
  views: Views;
  pipeline: Pipeline;
  modern: ModernRequests;
  parking: Parking;
  listens: Listens;
  pruner: ReturnType<typeof setInterval> | null;
};

export class Gateway {
  /** The shared connections of the backends in force (replaced in place by reload()). */
  readonly backends: Backend[];
  readonly catalog = new Catalog();
  readonly sessions = new Set<Session>();
  private readonly connections: SessionConnections;
  private readonly subscriptions = new Subscriptions();
  private readonly tasks = new Tasks();
  private readonly reverse: ReverseRouting;
  /** What watches calls (metrics, traces: pipeline/observe.ts); added to before start(). */
  readonly observers: CallObserver[] = [];
  /** The admin page's live view of calls (src/admin/live.ts): an observer while a page watches. */
  readonly admin = new AdminFeed(this.observers);
  /** GET /metrics; null when `metrics.enabled` is false. */
  readonly metrics: Metrics | null;
  /** The trace exporter, loaded by start() only when `tracing` is configured (its spans are flushed on stop). */
  private tracing: Promise<{ stop(): Promise<void> }> | null = null;
  /** Where each principal's 2026-07-28 calls over HTTP are served (they have no session of their own). */
  private readonly principals = new Map<string, Session>();
  private running: Running | null = null;
  /** Resolves when every backend has had its first chance to start (or the startup timeout passed); set by start(). */
  ready: Promise<void> = Promise.resolve();
  private stopping: Promise<void> | null = null;

  /** What backends tell the gateway (one object, shared by every Backend). */
  private readonly events: BackendEvents;
  /** Rebuilt from the config in force (start, reload); null: no rules. */
  private guardrails: Guardrails | null = null;
  /** Rebuilt from the config in force (start, reload); null: no call waits for approval. */
  private approvals: Approvals | null = null;
  /** Era verdicts live in the database, which start() opens. */
  private readonly verdicts = new EraVerdicts(() => this.running?.db ?? null);

  /** The config in force: replaced as a whole by reload(). */
  constructor(public config: Config) {
    this.events = {
      changed: (b, announced) => {
        if (!b.dedicated) this.onBackendChanged(announced && { backend: b, key: announced });
      },
      notification: (b, n, related) => this.reverse.notification(b, n, related),
      request: (b, r, related, cancel) => this.reverse.request(b, r, related, cancel),
    };
    this.backends = config.backends.filter((b) => !b.disabled).map((b) => this.makeBackend(b, false));
    this.connections = new SessionConnections((shared) => this.makeBackend(shared.config, true));
    this.reverse = new ReverseRouting({ sessions: this.sessions, connections: this.connections, subscriptions: this.subscriptions, tasks: this.tasks });
    this.metrics = config.metrics.enabled ? new Metrics(this) : null;
    if (this.metrics) this.observers.push(this.metrics.calls);
  }

  /** What a metrics scrape reads of the running gateway; null before start(). */
  get live(): LiveGateway | null {
    const r = this.running;
    return r && { inflight: r.pipeline.inflight, listens: r.listens.values(), principalSessions: this.principals.values(), audit: r.audit };
  }

  /** The request path; there once start() has run. */
  get pipeline(): Pipeline {
    return this.started.pipeline;
  }

  /** The way of 2026-07-28 requests around the pipeline. */
  get modern(): ModernRequests {
    return this.started.modern;
  }

  get listens(): Listens {
    return this.started.listens;
  }

  private get started(): Running {
    if (!this.running) throw new Error("the gateway is not started");
    return this.running;
  }

  /**
   * The session a principal's 2026-07-28 calls over HTTP run in: it holds what
   * lasts beyond one request (per-client backend connections, tasks) and
   * takes no messages of its own. Replaced once idle and closed.
   */
  principalSession(identity: Principal, view: string | null = null): Session {
    // One per principal and view: the view is the session's, and its calls' lists and checks follow it.
    const key = view === null ? principalKey(identity) : `${principalKey(identity)}\u0000${view}`;
    let s = this.principals.get(key);
    if (!s || s.closed) {
      this.pruneIdlePrincipals();
      s = new Session(`modern:${identity.sub}`, "http", identity, () => {}, view);
      this.principals.set(key, s);
    }
    s.identity = identity;
    s.lastSeen = Date.now();
    return s;
  }

  /** Opens the database (folding what killed gateways left in their audit journals), then connects the backends. */
  start(): void {
    if (this.running) return;
    const { config } = this;
    // Imported only when configured, so that a gateway without tracing holds none of it. It resolves before
    // the fronts (imported after start()) take a request; calls before it would go untraced.
    const tracing = config.tracing;
    if (tracing) this.tracing ??= import("./ops/tracing.ts").then(({ startTracing }) => {
      const t = startTracing(tracing);
      this.observers.push(t.observer);
      return t;
    });
    const db = openDatabase(config.audit.path);
    const audit = config.audit.enabled ? AuditStore.on(db) : null;
    audit?.start();
    const governance = new GovernanceStore(db, config.pinning);
    const policy = new Policy(config, governance.switches);
    const views = new Views(this.catalog, policy);
    this.ready = Promise.race([Promise.all(this.backends.map((b) => b.settled)).then(() => {}), delay(config.server.startupTimeoutMs)]);
    const shared = { backends: this.backends, ready: this.ready, tasks: this.tasks };
    this.guardrails = Guardrails.compile(config.guardrails, (kind, detail) => governance.event(kind, detail));
    this.approvals = Approvals.compile(config.approvals, (kind, detail) => governance.event(kind, detail), config.audit.maxArgumentBytes, db);
    const router = new Router({ ...shared, catalog: this.catalog, subscriptions: this.subscriptions, guardrails: () => this.guardrails });
    const own = new OwnMethods({
      ...shared,
      server: config.server,
      sessions: this.sessions,
      connections: this.connections,
      views,
      view: (name) => this.config.views[name],
    });
    const pipeline = new Pipeline({
      own,
      router,
      policy,
      connections: this.connections,
      audit,
      maxArgumentBytes: config.audit.maxArgumentBytes,
      approvals: () => this.approvals,
      observers: this.observers,
    });
    const parking = new Parking(config.modern);
    const states = new RequestStates(config.modern.stateKey);
    const modern = new ModernRequests({ pipeline, own, parking, states, inputTimeoutMs: config.modern.inputTimeoutMs, serverInfo: own.serverInfo });
    const listens = new Listens({
      catalog: this.catalog,
      policy,
      subscriptions: this.subscriptions,
      ready: this.ready,
      maxPerPrincipal: config.modern.maxListens,
      granted: (identity, front, granted, view) => pipeline.listened(identity, front, granted, view),
    });
    this.running = { db, audit, governance, policy, views, pipeline, modern, parking, listens, pruner: audit ? this.startPruning(audit) : null };
    governance.start(() => this.onBackendChanged());
    for (const b of this.backends) b.start();
  }

  openSession(id: string, front: Front, identity: Principal, deliver: (m: Message) => void, view: string | null = null): Session {
    const session = new Session(id, front, identity, deliver, view);
    this.sessions.add(session);
    return session;
  }

  /**
   * A session's caller presented another credential of the same subject (a
   * refreshed token): what is sent to the session from now on follows its
   * roles, and the lists that look different under them are announced.
   */
  reidentify(session: Session, identity: Principal): void {
    const before = session.identity;
    session.identity = identity;
    const r = this.running;
    const view = session.view;
    if (!r || !session.initialized || r.policy.viewKey(before, view) === r.policy.viewKey(identity, view)) return;
    const methods = new Set(r.views.differing(before, identity, view).map((k) => LIST_NOTIFICATIONS[k]));
    for (const method of methods) session.send({ jsonrpc: "2.0", method });
  }

  /** Principals idle as long as an idle HTTP session lasts give back what their calls held (per-client connections). */
  private pruneIdlePrincipals(): void {
    const before = Date.now() - this.config.http.sessionIdleMs;
    for (const [sub, s] of this.principals) {
      if (s.lastSeen >= before || s.inflight.size > 0) continue;
      this.principals.delete(sub);
      this.closeSession(s, "idle");
    }
  }

  closeSession(session: Session, reason?: string): void {
    session.close(reason);
    this.sessions.delete(session);
  }

  private makeBackend(cfg: Backend["config"], dedicated: boolean): Backend {
    const c = this.config;
    return new Backend(cfg, c.limits.backend, c.server.startupTimeoutMs, this.events, dedicated, this.verdicts);
  }

  /**
   * Applies a reloaded config (already validated in full): backends added,
   * removed or changed are started, stopped or restarted, the others and their
   * calls left alone; the rules (RBAC, rate limits, kill switches, pinning,
   * names, limits) decide from the next request; sessions go on, and those
   * whose lists change are told so. What needs a restart is reported.
   */
  reload(next: Config): ConfigChanges {
    const r = this.started;
    const changes = changesBetween(this.config, next);
    this.config = next;
    r.policy.configure(next);
    r.governance.configure(next.pinning);
    this.guardrails = Guardrails.compile(next.guardrails, (kind, detail) => r.governance.event(kind, detail));
    this.approvals = Approvals.compile(next.approvals, (kind, detail) => r.governance.event(kind, detail), next.audit.maxArgumentBytes, r.db);
    const replaced = new Set([...changes.removed, ...changes.changed]);
    const kept = new Map(this.backends.filter((b) => !replaced.has(b.name)).map((b) => [b.name, b]));
    const started: Backend[] = [];
    const list = next.backends
      .filter((c) => !c.disabled)
      .map((c) => {
        const b = kept.get(c.name);
        if (b) return b;
        const fresh = this.makeBackend(c, false);
        started.push(fresh);
        return fresh;
      });
    const gone = this.backends.filter((b) => replaced.has(b.name));
    // In place: routing and Sentinel's own methods hold this array.
    this.backends.splice(0, this.backends.length, ...list);
    for (const b of gone) {
      void b.stop();
      void this.connections.retire(b.name);
    }
    for (const b of started) b.start();
    // Lists rebuilt under the new rules; every session and listen whose view changed is told.
    this.onBackendChanged();
    const summary = describeChanges(changes);
    r.governance.event("config_reloaded", summary);
    log.info(`config reloaded from ${next.source}: ${summary}`);
    return changes;
  }

  /** Drains in-flight calls (bounded), stops every backend, writes the audit log. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      const r = this.running;
      if (r) {
        r.listens.endAll();
        r.parking.abandonAll("Sentinel is shutting down");
        await r.pipeline.drain(this.config.server.shutdownTimeoutMs);
      }
      for (const s of this.sessions) s.close("shutting down");
      for (const s of this.principals.values()) s.close("shutting down");
      r?.governance.stop();
      if (r?.pruner) clearInterval(r.pruner);
      await Promise.all([...this.backends.map((b) => b.stop()), this.connections.stopAll()]);
      await this.tracing?.then((t) => t.stop());
      r?.audit?.stop();
      r?.db.close();
    })();
    return this.stopping;
  }

  private startPruning(audit: AuditStore): ReturnType<typeof setInterval> | null {
    const retentionMs = this.config.audit.retentionMs;
    if (retentionMs <= 0) return null;
    const prune = () => {
      const removed = audit.prune(Date.now() - retentionMs);
      if (removed > 0) log.info(`audit retention: deleted ${removed} rows older than ${retentionMs / 3_600_000} h`);
    };
    prune();
    const timer = setInterval(prune, PRUNE_MS);
    timer.unref();
    return timer;
  }

  /**
   * The catalog is rebuilt, and each session and listen is told about the lists
   * that changed as it sees them, and about the list a backend said changed if
   * it sees any of that backend's items there (a backend may announce a change
   * that leaves the list as it looks).
   */
  private onBackendChanged(announced?: { backend: Backend; key: keyof typeof LIST_NOTIFICATIONS } | null): void {
    const r = this.running;
    if (!r) return;
    const pins = r.governance.pins;
    this.catalog.rebuild(this.backends, this.config.names.maxLength, (b, tool) => pins?.withholding(b.name, tool) ?? null, this.config.shaping);
    const byView = new Map<string, string[]>();
    const changedFor = (identity: Principal, view: string | null): string[] => {
      const key = r.policy.viewKey(identity, view);
      let methods = byView.get(key);
      if (!methods) {
        const keys = r.views.changed(identity, view);
        if (announced && !keys.includes(announced.key) && r.views.shows(identity, announced.backend, announced.key, view)) keys.push(announced.key);
        methods = [...new Set(keys.map((k) => LIST_NOTIFICATIONS[k]))];
        byView.set(key, methods);
      }
      return methods;
    };
    for (const s of this.sessions) {
      if (!s.initialized) continue;
      for (const method of changedFor(s.identity, s.view)) s.send({ jsonrpc: "2.0", method });
    }
    for (const l of r.listens.values()) for (const method of changedFor(l.identity, l.session.view)) l.deliver({ jsonrpc: "2.0", method });
  }
}

/** Resolves after ms without keeping the process alive. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
