// Answers each MCP method: Sentinel's own (initialize, ping, lists) from the
// merged catalog, and the rest by routing to the owning backend with the
// backend's original name restored.

import type { Backend } from "../backends/backend.ts";
import type { Config } from "../config/load.ts";
import { BackendUnavailable, InvalidParams, MethodNotFound, UnknownTarget } from "../errors.ts";
import type { Params, Request } from "../jsonrpc/message.ts";
import type { Call, Session } from "../session/session.ts";
import { VERSION } from "../version.ts";
import type { Catalog } from "./catalog.ts";

/** Newest first; a client asking for another gets the newest. */
export const PROTOCOL_VERSIONS = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];


type Result = Record<string, unknown>;
type Handler = (session: Session, params: Params, call: Call) => Promise<Result> | Result;

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
      "tools/call": (_, p, call) => this.forwardNamed("tool", "tools/call", p, call),
      "prompts/get": (_, p, call) => this.forwardNamed("prompt", "prompts/get", p, call),
      "resources/read": (_, p, call) => this.forwardResource("resources/read", p, call),
      "completion/complete": (_, p, call) => this.complete(p, call),
      "logging/setLevel": () => ({}),
    };
  }

  /** Answers one request; fills in `call` with where it went and how to cancel it. */
  dispatch(session: Session, request: Request, call: Call): Promise<Result> | Result {
    const handler = this.handlers[request.method];
    if (!handler) throw new MethodNotFound(request.method);
    return handler(session, request.params ?? {}, call);
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
    call: Call,
  ): Promise<Result> {
    const name = params.name;
    if (typeof name !== "string") throw new InvalidParams(`Invalid params: "name" must be a string`);
    call.target = name;
    let entry = this.catalog.entry(kind, name);
    if (!entry) {
      // A call that races startup waits for the backends rather than failing.
      await this.ready;
      entry = this.catalog.entry(kind, name);
    }
    if (!entry) {
      const former = this.catalog.formerOwner(kind, name) ?? this.ownerByPrefix(name);
      if (former && former.state !== "ready") {
        call.backend = former.name;
        const why = former.lastError ? ` (${former.lastError})` : "";
        throw new BackendUnavailable(`Backend ${former.name}, which provides ${kind} ${name}, is unavailable${why}; retrying`);
      }
      throw new UnknownTarget(kind, name);
    }
    call.backend = entry.backend.name;
    const forwarded = entry.name === name ? params : { ...params, name: entry.name };
    return entry.backend.request(method, forwarded, call);
  }

  /** A backend that is not up (so never listed) but whose prefix the name carries. */
  private ownerByPrefix(name: string): Backend | undefined {
    return this.backends.find((b) => b.config.prefix !== "" && name.startsWith(b.config.prefix) && b.state !== "ready");
  }

  private async forwardResource(method: string, params: Params, call: Call): Promise<Result> {
    const uri = params.uri;
    if (typeof uri !== "string") throw new InvalidParams(`Invalid params: "uri" must be a string`);
    call.target = uri;
    let owner = this.catalog.resourceOwner(uri);
    if (!owner) {
      await this.ready;
      owner = this.catalog.resourceOwner(uri);
    }
    if (!owner) throw new UnknownTarget("resource", uri);
    call.backend = owner.name;
    return owner.request(method, params, call);
  }

  private async complete(params: Params, call: Call): Promise<Result> {
    const ref = params.ref as { type?: string; name?: string; uri?: string } | undefined;
    const none = { completion: { values: [], hasMore: false } };
    if (ref?.type === "ref/prompt" && typeof ref.name === "string") {
      call.target = ref.name;
      const entry = this.catalog.prompts.get(ref.name);
      if (!entry) throw new UnknownTarget("prompt", ref.name);
      call.backend = entry.backend.name;
      if (!("completions" in entry.backend.capabilities)) return none;
      return entry.backend.request("completion/complete", { ...params, ref: { ...ref, name: entry.name } }, call);
    }
    if (ref?.type === "ref/resource" && typeof ref.uri === "string") {
      call.target = ref.uri;
      const owner = this.catalog.resourceOwner(ref.uri);
      if (!owner) throw new UnknownTarget("resource", ref.uri);
      call.backend = owner.name;
      if (!("completions" in owner.capabilities)) return none;
      return owner.request("completion/complete", params, call);
    }
    throw new InvalidParams('Invalid params: "ref" must be a ref/prompt or ref/resource');
  }
}
