// Routing: which backend a request is for, under which of its own names. It
// resolves a plain Route and decides nothing: whether the call may go on is
// the pipeline's (pipeline/steps.ts); after the steps, forward() carries it to
// the backend's connection with what each method needs there.

import type { Backend } from "../backends/backend.ts";
import type { RequestOptions, Result } from "../backends/request.ts";
import { backoffMs, isTransient } from "../backends/retry.ts";
import { BackendError, InvalidParams, MethodNotFound } from "../errors.ts";
import type { Params, Request } from "../jsonrpc/message.ts";
import { RawResult } from "../jsonrpc/raw-result.ts";
import type { Guardrails } from "../policy/guardrails.ts";
import type { TargetKind } from "../policy/rbac.ts";
import type { Session } from "../session/session.ts";
import type { Catalog } from "./catalog.ts";
import { mergeArguments } from "./shaping.ts";
import type { Subscriptions } from "./subscriptions.ts";
import type { Tasks } from "./tasks.ts";

/** Where one request goes. Pure data: what the policy steps judge and forward() uses. */
export type Route = {
  /** What policy judges it as; "task" follows its task (no policy of its own). */
  kind: TargetKind | "task";
  method: string;
  /** As the client named it (exposed name, URI, task id): the audit row's target. */
  target: string;
  /** Its backend; null when nothing offers it (read as unknown). */
  backend: Backend | null;
  /** The params as the backend expects them (its own name restored). */
  params: Params;
  /** What argument constraints (RBAC) look at. */
  args: unknown;
  /** Why pinning withholds the tool, when it does. */
  withheld?: string;
  /** The backend that offers it is not up: the error to answer with (the availability step). */
  unavailable?: string;
};

const RELATED_TASK = "io.modelcontextprotocol/related-task";

const ROUTED = new Set([
  "tools/call",
  "prompts/get",
  "resources/read",
  "resources/subscribe",
  "resources/unsubscribe",
  "completion/complete",
  "tasks/get",
  "tasks/result",
  "tasks/cancel",
]);

export type RouterDeps = {
  catalog: Catalog;
  backends: Backend[];
  /** Resolves when every backend has had its first chance to start (or the startup timeout passed). */
  ready: Promise<void>;
  subscriptions: Subscriptions;
  tasks: Tasks;
  /** The guardrails in force (rebuilt on reload); null: none, and forward() pays nothing for them. */
  guardrails?: () => Guardrails | null;
};

// What guardrails look at: tool arguments and results, resource contents, and a task's result.
const GUARDED = new Set(["tools/call", "resources/read", "tasks/result"]);

export class Router {
  constructor(private readonly deps: RouterDeps) {}

  /** Whether a backend answers this method (else Sentinel does, or nobody). */
  routes(method: string): boolean {
    return ROUTED.has(method);
  }

  resolve(session: Session, req: Request): Route | Promise<Route> {
    const p = req.params ?? {};
    switch (req.method) {
      case "tools/call":
        return this.named("tool", req.method, p);
      case "prompts/get":
        return this.named("prompt", req.method, p);
      case "resources/read":
      case "resources/subscribe":
      case "resources/unsubscribe":
        return this.resource(req.method, p, p.uri, p);
      case "completion/complete":
        return this.completion(p);
      case "tasks/get":
      case "tasks/result":
      case "tasks/cancel": {
        const backend = this.deps.tasks.backendFor(session, p.taskId);
        return { kind: "task", method: req.method, target: String(p.taskId), backend, params: p, args: undefined };
      }
    }
    throw new MethodNotFound(req.method);
  }

  /**
   * Sends a routed request that passed the policy steps, on `conn` (the
   * session's connection to the backend). `options.retries` counts the times
   * an idempotent read was sent again (the audit row shows it).
   */
  forward(session: Session, route: Route, conn: Backend, options: RequestOptions & { retries?: number }): Promise<Result> {
    const guardrails = this.deps.guardrails?.();
    if (guardrails && GUARDED.has(route.method)) return this.guarded(guardrails, session, route, conn, options);
    return this.send(session, route, conn, options);
  }

  /**
   * A call under guardrails: its arguments are scanned before it is sent (and
   * sent redacted, or refused), its result after. A large result relayed as
   * bytes is parsed to be scanned, which holds it several times over in memory.
   * A task's result is known only by its task id, so only rules for all tools judge it.
   */
  private async guarded(g: Guardrails, session: Session, route: Route, conn: Backend, options: RequestOptions & { retries?: number }): Promise<Result> {
    let sent = route;
    if (route.method === "tools/call") {
      const checked = g.scanArguments(route.target, route.args);
      if (checked.verdict === "blocked") throw checked.error;
      if (checked.verdict === "redacted") sent = { ...route, params: { ...route.params, arguments: checked.value }, args: checked.value };
    }
    const result = await this.send(session, sent, conn, options);
    // A task was made: its result comes with tasks/result, and is judged then.
    if ((route.method === "tools/call" && route.params.task) || !g.scansResultsOf(route.target)) return result;
    const parsed = (result as unknown) instanceof RawResult ? (result as unknown as RawResult).parse() : result;
    const judged = g.scanResult(route.target, parsed);
    if (judged.verdict === "blocked") throw judged.error;
    return judged.verdict === "redacted" ? judged.value : result;
  }

  private async send(session: Session, route: Route, conn: Backend, options: RequestOptions & { retries?: number }): Promise<Result> {
    switch (route.method) {
      case "resources/subscribe":
      case "resources/unsubscribe":
        return this.subscribe(session, route, conn);
      case "completion/complete":
        if (!("completions" in conn.capabilities)) return { completion: { values: [], hasMore: false } };
    }
    if (route.method === "tools/call" && options.takesInputRequired && !route.params.task && this.needsTask(route)) {
      return this.runTask(route, conn, options);
    }
    let result: Result;
    try {
      result = await conn.request(route.method, route.params, options);
    } catch (err) {
      result = await this.failed(route, conn, options, err);
    }
    (route.backend ?? conn).breaker.succeeded();
    if (route.method === "tools/call" && route.params.task) this.deps.tasks.record(result, conn, session);
    return result;
  }

  /**
   * A request failed: the backend's breaker is told if it was unreachable or
   * slow, and an idempotent read is sent again (jittered backoff); its result,
   * or the error. An error answer from the backend is an answer: neither
   * counted as a failure nor retried. Off the hot path: only failures come here.
   */
  private async failed(route: Route, conn: Backend, options: RequestOptions & { retries?: number }, err: unknown): Promise<Result> {
    const breaker = (route.backend ?? conn).breaker;
    for (let attempt = 0; ; attempt++) {
      if (!isTransient(err)) {
        if (err instanceof BackendError) breaker.succeeded();
        throw err;
      }
      // Withdrawn by its caller (or its session closed): says nothing of the backend.
      if (options.cancel?.cancelled || err.message.startsWith("Request cancelled")) throw err;
      // A degraded backend is its liveness check's to judge, not the breaker's.
      if (conn.state !== "degraded") breaker.failed();
      if (attempt >= this.retriesOf(route, conn) || breaker.retryAfterMs > 0) throw err;
      await Bun.sleep(backoffMs(attempt));
      if (options.cancel?.cancelled) throw err;
      options.retries = (options.retries ?? 0) + 1;
      try {
        return await conn.request(route.method, route.params, options);
      } catch (again) {
        err = again;
      }
    }
  }

  /** How often a failed request may be sent again: only reads that change nothing. */
  private retriesOf(route: Route, conn: Backend): number {
    if (route.method === "resources/read" || route.method === "prompts/get") return conn.config.retries;
    if (route.method !== "tools/call" || route.params.task) return 0;
    const annotations = this.deps.catalog.entry("tool", route.target)?.item.annotations as Record<string, unknown> | undefined;
    return annotations?.readOnlyHint === true || annotations?.idempotentHint === true ? conn.config.retries : 0;
  }

  /** A 2025 tool that runs only as a task (execution.taskSupport "required"). */
  private needsTask(route: Route): boolean {
    const execution = this.deps.catalog.entry("tool", route.target)?.item.execution as { taskSupport?: unknown } | undefined;
    return execution?.taskSupport === "required";
  }

  /**
   * A 2026-07-28 client without the tasks extension calls a tool that runs only
   * as a 2025 task: Sentinel runs the task and waits for its result, so the
   * client gets a plain answer. Cancelling the call cancels the task.
   */
  private async runTask(route: Route, conn: Backend, options: RequestOptions): Promise<Result> {
    const created = await conn.request(route.method, { ...route.params, task: {} }, { ...options, cancel: undefined });
    const taskId = (created.task as { taskId?: unknown } | undefined)?.taskId;
    if (typeof taskId !== "string") return created;
    options.cancel?.onCancel(() => void conn.request("tasks/cancel", { taskId }).catch(() => {}));
    const result = await conn.request("tasks/result", { taskId }, { ...options, cancel: undefined });
    // The client made no task: the result's tie to one is dropped.
    const meta = result._meta as Record<string, unknown> | undefined;
    if (!meta || !(RELATED_TASK in meta)) return result;
    const { [RELATED_TASK]: _task, ...rest } = meta;
    return { ...result, _meta: rest };
  }

  private named(kind: "tool" | "prompt", method: string, params: Params): Route | Promise<Route> {
    const name = params.name;
    if (typeof name !== "string") throw new InvalidParams(`Invalid params: "name" must be a string`);
    const entry = this.deps.catalog.entry(kind, name);
    // The common case needs no promise; a call that races startup waits for the backends rather than failing.
    if (entry) return this.namedRoute(kind, method, params, name);
    return this.deps.ready.then(() => this.namedRoute(kind, method, params, name));
  }

  private namedRoute(kind: "tool" | "prompt", method: string, params: Params, name: string): Route {
    const { catalog } = this.deps;
    const entry = catalog.entry(kind, name);
    const args = params.arguments;
    if (entry?.args) {
      // Shaping's defaults and fixed values: RBAC judges, and the backend gets, the merged arguments.
      const merged = mergeArguments(args, entry.args);
      return { kind, method, target: name, backend: entry.backend, params: { ...params, name: entry.name, arguments: merged }, args: merged };
    }
    if (entry) {
      const forwarded = entry.name === name ? params : { ...params, name: entry.name };
      return { kind, method, target: name, backend: entry.backend, params: forwarded, args };
    }
    const withheld = kind === "tool" ? catalog.withheld.get(name) : undefined;
    if (withheld) return { kind, method, target: name, backend: withheld.backend, params, args, withheld: withheld.reason };
    const former = catalog.formerOwner(kind, name) ?? this.ownerByPrefix(name);
    if (former && former.state !== "ready") {
      const why = former.lastError ? ` (${former.lastError})` : "";
      const unavailable = `Backend ${former.name}, which provides ${kind} ${name}, is unavailable${why}; retrying`;
      return { kind, method, target: name, backend: former, params, args, unavailable };
    }
    return { kind, method, target: name, backend: null, params, args };
  }

  /** A backend that is not up (so never listed) but whose prefix the name carries. */
  private ownerByPrefix(name: string): Backend | undefined {
    return this.deps.backends.find((b) => b.config.prefix !== "" && name.startsWith(b.config.prefix) && b.state !== "ready");
  }

  private async resource(method: string, params: Params, uri: unknown, forwarded: Params): Promise<Route> {
    if (typeof uri !== "string") throw new InvalidParams(`Invalid params: "uri" must be a string`);
    let owner = this.deps.catalog.resourceOwner(uri);
    if (!owner) {
      await this.deps.ready;
      owner = this.deps.catalog.resourceOwner(uri);
    }
    return { kind: "resource", method, target: uri, backend: owner ?? null, params: forwarded, args: undefined };
  }

  private completion(params: Params): Route | Promise<Route> {
    const ref = params.ref as { type?: string; name?: string; uri?: string } | undefined;
    const method = "completion/complete";
    if (ref?.type === "ref/prompt" && typeof ref.name === "string") {
      const entry = this.deps.catalog.prompts.get(ref.name);
      if (!entry) return { kind: "prompt", method, target: ref.name, backend: null, params, args: undefined };
      const forwarded = { ...params, ref: { ...ref, name: entry.name } };
      return { kind: "prompt", method, target: ref.name, backend: entry.backend, params: forwarded, args: undefined };
    }
    if (ref?.type === "ref/resource" && typeof ref.uri === "string") return this.resource(method, params, ref.uri, params);
    throw new InvalidParams('Invalid params: "ref" must be a ref/prompt or ref/resource');
  }

  private async subscribe(session: Session, route: Route, conn: Backend): Promise<Result> {
    if (!(conn.capabilities.resources as { subscribe?: boolean } | undefined)?.subscribe) {
      throw new MethodNotFound(`resources/subscribe (backend ${conn.name} does not support subscriptions)`);
    }
    if (route.method === "resources/subscribe") await this.deps.subscriptions.subscribe(session, conn, route.target);
    else await this.deps.subscriptions.unsubscribe(session, route.target);
    return {};
  }
}
