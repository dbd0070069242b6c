// A result as each era's client reads it. 2026-07-28 results say what they are
// (resultType), how long they may be cached and by whom (ttlMs, cacheScope) and
// which server made them (_meta serverInfo); a 2025 client gets none of that,
// whichever era the backend spoke.

import type { Result } from "../backends/request.ts";
import type { JsonRpcErrorObject } from "../errors.ts";
import { RawResult } from "../jsonrpc/raw-result.ts";
import { META } from "../jsonrpc/mcp-meta.ts";

/** Results that carry caching hints (MCP 2026-07-28, caching). */
const CACHEABLE = new Set(["server/discover", "tools/list", "prompts/list", "resources/list", "resources/templates/list", "resources/read"]);

/** The methods whose result may be input_required instead of an answer. */
export const MAY_NEED_INPUT = new Set(["tools/call", "prompts/get", "resources/read"]);

/** A modern backend's fields taken off for a 2025 client; other results as they are. */
export function legacyResult(result: Result): Result {
  if (!("resultType" in result) || result instanceof RawResult) return result;
  const { resultType: _t, ttlMs: _ttl, cacheScope: _scope, ...rest } = result;
  const meta = rest._meta as Record<string, unknown> | undefined;
  if (meta && META.serverInfo in meta) {
    const { [META.serverInfo]: _info, ...others } = meta;
    if (Object.keys(others).length) rest._meta = others;
    else delete rest._meta;
  }
  return rest;
}

/**
 * A result for a 2026-07-28 client. Lists are filtered per principal, so
 * nothing Sentinel answers may be shared across tokens or kept: ttlMs 0,
 * private, whatever a backend said.
 */
export function modernResult(method: string, result: Result, serverInfo: Record<string, unknown>): Result {
  // A large result relayed as bytes stays bytes; a 2025 backend's gets its resultType written before them.
  if (result instanceof RawResult) return result.complete() as unknown as Result;
  const out: Result = { ...result };
  if (out.resultType !== "input_required" || !MAY_NEED_INPUT.has(method)) out.resultType = "complete";
  if (CACHEABLE.has(method) && out.resultType === "complete") {
    out.ttlMs = 0;
    out.cacheScope = "private";
  }
  out._meta = { ...(result._meta as Record<string, unknown> | undefined), [META.serverInfo]: serverInfo };
  return out;
}

/** A 2025 "resource not found" (-32002) is -32602 in 2026-07-28, with the URI in data. */
export function modernError(method: string, error: JsonRpcErrorObject, uri: unknown): JsonRpcErrorObject {
  if (method !== "resources/read" || (error.code !== -32002 && error.code !== -32602)) return error;
  return { code: -32602, message: error.message, data: { ...(error.data as object | undefined), uri } };
}
