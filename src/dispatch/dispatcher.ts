// Answers each MCP method: Sentinel's own (initialize, ping, lists) from the
// merged catalog, and the rest by routing to the owning backend with the
// backend's original name restored.

import type { Backend } from "../backends/backend.ts";
import type { Config } from "../config/load.ts";
import { BackendUnavailable, InvalidParams, MethodNotFound, UnknownTarget } from "../errors.ts";
import type { Params, Request } from "../jsonrpc/message.ts";
import type { Session } from "../session/session.ts";
import { VERSION } from "../version.ts";
import type { Catalog } from "./catalog.ts";

/** Newest first; a client asking for another gets the newest. */
export const PROTOCOL_VERSIONS = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];

/** What the pipeline learns about a request while it is dispatched, for the audit row. */
export type Route = { backend: string | null; target: string | null };

type Result = Record<string, unknown>;
type Handler = (session: Session, params: Params, route: Route, signal: AbortSignal | undefined) => Promise<Result> | Result;

export class Dispatcher {
  private readonly handlers: Record<string, Handler>;

  constructor(
    private readonly config: Config,
    private readonly backends: Backend[],
    private readonly catalog: Catalog,
    /** Resolves when every backend has had its first chance to start (or the startup timeout passed). */
    private readonly ready: Promise<void>,
  ) {
    this.handlers = {
      initialize: (s, p) => this.initialize(s, p),
      ping: () => ({}),
      // Read the catalog after waiting: a rebuild replaces its lists.
      "tools/list": () => this.ready.then(() => ({ tools: this.catalog.lists.tools })),
      "prompts/list": () => this.ready.then(() => ({ prompts: this.catalog.lists.prompts })),
      "resources/list": () => this.ready.then(() => ({ resources: this.catalog.lists.resources })),
      "resources/templates/list": () => this.ready.then(() => ({ resourceTemplates: this.catalog.lists.resourceTemplates })),
      "tools/call": (_, p, r, sig) => this.forwardNamed("tool", "tools/call", p, r, sig),
      "prompts/get": (_, p, r, sig) => this.forwardNamed("prompt", "prompts/get", p, r, sig),
      "resources/read": (_, p, r, sig) => this.forwardResource("resources/read", p, r, sig),
      "completion/complete": (_, p, r, sig) => this.complete(p, r, sig),
      "logging/setLevel": () => ({}),
    };
  }

  dispatch(session: Session, request: Request, route: Route, signal?: AbortSignal): Promise<Result> | Result {
    const handler = this.handlers[request.method];
    if (!handler) throw new MethodNotFound(request.method);
    return handler(session, request.params ?? {}, route, signal);
  }

  private async initialize(session: Session, params: Params): Promise<Result> {
    const asked = params.protocolVersion;
    const version = typeof asked === "string" && PROTOCOL_VERSIONS.includes(asked) ? asked : PROTOCOL_VERSIONS[0]!;
    session.protocolVersion = version;
    session.clientInfo = (params.clientInfo as Record<string, unknown>) ?? {};
    session.clientCapabilities = (params.capabilities as Record<string, unknown>) ?? {};
    await this.ready;
    const instructions = this.backends
      .filter((b) => b.state === "ready" && b.instructions)
      .map((b) => `## ${b.name}\n${b.instructions}`)
      .join("\n\n");
    return {
      protocolVersion: version,
      capabilities: {
        tools: { listChanged: true },
        prompts: { listChanged: true },
        resources: { listChanged: true },
        completions: {},
        logging: {},
      },
      serverInfo: { name: this.config.server.name, title: "Sentinel MCP gateway", version: VERSION },
      ...(instructions && { instructions }),
    };
  }

  private async forwardNamed(
    kind: "tool" | "prompt",
    method: string,
    params: Params,
    route: Route,
    signal: AbortSignal | undefined,
  ): Promise<Result> {
    const name = params.name;
    if (typeof name !== "string") throw new InvalidParams(`Invalid params: "name" must be a string`);
    route.target = name;
    let entry = this.catalog.entry(kind, name);
    if (!entry) {
      // A call that races startup waits for the backends rather than failing.
      await this.ready;
      entry = this.catalog.entry(kind, name);
    }
    if (!entry) {
      const former = this.catalog.formerOwner(kind, name) ?? this.ownerByPrefix(name);
      if (former && former.state !== "ready") {
        route.backend = former.name;
        const why = former.lastError ? ` (${former.lastError})` : "";
        throw new BackendUnavailable(`Backend ${former.name}, which provides ${kind} ${name}, is unavailable${why}; retrying`);
      }
      throw new UnknownTarget(kind, name);
    }
    route.backend = entry.backend.name;
    const forwarded = entry.name === name ? params : { ...params, name: entry.name };
    return entry.backend.request(method, forwarded, signal && { signal });
  }

  /** A backend that is not up (so never listed) but whose prefix the name carries. */
  private ownerByPrefix(name: string): Backend | undefined {
    return this.backends.find((b) => b.config.prefix !== "" && name.startsWith(b.config.prefix) && b.state !== "ready");
  }

  private async forwardResource(method: string, params: Params, route: Route, signal: AbortSignal | undefined): Promise<Result> {
    const uri = params.uri;
    if (typeof uri !== "string") throw new InvalidParams(`Invalid params: "uri" must be a string`);
    route.target = uri;
    let owner = this.catalog.resourceOwner(uri);
    if (!owner) {
      await this.ready;
      owner = this.catalog.resourceOwner(uri);
    }
    if (!owner) throw new UnknownTarget("resource", uri);
    route.backend = owner.name;
    return owner.request(method, params, signal && { signal });
  }

  private async complete(params: Params, route: Route, signal: AbortSignal | undefined): Promise<Result> {
    const ref = params.ref as { type?: string; name?: string; uri?: string } | undefined;
    const none = { completion: { values: [], hasMore: false } };
    if (ref?.type === "ref/prompt" && typeof ref.name === "string") {
      route.target = ref.name;
      const entry = this.catalog.prompts.get(ref.name);
      if (!entry) throw new UnknownTarget("prompt", ref.name);
      route.backend = entry.backend.name;
      if (!("completions" in entry.backend.capabilities)) return none;
      return entry.backend.request("completion/complete", { ...params, ref: { ...ref, name: entry.name } }, signal && { signal });
    }
    if (ref?.type === "ref/resource" && typeof ref.uri === "string") {
      route.target = ref.uri;
      const owner = this.catalog.resourceOwner(ref.uri);
      if (!owner) throw new UnknownTarget("resource", ref.uri);
      route.backend = owner.name;
      if (!("completions" in owner.capabilities)) return none;
      return owner.request("completion/complete", params, signal && { signal });
    }
    throw new InvalidParams('Invalid params: "ref" must be a ref/prompt or ref/resource');
  }
}
