// Answers each MCP method: Sentinel's own (initialize, ping, lists, log level)
// from the merged catalog, and the rest by routing to the owning backend with
// the backend's original name restored.

import type { Backend } from "../backends/backend.ts";
import type { SessionBackends } from "../backends/pool.ts";
import type { Config } from "../config/load.ts";
import { BackendUnavailable, InvalidParams, MethodNotFound, UnknownTarget, Withheld } from "../errors.ts";
import type { Notification, Params, Request } from "../jsonrpc/message.ts";
import { LOG_LEVELS, type Call, type McpLogLevel, type Session } from "../session/session.ts";
import { VERSION } from "../version.ts";
import type { Catalog } from "./catalog.ts";
import { page } from "./pages.ts";
import type { Subscriptions } from "./subscriptions.ts";
import type { Tasks } from "./tasks.ts";
import type { Views } from "./views.ts";
import type { Policy, TargetKind } from "../pipeline/policy.ts";

/** Newest first; a client asking for another gets the newest. */
export const PROTOCOL_VERSIONS = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];

type Result = Record<string, unknown>;
type Handler = (session: Session, params: Params, call: Call) => Promise<Result> | Result;

export type DispatchContext = {
  config: Config;
  backends: Backend[];
  catalog: Catalog;
  /** Resolves when every backend has had its first chance to start (or the startup timeout passed). */
  ready: Promise<void>;
  sessions: Set<Session>;
  pool: SessionBackends;
  subscriptions: Subscriptions;
  tasks: Tasks;
  policy: Policy;
  views: Views;
};

export class Dispatcher {
  private readonly handlers: Record<string, Handler>;

  constructor(private readonly ctx: DispatchContext) {
    const pageSize = ctx.config.server.pageSize;
    const list = (key: keyof Catalog["lists"]) => async (_s: Session, p: Params, call: Call) => {
      await ctx.ready;
      // Read the catalog after waiting: a rebuild replaces its lists.
      const { items, nextCursor } = page(ctx.views.lists(call.identity)[key], p.cursor, pageSize);
      return nextCursor ? { [key]: items, nextCursor } : { [key]: items };
    };
    this.handlers = {
      initialize: (s, p) => this.initialize(s, p),
      ping: () => ({}),
      "tools/list": list("tools"),
      "prompts/list": list("prompts"),
      "resources/list": list("resources"),
      "resources/templates/list": list("resourceTemplates"),
      "tools/call": (s, p, call) => this.forwardNamed(s, "tool", "tools/call", p, call),
      "prompts/get": (s, p, call) => this.forwardNamed(s, "prompt", "prompts/get", p, call),
      "resources/read": (s, p, call) => this.forwardResource(s, "resources/read", p, call),
      "resources/subscribe": (s, p, call) => this.subscribe(s, p, call, true),
      "resources/unsubscribe": (s, p, call) => this.subscribe(s, p, call, false),
      "completion/complete": (s, p, call) => this.complete(s, p, call),
      "logging/setLevel": (s, p) => this.setLevel(s, p),
      "tasks/get": (s, p, call) => this.forwardTask(s, "tasks/get", p, call),
      "tasks/result": (s, p, call) => this.forwardTask(s, "tasks/result", p, call),
      "tasks/cancel": (s, p, call) => this.forwardTask(s, "tasks/cancel", p, call),
      "tasks/list": (s) => this.listTasks(s),
    };
  }

  /** Answers one request; fills in `call` with where it went and how to cancel it. */
  dispatch(session: Session, request: Request, call: Call): Promise<Result> | Result {
    const handler = this.handlers[request.method];
    if (!handler) throw new MethodNotFound(request.method);
    return handler(session, request.params ?? {}, call);
  }

  /** Notifications from the client. */
  notification(session: Session, n: Notification): void {
    switch (n.method) {
      case "notifications/initialized":
        session.initialized = true;
        return;
      case "notifications/cancelled": {
        const id = n.params?.requestId;
        if (typeof id === "string" || typeof id === "number") session.cancel(id, String(n.params?.reason ?? "cancelled by client"));
        return;
      }
      case "notifications/roots/list_changed":
        // Only this session's own connections and shared ones: a shared backend then asks, and is answered by whoever is calling.
        for (const b of [...this.ctx.backends.filter((b) => b.config.isolation === "shared"), ...this.ctx.pool.of(session)]) {
          b.notify(n.method, n.params);
        }
        return;
    }
  }

  private async initialize(session: Session, params: Params): Promise<Result> {
    const asked = params.protocolVersion;
    const version = typeof asked === "string" && PROTOCOL_VERSIONS.includes(asked) ? asked : PROTOCOL_VERSIONS[0]!;
    session.protocolVersion = version;
    session.clientInfo = (params.clientInfo as Record<string, unknown>) ?? {};
    session.clientCapabilities = (params.capabilities as Record<string, unknown>) ?? {};
    await this.ctx.ready;
    const ready = this.ctx.backends.filter((b) => b.state === "ready");
    const instructions = ready
      .filter((b) => b.instructions)
      .map((b) => `## ${b.name}\n${b.instructions}`)
      .join("\n\n");
    const hasTasks = ready.some((b) => "tasks" in b.capabilities);
    return {
      protocolVersion: version,
      capabilities: {
        tools: { listChanged: true },
        prompts: { listChanged: true },
        resources: { subscribe: true, listChanged: true },
        completions: {},
        logging: {},
        ...(hasTasks && { tasks: { list: {}, cancel: {}, requests: { tools: { call: {} } } } }),
      },
      serverInfo: { name: this.ctx.config.server.name, title: "Sentinel MCP gateway", version: VERSION },
      ...(instructions && { instructions }),
    };
  }

  private async forwardNamed(session: Session, kind: "tool" | "prompt", method: string, params: Params, call: Call): Promise<Result> {
    const name = params.name;
    if (typeof name !== "string") throw new InvalidParams(`Invalid params: "name" must be a string`);
    call.target = name;
    const { catalog } = this.ctx;
    let entry = catalog.entry(kind, name);
    if (!entry) {
      // A call that races startup waits for the backends rather than failing.
      await this.ctx.ready;
      entry = catalog.entry(kind, name);
    }
    if (!entry) {
      // Why it is missing is told only to callers who may use it.
      const withheld = kind === "tool" ? catalog.withheld.get(name) : undefined;
      if (withheld) {
        this.admit(call, kind, name, withheld.backend, params.arguments);
        call.decision = "unpinned";
        throw new Withheld(name, withheld.reason);
      }
      const former = catalog.formerOwner(kind, name) ?? this.ownerByPrefix(name);
      if (former && former.state !== "ready") {
        this.admit(call, kind, name, former, params.arguments);
        const why = former.lastError ? ` (${former.lastError})` : "";
        throw new BackendUnavailable(`Backend ${former.name}, which provides ${kind} ${name}, is unavailable${why}; retrying`);
      }
      throw new UnknownTarget(kind, name);
    }
    this.admit(call, kind, name, entry.backend, params.arguments);
    const backend = await this.ctx.pool.get(session, entry.backend);
    const forwarded = entry.name === name ? params : { ...params, name: entry.name };
    const result = await backend.request(method, forwarded, call);
    if (params.task) this.ctx.tasks.record(result, backend, session);
    return result;
  }

  /** The governance steps, once the target and its backend are known. */
  private admit(call: Call, kind: TargetKind, name: string, backend: Backend, args: unknown): void {
    call.backend = backend.name;
    this.ctx.policy.admit(call, kind, name, backend.name, args);
  }

  /** A backend that is not up (so never listed) but whose prefix the name carries. */
  private ownerByPrefix(name: string): Backend | undefined {
    return this.ctx.backends.find((b) => b.config.prefix !== "" && name.startsWith(b.config.prefix) && b.state !== "ready");
  }

  private async resourceBackend(session: Session, uri: unknown, call: Call): Promise<Backend> {
    if (typeof uri !== "string") throw new InvalidParams(`Invalid params: "uri" must be a string`);
    call.target = uri;
    let owner = this.ctx.catalog.resourceOwner(uri);
    if (!owner) {
      await this.ctx.ready;
      owner = this.ctx.catalog.resourceOwner(uri);
    }
    if (!owner) throw new UnknownTarget("resource", uri);
    this.admit(call, "resource", uri, owner, undefined);
    return this.ctx.pool.get(session, owner);
  }

  private async forwardResource(session: Session, method: string, params: Params, call: Call): Promise<Result> {
    const backend = await this.resourceBackend(session, params.uri, call);
    return backend.request(method, params, call);
  }

  private async subscribe(session: Session, params: Params, call: Call, on: boolean): Promise<Result> {
    const backend = await this.resourceBackend(session, params.uri, call);
    if (!(backend.capabilities.resources as { subscribe?: boolean } | undefined)?.subscribe) {
      throw new MethodNotFound(`resources/subscribe (backend ${backend.name} does not support subscriptions)`);
    }
    const uri = params.uri as string;
    if (on) await this.ctx.subscriptions.subscribe(session, backend, uri);
    else await this.ctx.subscriptions.unsubscribe(session, uri);
    return {};
  }

  private async complete(session: Session, params: Params, call: Call): Promise<Result> {
    const ref = params.ref as { type?: string; name?: string; uri?: string } | undefined;
    const none = { completion: { values: [], hasMore: false } };
    let backend: Backend;
    let forwarded = params;
    if (ref?.type === "ref/prompt" && typeof ref.name === "string") {
      call.target = ref.name;
      const entry = this.ctx.catalog.prompts.get(ref.name);
      if (!entry) throw new UnknownTarget("prompt", ref.name);
      this.admit(call, "prompt", ref.name, entry.backend, undefined);
      backend = await this.ctx.pool.get(session, entry.backend);
      forwarded = { ...params, ref: { ...ref, name: entry.name } };
    } else if (ref?.type === "ref/resource" && typeof ref.uri === "string") {
      backend = await this.resourceBackend(session, ref.uri, call);
    } else {
      throw new InvalidParams('Invalid params: "ref" must be a ref/prompt or ref/resource');
    }
    if (!("completions" in backend.capabilities)) return none;
    return backend.request("completion/complete", forwarded, call);
  }

  /**
   * Each session filters log messages at its own level; backends are set to the
   * most verbose level any session asked for, so that no session misses any.
   */
  private setLevel(session: Session, params: Params): Result {
    const level = params.level as McpLogLevel;
    if (!LOG_LEVELS.includes(level)) throw new InvalidParams(`Invalid params: "level" must be one of ${LOG_LEVELS.join(", ")}`);
    session.logLevel = level;
    let lowest = LOG_LEVELS.length - 1;
    for (const s of this.ctx.sessions) if (s.logLevel) lowest = Math.min(lowest, LOG_LEVELS.indexOf(s.logLevel));
    const targets = [...this.ctx.backends.filter((b) => b.config.isolation === "shared"), ...this.ctx.pool.of(session)];
    for (const b of targets) {
      if (b.state === "ready" && "logging" in b.capabilities) {
        const own = b.owner ? level : LOG_LEVELS[lowest];
        void b.request("logging/setLevel", { level: own }).catch(() => {});
      }
    }
    return {};
  }

  private async forwardTask(session: Session, method: string, params: Params, call: Call): Promise<Result> {
    const backend = this.ctx.tasks.backendFor(session, params.taskId);
    call.backend = backend.name;
    call.target = String(params.taskId);
    return backend.request(method, params, call);
  }

  private async listTasks(session: Session): Promise<Result> {
    const mine = this.ctx.tasks.idsOf(session);
    const holders = new Set(
      [...this.ctx.backends, ...this.ctx.pool.of(session)].filter((b) => b.state === "ready" && "tasks" in b.capabilities),
    );
    const lists = await Promise.all([...holders].map((b) => b.request("tasks/list", {}).catch(() => ({ tasks: [] }))));
    const tasks = lists.flatMap((l) => (Array.isArray(l.tasks) ? l.tasks : [])).filter((t) => mine.has((t as { taskId: string }).taskId));
    return { tasks };
  }
}
