// The per-request metadata of MCP 2026-07-28 ("modern"): with no initialize
// and no session, every request to a modern backend says which revision it
// speaks, what its caller can do, who sends it and the log level it wants.

import { META, MODERN_VERSION } from "../jsonrpc/mcp-meta.ts";
import type { Params } from "../jsonrpc/message.ts";
import { VERSION } from "../version.ts";
import type { RequestOptions } from "./request.ts";


const CLIENT_INFO = { name: "sentinel", version: VERSION };
const NONE: Record<string, unknown> = {};
// Callers keep one capabilities object per session: its intersection is computed once.
const relayed = new WeakMap<object, Record<string, unknown>>();

/**
 * What of a caller's capabilities Sentinel can carry back to it: sampling,
 * elicitation (form and URL) and roots, the requests Session.request relays.
 * Tasks and extensions are not relayed, so the backend must not count on them.
 */
export function relayableCapabilities(caps: Record<string, unknown> | undefined): Record<string, unknown> {
  if (!caps) return NONE;
  let out = relayed.get(caps);
  if (out) return out;
  out = {};
  if (isObject(caps.sampling)) out.sampling = caps.sampling;
  if (isObject(caps.elicitation)) {
    const e = caps.elicitation;
    // A 2025-06-18 client's empty elicitation object means form mode.
    const modes: Record<string, unknown> = {};
    if ("form" in e || !("url" in e)) modes.form = isObject(e.form) ? e.form : {};
    if (isObject(e.url)) modes.url = e.url;
    out.elicitation = modes;
  }
  if (isObject(caps.roots)) out.roots = {};
  relayed.set(caps, out);
  return out;
}

/** `params` with the modern envelope in its _meta (the caller's own _meta keys kept, ours authoritative). */
export function withEnvelope(params: Params | undefined, options: RequestOptions): Params {
  const meta: Record<string, unknown> = { ...(params?._meta as Record<string, unknown> | undefined) };
  meta[META.protocolVersion] = MODERN_VERSION;
  meta[META.clientCapabilities] = relayableCapabilities(options.clientCapabilities);
  meta[META.clientInfo] = CLIENT_INFO;
  // Without it the backend sends no log messages for this request.
  if (options.logLevel) meta[META.logLevel] = options.logLevel;
  else delete meta[META.logLevel];
  return { ...params, _meta: meta };
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
