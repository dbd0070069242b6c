// What Sentinel answers itself: initialize, ping, the merged lists as each
// caller may see them, logging/setLevel and tasks/list; and the client's
// notifications. Everything else is routed to a backend (router.ts).

import type { Principal } from "../auth/principal.ts";
import type { Backend } from "../backends/backend.ts";
import type { Result } from "../backends/request.ts";
import { InvalidParams } from "../errors.ts";
import type { Notification, Params } from "../jsonrpc/message.ts";
import type { SessionConnections } from "../session/connections.ts";
import { LOG_LEVELS, type McpLogLevel, type Session } from "../session/session.ts";
import { MODERN_VERSIONS } from "../session/envelope.ts";
import { VERSION } from "../version.ts";
import type { Lists, Views } from "./views.ts";
import { page } from "./pages.ts";
import type { Tasks } from "./tasks.ts";

/** Newest first; a client asking for another gets the newest. The 2026-07-28 revision has no initialize (envelope.ts). */
export const PROTOCOL_VERSIONS = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];

/** What Sentinel offers whichever backends are up: it answers lists, subscriptions and log levels itself. */
const CAPABILITIES = {
  tools: { listChanged: true },
  prompts: { listChanged: true },
  resources: { subscribe: true, listChanged: true },
  completions: {},
  logging: {},
};

type Handler = (session: Session, params: Params, identity: Principal) => Promise<Result> | Result;

export type OwnMethodsDeps = {
  server: { name: string; pageSize: number };
  backends: Backend[];
  /** Resolves when every backend has had its first chance to start (or the startup timeout passed). */
  ready: Promise<void>;
  sessions: Set<Session>;
  connections: SessionConnections;
  tasks: Tasks;
  views: Views;
  /** A view's own description and instructions (config.views, as reloaded). */
  view: (name: string) => { description?: string; instructions?: string } | undefined;
};

export class OwnMethods {
  private readonly handlers: Record<string, Handler>;

  constructor(private readonly deps: OwnMethodsDeps) {
    const list = (key: keyof Lists) => async (s: Session, p: Params, identity: Principal) => {
      await deps.ready;
      // Read the catalog after waiting: a rebuild replaces its lists.
      const { items, nextCursor } = page(deps.views.lists(identity, s.view)[key], p.cursor, deps.server.pageSize);
      return nextCursor ? { [key]: items, nextCursor } : { [key]: items };
    };
    this.handlers = {
      initialize: (s, p) => this.initialize(s, p),
      ping: () => ({}),
      "tools/list": list("tools"),
      "prompts/list": list("prompts"),
      "resources/list": list("resources"),
      "resources/templates/list": list("resourceTemplates"),
      "logging/setLevel": (s, p) => this.setLevel(s, p),
      "tasks/list": (s) => this.listTasks(s),
    };
  }

  /** The handler for one of Sentinel's own methods, if it is one. */
  handler(method: string): Handler | undefined {
    return Object.hasOwn(this.handlers, method) ? this.handlers[method] : undefined;
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
        for (const b of this.reachable(session)) b.notify(n.method, n.params);
        return;
    }
  }

  private async initialize(session: Session, params: Params): Promise<Result> {
    const asked = params.protocolVersion;
    const version = typeof asked === "string" && PROTOCOL_VERSIONS.includes(asked) ? asked : PROTOCOL_VERSIONS[0]!;
    session.protocolVersion = version;
    session.clientInfo = (params.clientInfo as Record<string, unknown>) ?? {};
    session.clientCapabilities = (params.capabilities as Record<string, unknown>) ?? {};
    await this.deps.ready;
    const ready = this.deps.backends.filter((b) => b.connected);
    const instructions = this.instructions(ready, session.view);
    const hasTasks = ready.some((b) => "tasks" in b.capabilities);
    return {
      protocolVersion: version,
      capabilities: {
        ...CAPABILITIES,
        ...(hasTasks && { tasks: { list: {}, cancel: {}, requests: { tools: { call: {} } } } }),
      },
      serverInfo: this.serverInfo,
      ...(instructions && { instructions }),
    };
  }

  /**
   * MCP 2026-07-28's server/discover: Sentinel's own versions and capabilities
   * (it translates between eras, so not its backends'), and their instructions.
   * Tasks are not offered: a 2025 backend's task is run to its end for a modern client.
   */
  async discover(view: string | null = null): Promise<Result> {
    await this.deps.ready;
    const instructions = this.instructions(this.deps.backends.filter((b) => b.connected), view);
    return {
      supportedVersions: MODERN_VERSIONS,
      capabilities: CAPABILITIES,
      ...(instructions && { instructions }),
    };
  }

  /** Who answers: 2025 results carry it in initialize, 2026 results in _meta. */
  get serverInfo(): Record<string, unknown> {
    return { name: this.deps.server.name, title: "Sentinel MCP gateway", version: VERSION };
  }

  /** A view with instructions or a description of its own says what it is for instead of the backends. */
  private instructions(ready: Backend[], view: string | null): string {
    const own = view === null ? undefined : this.deps.view(view);
    if (own?.instructions || own?.description) return [own.description, own.instructions].filter(Boolean).join("\n\n");
    return ready
      .filter((b) => b.instructions)
      .map((b) => `## ${b.name}\n${b.instructions}`)
      .join("\n\n");
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
    for (const s of this.deps.sessions) if (s.logLevel) lowest = Math.min(lowest, LOG_LEVELS.indexOf(s.logLevel));
    for (const b of this.reachable(session)) {
      if (b.connected && "logging" in b.capabilities) {
        const own = b.dedicated ? level : LOG_LEVELS[lowest];
        void b.request("logging/setLevel", { level: own }).catch(() => {});
      }
    }
    return {};
  }

  private async listTasks(session: Session): Promise<Result> {
    const mine = this.deps.tasks.idsOf(session);
    const holders = new Set(
      [...this.deps.backends, ...this.deps.connections.of(session)].filter((b) => b.connected && "tasks" in b.capabilities),
    );
    const lists = await Promise.all([...holders].map((b) => b.request("tasks/list", {}).catch(() => ({ tasks: [] }))));
    const tasks = lists.flatMap((l) => (Array.isArray(l.tasks) ? l.tasks : [])).filter((t) => mine.has((t as { taskId: string }).taskId));
    return { tasks };
  }

  /** The shared connections and this session's own. */
  private reachable(session: Session): Backend[] {
    return [...this.deps.backends.filter((b) => b.config.isolation === "shared"), ...this.deps.connections.of(session)];
  }
}
