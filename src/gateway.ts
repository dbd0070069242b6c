// The composition root: builds the backends, the merged catalog, the dispatcher
// and the pipeline from a config, and owns the set of client sessions.
// Both fronts are handed one Gateway.

import { AuditStore } from "./audit/store.ts";
import { Backend } from "./backends/backend.ts";
import type { Config, Identity } from "./config/load.ts";
import { Catalog } from "./dispatch/catalog.ts";
import { Dispatcher } from "./dispatch/dispatcher.ts";
import { MethodNotFound } from "./errors.ts";
import type { Message, Notification } from "./jsonrpc/message.ts";
import { logger } from "./log.ts";
import { Pipeline } from "./pipeline/pipeline.ts";
import { Session, type Front } from "./session/session.ts";

const log = logger("gateway");

const LIST_NOTIFICATIONS = {
  tools: "notifications/tools/list_changed",
  prompts: "notifications/prompts/list_changed",
  resources: "notifications/resources/list_changed",
} as const;

export class Gateway {
  readonly backends: Backend[];
  readonly catalog = new Catalog();
  readonly pipeline: Pipeline;
  readonly sessions = new Set<Session>();
  /** Resolves when every backend has had its first chance to start (or the startup timeout passed). */
  readonly ready: Promise<void>;
  private readonly audit: AuditStore | null;
  // What clients last saw of each list, so that only real changes are announced.
  private signatures: Record<string, string> = { tools: "[]", prompts: "[]", resources: "[[],[]]" };
  private stopping: Promise<void> | null = null;

  constructor(readonly config: Config) {
    this.audit = config.audit.enabled ? AuditStore.open(config.audit.path) : null;
    this.backends = config.backends
      .filter((b) => !b.disabled)
      .map(
        (b) =>
          new Backend(b, config.server.maxMessageBytes, config.server.startupTimeoutMs, {
            changed: () => this.onBackendChanged(),
            notification: (backend, n) => this.onBackendNotification(backend, n),
            request: (_, r) => Promise.reject(new MethodNotFound(r.method)),
          }),
      );
    this.ready = Promise.race([Promise.all(this.backends.map((b) => b.settled)).then(() => {}), delay(config.server.startupTimeoutMs)]);
    const dispatcher = new Dispatcher(config, this.backends, this.catalog, this.ready);
    this.pipeline = new Pipeline(dispatcher, this.audit, config.audit.maxArgumentBytes);
  }

  start(): void {
    for (const b of this.backends) b.start();
  }

  openSession(id: string, front: Front, identity: Identity, deliver: (m: Message) => void): Session {
    const session = new Session(id, front, identity, deliver);
    this.sessions.add(session);
    return session;
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
      await Promise.all(this.backends.map((b) => b.stop()));
      this.audit?.close();
    })();
    return this.stopping;
  }

  private onBackendChanged(): void {
    this.catalog.rebuild(this.backends, this.config.names.maxLength);
    const lists = this.catalog.lists;
    const next = {
      tools: JSON.stringify(lists.tools),
      prompts: JSON.stringify(lists.prompts),
      resources: JSON.stringify([lists.resources, lists.resourceTemplates]),
    };
    for (const key of Object.keys(LIST_NOTIFICATIONS) as (keyof typeof LIST_NOTIFICATIONS)[]) {
      if (this.signatures[key] === next[key]) continue;
      this.broadcast({ jsonrpc: "2.0", method: LIST_NOTIFICATIONS[key] });
    }
    this.signatures = next;
  }

  private onBackendNotification(backend: Backend, n: Notification): void {
    if (n.method === "notifications/message") {
      const p = n.params ?? {};
      log.debug(`${backend.name} says (${String(p.level)}): ${JSON.stringify(p.data)}`);
    }
  }

  private broadcast(n: Notification): void {
    for (const s of this.sessions) if (s.initialized) s.send(n);
  }
}

/** Resolves after ms without keeping the process alive. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
