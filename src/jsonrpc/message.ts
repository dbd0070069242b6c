// JSON-RPC 2.0 message shapes and the cheap structural checks applied once at
// each edge. No schema library on this path: it runs for every message.

import { InvalidRequest, ParseError, type JsonRpcErrorObject } from "../errors.ts";

export type JsonRpcId = string | number;
export type Params = Record<string, unknown>;

export type Request = { jsonrpc: "2.0"; id: JsonRpcId; method: string; params?: Params };
export type Notification = { jsonrpc: "2.0"; method: string; params?: Params };
export type SuccessResponse = { jsonrpc: "2.0"; id: JsonRpcId; result: Record<string, unknown> };
export type ErrorResponse = { jsonrpc: "2.0"; id: JsonRpcId | null; error: JsonRpcErrorObject };
export type Response = SuccessResponse | ErrorResponse;
export type Message = Request | Notification | Response;

export function isRequest(m: Message): m is Request {
  return "method" in m && "id" in m;
}

export function isNotification(m: Message): m is Notification {
  return "method" in m && !("id" in m);
}

export function isResponse(m: Message): m is Response {
  return !("method" in m);
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ParseError("Parse error: invalid JSON");
  }
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isErrorObject(v: unknown): boolean {
  return isObject(v) && typeof v.code === "number" && typeof v.message === "string";
}

export function isId(v: unknown): v is JsonRpcId {
  return typeof v === "string" || (typeof v === "number" && Number.isFinite(v));
}

/** Checks that a parsed value is one JSON-RPC message; throws InvalidRequest otherwise. */
export function toMessage(v: unknown): Message {
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new InvalidRequest("Invalid Request: expected a JSON-RPC 2.0 object");
  }
  const o = v as Record<string, unknown>;
  if (o.jsonrpc !== "2.0") throw new InvalidRequest('Invalid Request: "jsonrpc" must be "2.0"');
  if ("method" in o) {
    if (typeof o.method !== "string") throw new InvalidRequest('Invalid Request: "method" must be a string');
    if ("id" in o && !isId(o.id)) throw new InvalidRequest('Invalid Request: "id" must be a string or number');
    if ("params" in o && (typeof o.params !== "object" || o.params === null || Array.isArray(o.params))) {
      throw new InvalidRequest('Invalid Request: "params" must be an object');
    }
    return o as Message;
  }
  if (("result" in o) === ("error" in o) || !("id" in o)) {
    throw new InvalidRequest("Invalid Request: not a request, notification or response");
  }
  // An error answer to a message whose id could not be read carries null.
  if (!isId(o.id) && !(o.id === null && "error" in o)) {
    throw new InvalidRequest('Invalid Request: "id" must be a string or number');
  }
  // Checked here so that no one past the edge meets a result of 5 or an error without a message.
  if ("result" in o ? !isObject(o.result) : !isErrorObject(o.error)) {
    throw new InvalidRequest('Invalid Request: "result" must be an object, "error" an object with a numeric code and a string message');
  }
  return o as Message;
}

/**
 * Whether a parsed value, valid or not, is owed an answer. JSON-RPC 2.0 answers
 * neither notifications nor responses, broken ones included (an error sent for
 * a bad response could be answered in turn, and so on): a notification is
 * anything with a string `method` and no `id`; a response, anything without
 * `method` that carries `result` or `error`, or an `id` and no `params`. All
 * else is answered, under id null when its own id is unreadable.
 */
export function owesAnswer(v: unknown): boolean {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return true;
  if ("method" in v) return typeof v.method !== "string" || "id" in v;
  return !("result" in v || "error" in v || ("id" in v && !("params" in v)));
}

/** What an unanswered message was, for a log line: its method or id, bounded, never its params. */
export function describeUnanswered(v: object): string {
  const o = v as Record<string, unknown>;
  if (typeof o.method === "string") return `notification ${JSON.stringify(o.method.slice(0, 80))}`;
  return isId(o.id) ? `response to id ${JSON.stringify(typeof o.id === "string" ? o.id.slice(0, 80) : o.id)}` : "response";
}

/** The id of a raw value if it has a usable one, so an error reply can still be correlated. */
export function idOf(v: unknown): JsonRpcId | null {
  if (typeof v === "object" && v !== null && "id" in v) {
    const id = (v as { id: unknown }).id;
    if (isId(id)) return id;
  }
  return null;
}

export function success(id: JsonRpcId, result: Record<string, unknown>): SuccessResponse {
  return { jsonrpc: "2.0", id, result };
}

export function failure(id: JsonRpcId | null, error: JsonRpcErrorObject): ErrorResponse {
  return { jsonrpc: "2.0", id, error };
}

// A message's top-level id stands first or last in practice: {"jsonrpc":"2.0","id":7,...}
// or {...,"jsonrpc":"2.0","id":7} (the MCP SDK's order).
const ID_FIRST = /^\{\s*(?:"jsonrpc"\s*:\s*"2\.0"\s*,\s*)?"id"\s*:\s*(-?\d+|"(?:[^"\\]|\\.)*")\s*,/;
const ID_LAST = /,\s*"id"\s*:\s*(-?\d+|"(?:[^"\\]|\\.)*")\s*\}\s*$/;

/**
 * The id of a message too large to parse, from its first and last bytes, so
 * that the error for it can still be correlated. null when it does not show.
 */
export function idFromEdges(head: string, tail: string): JsonRpcId | null {
  const m = ID_FIRST.exec(head) ?? ID_LAST.exec(tail);
  if (!m) return null;
  return m[1]!.startsWith('"') ? (JSON.parse(m[1]!) as string) : Number(m[1]);
}
