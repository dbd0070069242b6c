// Typed errors and the one place they become JSON-RPC errors and HTTP statuses.
// Codes follow JSON-RPC 2.0; -32000/-32001 match the MCP SDK's ConnectionClosed/RequestTimeout.
// What a client reads passes internal-values.ts: no backend URL, path, stack or secret.

import { dataForClient, forClient } from "./internal-values.ts";
import { logger } from "./log.ts";

const log = logger("gateway");

export type JsonRpcErrorObject = { code: number; message: string; data?: unknown };

export abstract class SentinelError extends Error {
  /** Stable machine-readable code, also used as the audit row's error kind. */
  abstract readonly code: string;
  abstract readonly rpcCode: number;
  readonly httpStatus: number = 200;
  readonly data?: unknown;
  /** Headers that an HTTP answer carrying this error adds (Retry-After, for refusals that say when to retry). */
  get httpHeaders(): Record<string, string> | undefined {
    return undefined;
  }

  constructor(message: string, data?: unknown) {
    super(message);
    this.name = new.target.name;
    if (data !== undefined) this.data = data;
  }
}

export class ParseError extends SentinelError {
  readonly code = "parse_error";
  readonly rpcCode = -32700;
  override readonly httpStatus = 400;
}

export class InvalidRequest extends SentinelError {
  readonly code: string = "invalid_request";
  readonly rpcCode = -32600;
  override readonly httpStatus: number = 400;
}

/**
 * Transport-level refusals of the HTTP front, each with its status. The body is
 * still a JSON-RPC error (-32600), so that any client can read why.
 */
export class Forbidden extends InvalidRequest {
  override readonly code = "forbidden";
  override readonly httpStatus = 403;
}

export class SessionNotFound extends InvalidRequest {
  override readonly code = "session_not_found";
  override readonly httpStatus = 404;
  constructor() {
    super("Session not found");
  }
}

export class NotAcceptable extends InvalidRequest {
  override readonly code = "not_acceptable";
  override readonly httpStatus = 406;
}

export class Conflict extends InvalidRequest {
  override readonly code = "conflict";
  override readonly httpStatus = 409;
}

export class Overloaded extends InvalidRequest {
  override readonly code = "overloaded";
  override readonly httpStatus = 503;
  constructor(
    message: string,
    readonly retryAfterS: number,
  ) {
    super(message);
  }
  override get httpHeaders(): Record<string, string> {
    return { "retry-after": String(this.retryAfterS) };
  }
}

export class MessageTooLarge extends SentinelError {
  readonly code = "message_too_large";
  readonly rpcCode = -32600;
  override readonly httpStatus = 413;
  constructor(limit: number) {
    super(`Message exceeds the ${limit}-byte limit (limits.client.messageBytes)`);
  }
}

/** A message whose shape breaks a limit: nesting depth, array, object or string size (src/jsonrpc/shape.ts). */
export class LimitExceeded extends InvalidRequest {
  override readonly code = "limit_exceeded";
  /** What was broken, e.g. "nests deeper than 64 levels (limits.client.depth)". */
  readonly detail: string;
  constructor(detail: string) {
    super(`Invalid Request: the message ${detail}`);
    this.detail = detail;
  }
}

export class MethodNotFound extends SentinelError {
  readonly code = "method_not_found";
  readonly rpcCode = -32601;
  constructor(method: string) {
    super(`Method not found: ${method}`);
  }
}

export class InvalidParams extends SentinelError {
  readonly code: string = "invalid_params";
  readonly rpcCode = -32602;
}

// MCP 2026-07-28 checks every request before serving it (a "ladder"); each
// failure has its own status on HTTP, unlike errors of the request itself,
// which are answered in band (HTTP 200).

/** A method the 2026-07-28 revision does not have (initialize, ping, ...) or nobody knows: 404 on HTTP. */
export class UnknownMethod extends SentinelError {
  readonly code = "method_not_found";
  readonly rpcCode = -32601;
  override readonly httpStatus = 404;
  constructor(method: string) {
    super(`Method not found: ${method}`);
  }
}

/** The per-request _meta envelope is missing a required key or malformed. */
export class InvalidEnvelope extends InvalidParams {
  override readonly code = "invalid_envelope";
  override readonly httpStatus = 400;
}

/** MCP-Protocol-Version, Mcp-Method or Mcp-Name missing, malformed, or not what the body says. */
export class HeaderMismatch extends SentinelError {
  readonly code = "header_mismatch";
  readonly rpcCode = -32020;
  override readonly httpStatus = 400;
}

/** A revision Sentinel does not speak; data names the ones it does. */
export class UnsupportedVersion extends SentinelError {
  readonly code = "unsupported_version";
  readonly rpcCode = -32022;
  override readonly httpStatus = 400;
  constructor(requested: string, supported: string[]) {
    super(`Unsupported protocol version: ${requested}`, { supported, requested });
  }
}

/** A tool, prompt or resource that no visible backend offers. */
export class UnknownTarget extends SentinelError {
  readonly code = "unknown_target";
  readonly rpcCode = -32602;
  constructor(kind: "tool" | "prompt" | "resource", name: string) {
    super(`Unknown ${kind}: ${name}`);
  }
}

export class BackendUnavailable extends SentinelError {
  readonly code = "backend_unavailable";
  readonly rpcCode = -32000;
}

/** Its circuit breaker is open: failed fast, and data.retryAfterMs says when a call may go again. */
export class CircuitOpen extends SentinelError {
  readonly code = "circuit_open";
  readonly rpcCode = -32000;
  readonly retryAfterMs: number;
  constructor(backend: string, retryAfterMs: number) {
    super(`Backend ${backend} unavailable, retry after ${retryAfterS(retryAfterMs)}s`, { retryAfterMs: Math.ceil(retryAfterMs) });
    this.retryAfterMs = retryAfterMs;
  }
}

export class BackendTimeout extends SentinelError {
  readonly code = "backend_timeout";
  readonly rpcCode = -32001;
  constructor(backend: string, ms: number) {
    super(`Backend ${backend} did not answer within ${ms} ms`);
  }
}

export class ShuttingDown extends SentinelError {
  readonly code = "shutting_down";
  readonly rpcCode = -32000;
  constructor() {
    super("Sentinel is shutting down");
  }
}

/** An error response that a backend returned: relayed to the client as it came. */
export class BackendError extends SentinelError {
  readonly code = "backend_error";
  readonly rpcCode: number;
  constructor(error: JsonRpcErrorObject) {
    super(error.message, error.data);
    this.rpcCode = error.code;
  }
}

/** No valid credentials. Over HTTP: 401 with WWW-Authenticate. */
export class Unauthenticated extends SentinelError {
  readonly code = "unauthenticated";
  readonly rpcCode = -32010;
  override readonly httpStatus = 401;
}

/** A call over budget: data.retryAfterMs says when to try again. Over HTTP: 429 with Retry-After. */
export class RateLimited extends SentinelError {
  static readonly rpcCode = -32029;
  readonly code = "rate_limited";
  readonly rpcCode = RateLimited.rpcCode;
  override readonly httpStatus = 429;
  readonly retryAfterMs: number;
  constructor(what: string, retryAfterMs: number) {
    super(`Rate limit exceeded (${what}); retry after ${retryAfterS(retryAfterMs)} s`, { retryAfterMs: Math.ceil(retryAfterMs) });
    this.retryAfterMs = retryAfterMs;
  }
  override get httpHeaders(): Record<string, string> {
    return { "retry-after": String(retryAfterS(this.retryAfterMs)) };
  }
  /** The refusal an error answer carries, read back from its JSON-RPC form; null if it is another error. */
  static fromWire(error: JsonRpcErrorObject): RateLimited | null {
    const ms = error.code === RateLimited.rpcCode ? (error.data as { retryAfterMs?: unknown } | undefined)?.retryAfterMs : undefined;
    return typeof ms === "number" ? new RateLimited("", ms) : null;
  }
}

function retryAfterS(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

/** A backend at its in-flight limit: refused at once rather than queued. */
export class BackendBusy extends SentinelError {
  readonly code = "backend_busy";
  readonly rpcCode = -32030;
  constructor(backend: string, limit: number) {
    super(`Backend ${backend} is busy (${limit} calls in flight); retry shortly`);
  }
}

/** Switched off by an administrator (kill switch). */
export class Disabled extends SentinelError {
  readonly code = "disabled";
  readonly rpcCode = -32031;
  constructor(kind: string, name: string) {
    super(`The ${kind} ${name} is disabled by the gateway administrator`);
  }
}

/** A tool held back by pinning until an administrator approves its definition. */
export class Withheld extends SentinelError {
  readonly code = "unpinned";
  readonly rpcCode = -32032;
  constructor(name: string, reason: string) {
    super(`Tool ${name} is withheld (${reason}) until an administrator approves it: sentinel tools approve ${name}`);
  }
}

/**
 * A call that an approvals rule holds until a person approves it, and no
 * approval came: the client cannot be asked (no elicitation), or no answer in
 * time. The message names the rule and the tool, never the arguments.
 */
export class ApprovalRequired extends SentinelError {
  readonly code = "approval_required";
  readonly rpcCode = -32033;
  constructor(rule: string, tool: string, why: string) {
    super(`Approval required: ${rule} holds calls of ${tool} until a person approves them, and ${why}`, { rule });
  }
}

/** A call whose approval was asked and refused (declined, cancelled, or not approved). */
export class ApprovalDeclined extends SentinelError {
  readonly code = "approval_declined";
  readonly rpcCode = -32033;
  constructor(rule: string, tool: string, how: string) {
    super(`Approval declined: the call of ${tool} was not approved (${rule}: ${how})`, { rule });
  }
}

/** A guardrail rule with action "block" found a secret or an injection marker; the message names the rule and the kind, never the match. */
export class GuardrailBlocked extends SentinelError {
  readonly code = "guardrail_blocked";
  readonly rpcCode = -32034;
  constructor(rule: number, kind: string, where: string, target: string) {
    super(`Blocked by guardrails[${rule}]: the ${where} of ${target} contains ${kind === "injection" ? "a prompt-injection marker" : `a secret (${kind})`}`, { rule, kind });
  }
}

export class InternalError extends SentinelError {
  readonly code = "internal";
  readonly rpcCode = -32603;
}

/** An exception that escaped an HTTP handler: no JSON-RPC answer was made, so the status says 500. */
export class Unhandled extends InternalError {
  override readonly httpStatus = 500;
  constructor() {
    super("Internal error");
  }
}

/**
 * The typed error behind a JSON-RPC error answer when HTTP must state it too:
 * the pipeline answers in JSON-RPC, and a request refused as a whole for its
 * rate is also a 429 with Retry-After. Null for any other answer (HTTP 200).
 */
export function httpRefusalOf(error: JsonRpcErrorObject): SentinelError | null {
  return RateLimited.fromWire(error);
}

/** Configuration problems: reported at start (exit 2), never sent over JSON-RPC. */
export class ConfigError extends Error {
  readonly issues: string[];
  constructor(issues: string[]) {
    super(`Invalid configuration:\n${issues.map((i) => `  - ${i}`).join("\n")}`);
    this.name = "ConfigError";
    this.issues = issues;
  }
}

/**
 * A typed error for anything thrown; an unexpected one is logged whole (with
 * the request it broke, if known) and told to the client as "Internal error".
 */
export function toSentinelError(err: unknown, requestId?: string): SentinelError {
  if (err instanceof SentinelError) return err;
  log.error(`internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`, requestId ? { requestId } : undefined);
  return new InternalError("Internal error");
}

export function toJsonRpcError(err: unknown): JsonRpcErrorObject {
  const e = toSentinelError(err);
  const message = forClient(e.message);
  return e.data === undefined ? { code: e.rpcCode, message } : { code: e.rpcCode, message, data: dataForClient(e.data) };
}
