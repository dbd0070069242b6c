// The composition root: builds the backends, the merged catalog, the dispatcher
// and the pipeline from a config, owns the set of client sessions, and routes
// what backends send on their own to the session it belongs to.

import type { Database } from "bun:sqlite";
import { AuditStore } from "./audit/store.ts";
import type { Principal } from "./auth/principal.ts";
import { Backend, type BackendEvents } from "./backends/backend.ts";
import type { CancelHook } from "./backends/peer.ts";
import { SessionBackends } from "./backends/pool.ts";
import type { Config } from "./config/load.ts";
import { Catalog } from "./dispatch/catalog.ts";
import { Dispatcher } from "./dispatch/dispatcher.ts";
import { Subscriptions } from "./dispatch/subscriptions.ts";
import { Tasks } from "./dispatch/tasks.ts";
import { Views } from "./dispatch/views.ts";
import { InvalidRequest } from "./errors.ts";
import type { Message, Notification, Request } from "./jsonrpc/message.ts";
import { logger } from "./log.ts";
import { Pipeline } from "./pipeline/pipeline.ts";
import { Policy } from "./pipeline/policy.ts";
import { Pins } from "./policy/pins.ts";
import { Switches } from "./policy/switches.ts";
import { Session, type Call, type Front } from "./session/session.ts";
import { openDatabase } from "./store/database.ts";

const log = logger("gateway");

const LIST_NOTIFICATIONS = {
  tools: "notifications/tools/list_changed",
  prompts: "notifications/prompts/list_changed",
  resources: "notifications/resources/list_changed",
  resourceTemplates: "notifications/resources/list_changed",
} as const;

// How often a running gateway looks for kill switches and approvals made by
// `sentinel tools ...` in the shared database.
const STATE_POLL_MS = 1000;
const PRUNE_MS = 3_600_000;

export class Gateway {
  readonly backends: Backend[];
  readonly catalog = new Catalog();
  readonly pipeline: Pipeline;
  readonly sessions = new Set<Session>();
  /** Resolves when every backend has had its first chance to start (or the startup timeout passed). */
  readonly ready: Promise<void>;
  private readonly audit: AuditStore | null;
  private readonly pool: SessionBackends;
  readonly policy: Policy;
  private readonly subscriptions = new Subscriptions();
  private readonly tasks = new Tasks();
  private readonly views: Views;
  private readonly db: Database;
  private readonly pins: Pins | null;
  private readonly switches: Switches;
  private readonly poller: ReturnType<typeof setInterval>;
  private pruner: ReturnType<typeof setInterval> | null = null;
  private stopping: Promise<void> | null = null;

  constructor(readonly config: Config) {
    this.db = openDatabase(config.audit.path);
    this.audit = config.audit.enabled ? AuditStore.on(this.db) : null;
    this.pins = config.pinning.mode === "off" ? null : new Pins(this.db, config.pinning.mode);
    this.switches = new Switches(this.db);
    this.policy = new Policy(config, this.switches);
    this.views = new Views(this.catalog, this.policy);
    this.poller = setInterval(() => this.pollState(), STATE_POLL_MS);
    this.poller.unref();
    if (this.audit && config.audit.retentionMs > 0) {
      const prune = () => {
        const removed = this.audit?.prune(Date.now() - config.audit.retentionMs) ?? 0;
        if (removed > 0) log.info(`audit retention: deleted ${removed} rows older than ${config.audit.retentionMs / 3_600_000} h`);
      };
      prune();
      this.pruner = setInterval(prune, PRUNE_MS);
      this.pruner.unref();
    }
    const events: BackendEvents = {
      changed: (b) => {
        if (!b.owner) this.onBackendChanged();
      },
      notification: (b, n, origin) => this.onBackendNotification(b, n, origin),
      request: (b, r, origin, cancel) => this.onBackendRequest(b, r, origin, cancel),
    };
    const open = (cfg: Backend["config"], owner: Session | null) =>
      new Backend(cfg, config.limits.backend, config.server.startupTimeoutMs, events, owner);
    this.backends = config.backends.filter((b) => !b.disabled).map((b) => open(b, null));
    this.pool = new SessionBackends((shared, owner) => open(shared.config, owner));
    this.ready = Promise.race([Promise.all(this.backends.map((b) => b.settled)).then(() => {}), delay(config.server.startupTimeoutMs)]);
    const dispatcher = new Dispatcher({
      config,
      backends: this.backends,
      catalog: this.catalog,
      ready: this.ready,
      sessions: this.sessions,
      pool: this.pool,
      subscriptions: this.subscriptions,
      tasks: this.tasks,
      policy: this.policy,
      views: this.views,
    });
    this.pipeline = new Pipeline(dispatcher, this.audit, config.audit.maxArgumentBytes);
  }

  start(): void {
    // First: folds the audit journals of gateways that were killed.
    this.audit?.start();
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
    if (!session.initialized || this.policy.viewKey(before) === this.policy.viewKey(identity)) return;
    const methods = new Set(this.views.differing(before, identity).map((k) => LIST_NOTIFICATIONS[k]));
    for (const method of methods) session.send({ jsonrpc: "2.0", method });
  }

  closeSession(session: Session, reason?: string): void {
    session.close(reason);
    this.sessions.delete(session);
  }

  /** Drains in-flight calls (bounded), stops every backend, flushes the audit log. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await this.pipeline.drain(this.config.server.shutdownTimeoutMs);
      for (const s of this.sessions) s.close("shutting down");
      clearInterval(this.poller);
      if (this.pruner) clearInterval(this.pruner);
      await Promise.all([...this.backends.map((b) => b.stop()), this.pool.stopAll()]);
      this.audit?.stop();
      this.db.close();
    })();
    return this.stopping;
  }

  private onBackendChanged(): void {
    this.catalog.rebuild(this.backends, this.config.names.maxLength, (b, tool) => this.pins?.admit(b.name, tool) ?? null);
    // Tell each session about the lists that changed as it sees them.
    const byView = new Map<string, string[]>();
    for (const s of this.sessions) {
      if (!s.initialized) continue;
      const key = this.policy.viewKey(s.identity);
      let methods = byView.get(key);
      if (!methods) {
        methods = [...new Set(this.views.changed(s.identity).map((k) => LIST_NOTIFICATIONS[k]))];
        byView.set(key, methods);
      }
      for (const method of methods) s.send({ jsonrpc: "2.0", method });
    }
  }

  /** Kill switches and approvals written by other processes take effect here. */
  private pollState(): void {
    const switched = this.switches.refresh();
    const approved = this.pins?.refresh() ?? false;
    if (switched || approved) this.onBackendChanged();
  }

  /**
   * The session a backend-initiated message is for: the connection's owner, the
   * session of the call it belongs to, or the only session there is. Never a
   * guess between sessions (one client must not see another's traffic).
   */
  private targetOf(backend: Backend, origin: Call | null): Session | null {
    if (backend.owner) return backend.owner;
    if (origin) return origin.session;
    let only: Session | null = null;
    for (const s of this.sessions) {
      if (!s.initialized) continue;
      if (only) return null;
      only = s;
    }
    return only;
  }

  private onBackendNotification(backend: Backend, n: Notification, origin: Call | null): void {
    const p = n.params ?? {};
    switch (n.method) {
      case "notifications/tools/list_changed":
      case "notifications/prompts/list_changed":
      case "notifications/resources/list_changed":
        return; // the backend refreshes its catalog and the rebuild announces real changes
      case "notifications/resources/updated":
        for (const s of this.subscriptions.subscribers(backend, String(p.uri))) s.send(n);
        return;
      case "notifications/tasks/status":
        this.tasks.ownerOf(p.taskId)?.send(n);
        return;
    }
    const target = this.targetOf(backend, origin);
    if (!target) {
      log.debug(`${backend.name}: ${n.method} not attributable to one session; kept in the log only: ${JSON.stringify(p).slice(0, 300)}`);
      return;
    }
    if (n.method === "notifications/message" && !target.wantsLog(p.level)) return;
    if (origin && origin.session === target && !origin.cancelled) origin.relate(n);
    else target.send(n);
  }

  private onBackendRequest(backend: Backend, r: Request, origin: Call | null, cancel: CancelHook): Promise<Record<string, unknown>> {
    // A backend's ping checks its connection to Sentinel, which answers it.
    if (r.method === "ping") return Promise.resolve({});
    const target = this.targetOf(backend, origin);
    if (!target) {
      return Promise.reject(
        new InvalidRequest(
          `${r.method} cannot be attributed to one client session of the gateway; configure backend ${backend.name} with isolation: session`,
        ),
      );
    }
    return target.request(r.method, r.params, origin && origin.session === target ? origin : null, cancel);
  }
}

/** Resolves after ms without keeping the process alive. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
