// The composition root: builds the backends, the catalog, routing, the policy
// and the pipeline from a config, each handed its slice, and owns the set of
// client sessions. The constructor does no I/O; start() opens the database,
// starts the timers and connects the backends.

import type { Database } from "bun:sqlite";
import { AuditStore } from "./audit/store.ts";
import { principalKey, type Principal } from "./auth/principal.ts";
import { Backend, type BackendEvents } from "./backends/backend.ts";
import type { Config } from "./config/load.ts";
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
import { ModernRequests } from "./pipeline/modern.ts";
import type { CallObserver } from "./pipeline/observe.ts";
import { Parking } from "./pipeline/parking.ts";
import { Pipeline } from "./pipeline/pipeline.ts";
import { RequestStates } from "./pipeline/request-state.ts";
import { Policy } from "./pipeline/policy.ts";
import { GovernanceStore } from "./policy/governance-store.ts";
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
  readonly backends: Backend[];
  readonly catalog = new Catalog();
  readonly sessions = new Set<Session>();
  private readonly connections: SessionConnections;
  private readonly subscriptions = new Subscriptions();
  private readonly tasks = new Tasks();
  private readonly reverse: ReverseRouting;
  /** What watches calls (metrics, traces: pipeline/observe.ts); added to before start(). */
  readonly observers: CallObserver[] = [];
  /** Where each principal's 2026-07-28 calls over HTTP are served (they have no session of their own). */
  private readonly principals = new Map<string, Session>();
  private running: Running | null = null;
  /** Resolves when every backend has had its first chance to start (or the startup timeout passed); set by start(). */
  ready: Promise<void> = Promise.resolve();
  private stopping: Promise<void> | null = null;

  constructor(readonly config: Config) {
    const events: BackendEvents = {
      changed: (b, announced) => {
        if (!b.dedicated) this.onBackendChanged(announced && { backend: b, key: announced });
      },
      notification: (b, n, related) => this.reverse.notification(b, n, related),
      request: (b, r, related, cancel) => this.reverse.request(b, r, related, cancel),
    };
    // Era verdicts live in the database, which start() opens.
    const verdicts = new EraVerdicts(() => this.running?.db ?? null);
    const open = (cfg: Backend["config"], dedicated: boolean) =>
      new Backend(cfg, config.limits.backend, config.server.startupTimeoutMs, events, dedicated, verdicts);
    this.backends = config.backends.filter((b) => !b.disabled).map((b) => open(b, false));
    this.connections = new SessionConnections((shared) => open(shared.config, true));
    this.reverse = new ReverseRouting({ sessions: this.sessions, connections: this.connections, subscriptions: this.subscriptions, tasks: this.tasks });
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
  principalSession(identity: Principal): Session {
    const key = principalKey(identity);
    let s = this.principals.get(key);
    if (!s || s.closed) {
      this.pruneIdlePrincipals();
      s = new Session(`modern:${identity.sub}`, "http", identity, () => {});
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
    const db = openDatabase(config.audit.path);
    const audit = config.audit.enabled ? AuditStore.on(db) : null;
    audit?.start();
    const governance = new GovernanceStore(db, config.pinning);
    const policy = new Policy(config, governance.switches);
    const views = new Views(this.catalog, policy);
    this.ready = Promise.race([Promise.all(this.backends.map((b) => b.settled)).then(() => {}), delay(config.server.startupTimeoutMs)]);
    const shared = { backends: this.backends, ready: this.ready, tasks: this.tasks };
    const router = new Router({ ...shared, catalog: this.catalog, subscriptions: this.subscriptions });
    const own = new OwnMethods({ ...shared, server: config.server, sessions: this.sessions, connections: this.connections, views });
    const pipeline = new Pipeline({
      own,
      router,
      policy,
      connections: this.connections,
      audit,
      maxArgumentBytes: config.audit.maxArgumentBytes,
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
      granted: (identity, front, granted) => pipeline.listened(identity, front, granted),
    });
    this.running = { db, audit, governance, policy, views, pipeline, modern, parking, listens, pruner: audit ? this.startPruning(audit) : null };
    governance.start(() => this.onBackendChanged());
    for (const b of this.backends) b.start();
  }

  openSession(id: string, front: Front, identity: Principal, deliver: (m: Message) => void): Session {
    const session = new Session(id, front, identity, deliver);
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
    if (!r || !session.initialized || r.policy.viewKey(before) === r.policy.viewKey(identity)) return;
    const methods = new Set(r.views.differing(before, identity).map((k) => LIST_NOTIFICATIONS[k]));
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
    this.catalog.rebuild(this.backends, this.config.names.maxLength, (b, tool) => pins?.withholding(b.name, tool) ?? null);
    const byView = new Map<string, string[]>();
    const changedFor = (identity: Principal): string[] => {
      const key = r.policy.viewKey(identity);
      let methods = byView.get(key);
      if (!methods) {
        const keys = r.views.changed(identity);
        if (announced && !keys.includes(announced.key) && r.views.shows(identity, announced.backend, announced.key)) keys.push(announced.key);
        methods = [...new Set(keys.map((k) => LIST_NOTIFICATIONS[k]))];
        byView.set(key, methods);
      }
      return methods;
    };
    for (const s of this.sessions) {
      if (!s.initialized) continue;
      for (const method of changedFor(s.identity)) s.send({ jsonrpc: "2.0", method });
    }
    for (const l of r.listens.values()) for (const method of changedFor(l.identity)) l.deliver({ jsonrpc: "2.0", method });
  }
}

/** Resolves after ms without keeping the process alive. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
