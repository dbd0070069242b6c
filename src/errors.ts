// Typed errors and the one place they become JSON-RPC errors and HTTP statuses.
// Codes follow JSON-RPC 2.0; -32000/-32001 match the MCP SDK's ConnectionClosed/RequestTimeout.

export type JsonRpcErrorObject = { code: number; message: string; data?: unknown };

export abstract class SentinelError extends Error {
  /** Stable machine-readable code, also used as the audit row's error kind. */
  abstract readonly code: string;
  abstract readonly rpcCode: number;
  readonly httpStatus: number = 200;
  readonly data?: unknown;

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
  readonly code = "invalid_request";
  readonly rpcCode = -32600;
  override readonly httpStatus = 400;
}

export class MessageTooLarge extends SentinelError {
  readonly code = "message_too_large";
  readonly rpcCode = -32600;
  override readonly httpStatus = 413;
  constructor(limit: number) {
    super(`Message exceeds the ${limit}-byte limit`);
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
  readonly code = "invalid_params";
  readonly rpcCode = -32602;
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

export class InternalError extends SentinelError {
  readonly code = "internal";
  readonly rpcCode = -32603;
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

export function toSentinelError(err: unknown): SentinelError {
  if (err instanceof SentinelError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new InternalError(`Internal error: ${message}`);
}

export function toJsonRpcError(err: unknown): JsonRpcErrorObject {
  const e = toSentinelError(err);
  return e.data === undefined
    ? { code: e.rpcCode, message: e.message }
    : { code: e.rpcCode, message: e.message, data: e.data };
}
