// MCP 2026-07-28 has no sessions: each request carries in params._meta what a
// legacy client said once at initialize (version, capabilities, client info)
// and, per request, the log level it wants. Read and checked here, once.

import { InvalidEnvelope, UnsupportedVersion } from "../errors.ts";
import { META, MODERN_VERSION } from "../jsonrpc/mcp-meta.ts";
import type { Params } from "../jsonrpc/message.ts";
import { LOG_LEVELS, type McpLogLevel } from "./session.ts";

/** The 2026-07-28 revisions Sentinel serves. */
export const MODERN_VERSIONS = [MODERN_VERSION];

/** What one modern request says about its client. */
export type Envelope = {
  version: string;
  capabilities: Record<string, unknown>;
  clientInfo: Record<string, unknown> | null;
  /** Absent: no log messages for this request. */
  logLevel: McpLogLevel | null;
};

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

/** The request's `_meta`, if it is an object. */
export function metaOf(params: Params | undefined): Record<string, unknown> | undefined {
  const meta = params?._meta;
  return isObject(meta) ? meta : undefined;
}

/** Whether the request claims the modern era (its _meta names a protocol version). */
export function claimsModern(params: Params | undefined): boolean {
  const meta = metaOf(params);
  return meta !== undefined && META.protocolVersion in meta;
}

/**
 * The envelope of a request that claims the modern era; throws the ladder's
 * error when it is malformed, or (unless `anyVersion`, for a caller that first
 * compares it with a header) when it names a revision Sentinel does not speak.
 */
export function readEnvelope(params: Params | undefined, anyVersion = false): Envelope {
  const meta = metaOf(params) ?? {};
  const version = meta[META.protocolVersion];
  if (typeof version !== "string") throw new InvalidEnvelope(`Invalid params: _meta["${META.protocolVersion}"] must be a protocol version string`);
  const capabilities = meta[META.clientCapabilities];
  if (!isObject(capabilities)) {
    const why = capabilities === undefined ? "is required" : "must be an object";
    throw new InvalidEnvelope(`Invalid params: _meta["${META.clientCapabilities}"] ${why}`);
  }
  const info = meta[META.clientInfo];
  if (info !== undefined && !isObject(info)) throw new InvalidEnvelope(`Invalid params: _meta["${META.clientInfo}"] must be an object`);
  const level = meta[META.logLevel];
  if (level !== undefined && !LOG_LEVELS.includes(level as McpLogLevel)) {
    throw new InvalidEnvelope(`Invalid params: _meta["${META.logLevel}"] must be one of ${LOG_LEVELS.join(", ")}`);
  }
  if (!anyVersion) checkVersion(version);
  return { version, capabilities, clientInfo: info ?? null, logLevel: (level as McpLogLevel | undefined) ?? null };
}

/** -32022 for a revision Sentinel does not speak, naming those it does. */
export function checkVersion(version: string): void {
  if (!MODERN_VERSIONS.includes(version)) throw new UnsupportedVersion(version, MODERN_VERSIONS);
}

/** Whether a log message at `level` is wanted by a request that asked for `wanted` (null: none). */
export function wantsLogAt(wanted: McpLogLevel | null, level: unknown): boolean {
  if (wanted === null) return false;
  const rank = LOG_LEVELS.indexOf(level as McpLogLevel);
  return rank === -1 || rank >= LOG_LEVELS.indexOf(wanted);
}
