// What backends send on their own (notifications, sampling, elicitation,
// roots) goes to the client session it belongs to, decided here and only here:
// the session a dedicated connection serves; else the client call whose
// answer stream carried it (Streamable HTTP), or the calls in flight on that
// connection if they all come from one session; else the only session there
// is. Never a guess between sessions: one client must not see another's traffic.

import type { Backend } from "../backends/backend.ts";
import type { CancelSignal, RequestOptions, Result } from "../backends/request.ts";
import { InvalidRequest } from "../errors.ts";
import type { Notification, Request } from "../jsonrpc/message.ts";
import { logger } from "../log.ts";
import type { SessionConnections } from "../session/connections.ts";
import type { Session } from "../session/session.ts";
import type { Subscriptions } from "./subscriptions.ts";
import type { Tasks } from "./tasks.ts";

const log = logger("gateway");

export type ReverseRoutingDeps = {
  sessions: Set<Session>;
  connections: SessionConnections;
  subscriptions: Subscriptions;
  tasks: Tasks;
};

type Target = { session: Session; call: RequestOptions | null };

export class ReverseRouting {
  constructor(private readonly deps: ReverseRoutingDeps) {}

  notification(backend: Backend, n: Notification, related: RequestOptions | null): void {
    const p = n.params ?? {};
    switch (n.method) {
      case "notifications/tools/list_changed":
      case "notifications/prompts/list_changed":
      case "notifications/resources/list_changed":
        return; // the backend refreshes its catalog and the rebuild announces real changes
      case "notifications/resources/updated":
        for (const s of this.deps.subscriptions.subscribers(backend, String(p.uri))) s.send(n);
        return;
      case "notifications/tasks/status":
        this.deps.tasks.ownerOf(p.taskId)?.send(n);
        return;
    }
    const target = this.target(backend, related);
    if (!target) {
      log.debug(`${backend.name}: ${n.method} not attributable to one session; kept in the log only: ${JSON.stringify(p).slice(0, 300)}`);
      return;
    }
    if (n.method === "notifications/message" && !target.session.wantsLog(p.level)) return;
    if (target.call?.onNotification && !target.call.cancel?.cancelled) target.call.onNotification(n);
    else target.session.send(n);
  }

  request(backend: Backend, r: Request, related: RequestOptions | null, cancel: CancelSignal): Promise<Result> {
    // A backend's ping checks its connection to Sentinel, which answers it.
    if (r.method === "ping") return Promise.resolve({});
    const target = this.target(backend, related);
    if (!target) {
      return Promise.reject(
        new InvalidRequest(
          `${r.method} cannot be attributed to one client session of the gateway; configure backend ${backend.name} with isolation: session`,
        ),
      );
    }
    if (target.call?.onRequest && !target.call.cancel?.cancelled) return target.call.onRequest(r, cancel);
    return target.session.request(r.method, r.params, undefined, cancel);
  }

  private target(backend: Backend, related: RequestOptions | null): Target | null {
    const call = related ?? this.onlyCaller(backend);
    const session = this.deps.connections.ownerOf(backend) ?? (call?.origin as Session | undefined) ?? this.onlySession();
    if (!session) return null;
    return { session, call: call && call.origin === session ? call : null };
  }

  /** A call in flight on this connection, if every call in flight there comes from one session. */
  private onlyCaller(backend: Backend): RequestOptions | null {
    let only: RequestOptions | null = null;
    for (const w of backend.waiting()) {
      if (w.origin === undefined) continue;
      if (only && only.origin !== w.origin) return null;
      only = w;
    }
    return only;
  }

  private onlySession(): Session | undefined {
    let only: Session | undefined;
    for (const s of this.deps.sessions) {
      if (!s.initialized) continue;
      if (only) return undefined;
      only = s;
    }
    return only;
  }
}
