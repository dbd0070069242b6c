// Which revision a backend speaks, asked the way the spec and SDK v2 ask it
// (§1.13): a modern `server/discover`, whose answer either proves the modern
// era or, conservatively, means legacy. On stdio the probe runs in a
// throwaway sibling process, because some servers (rmcp) exit on any request
// before initialize and must not take the real connection with them; there,
// silence or an exit means legacy. On HTTP silence, 401/403 and 5xx are no
// evidence at all: the probe fails as an outage and is retried.

import type { BackendConfig, JsonLimits, RemoteBackendConfig, StdioBackendConfig } from "../config/load.ts";
import { BackendUnavailable } from "../errors.ts";
import { readBody } from "../jsonrpc/body.ts";
import { isObject, isResponse, type Request } from "../jsonrpc/message.ts";
import { logger } from "../log.ts";
import { sha256Hex } from "../sha256.ts";
import { isModernVersion, MODERN_VERSION } from "../jsonrpc/mcp-meta.ts";
import { withEnvelope } from "./modern-envelope.ts";
import { modernHeaders } from "./modern-headers.ts";
import { readSse } from "./sse-parser.ts";
import { StdioTransport } from "./stdio.ts";

export type Era = "legacy" | "modern";

const PROBE_ID = "sentinel-era-probe";
export const UNSUPPORTED_VERSION = -32022;

function discoverRequest(): Request {
  return { jsonrpc: "2.0", id: PROBE_ID, method: "server/discover", params: withEnvelope(undefined, {}) };
}

/** What identifies a server for its cached verdict: how it is started, or where it is. */
export function eraKey(cfg: BackendConfig): string {
  const what = cfg.transport === "stdio" ? ["stdio", cfg.command, cfg.args, cfg.env, cfg.cwd ?? null] : ["http", cfg.url];
  return sha256Hex(JSON.stringify(what));
}

/** A DiscoverResult offering our revision is modern; any other result is not evidence of it. */
export function eraOfResult(result: unknown): Era {
  const r = isObject(result) ? result : {};
  const ours = Array.isArray(r.supportedVersions) && r.supportedVersions.includes(MODERN_VERSION);
  return ours && isObject(r.capabilities) ? "modern" : "legacy";
}

/**
 * -32022 naming a modern revision is modern evidence (the server wants another
 * version, not initialize); every other error is the legacy answer to an
 * unknown method, whatever its code (-32601, -32602, -32000, ...).
 */
export function eraOfError(error: { code?: unknown; data?: unknown }): Era {
  if (error.code !== UNSUPPORTED_VERSION) return "legacy";
  const supported = isObject(error.data) ? error.data.supported : undefined;
  return Array.isArray(supported) && supported.some(isModernVersion) ? "modern" : "legacy";
}

function eraOfAnswer(answer: unknown): Era {
  if (!isObject(answer)) return "legacy";
  if (isObject(answer.error)) return eraOfError(answer.error);
  return eraOfResult(answer.result);
}

export function probeEra(cfg: BackendConfig, limits: JsonLimits, timeoutMs: number): Promise<Era> {
  return cfg.transport === "stdio" ? probeStdio(cfg, limits, timeoutMs) : probeHttp(cfg, limits, timeoutMs);
}

async function probeStdio(cfg: StdioBackendConfig, limits: JsonLimits, timeoutMs: number): Promise<Era> {
  const sibling = new StdioTransport(cfg, limits, true);
  const { promise, resolve } = Promise.withResolvers<Era>();
  sibling.onmessage = (m) => {
    if (isResponse(m) && m.id === PROBE_ID) resolve(eraOfAnswer(m));
  };
  sibling.onclose = () => resolve("legacy");
  const timer = setTimeout(() => resolve("legacy"), timeoutMs);
  try {
    await sibling.start(); // command not found: an outage, not a verdict
    sibling.send(discoverRequest());
    return await promise;
  } finally {
    clearTimeout(timer);
    // Reaped before the real process starts: a server may hold a lock or a port the next one needs.
    await sibling.close();
  }
}

async function probeHttp(cfg: RemoteBackendConfig, limits: JsonLimits, timeoutMs: number): Promise<Era> {
  const request = discoverRequest();
  const headers = { ...cfg.headers, ...modernHeaders(request, undefined), "content-type": "application/json", accept: "application/json, text/event-stream" };
  const signal = AbortSignal.timeout(timeoutMs);
  const outage = (why: string) => new BackendUnavailable(`Backend ${cfg.name} ${why}`);
  let res: Response;
  try {
    res = await fetch(cfg.url, { method: "POST", headers, body: JSON.stringify(request), signal });
  } catch (err) {
    if (signal.aborted) throw outage(`did not answer within ${timeoutMs} ms`);
    // Where it failed and why is for the log; the client knows the backend by name only.
    logger(cfg.name).warn(`cannot reach ${cfg.url}: ${(err as Error).message}`);
    throw outage("is unreachable");
  }
  if (res.status === 401 || res.status === 403 || res.status >= 500) {
    const text = await res.text().catch(() => "");
    logger(cfg.name).warn(`era probe: HTTP ${res.status}${text ? `: ${text.slice(0, 500)}` : ""}`);
    throw outage(`answered HTTP ${res.status}`);
  }
  let answer: unknown;
  try {
    if ((res.headers.get("content-type") ?? "").includes("text/event-stream") && res.body) {
      await readSse(res.body, (e) => {
        if (e.event !== "message" || answer !== undefined) return;
        const m = parse(e.data);
        if (isObject(m) && m.id === PROBE_ID) answer = m;
      }, undefined, limits.messageBytes);
    } else {
      answer = parse((await readBody(res.body, limits.messageBytes)) ?? "");
    }
  } catch {
    throw outage(signal.aborted ? `did not answer within ${timeoutMs} ms` : "broke off its answer");
  }
  // A 2xx that is no JSON-RPC answer is not evidence either way.
  if (res.ok && !isObject(answer)) throw outage(`answered HTTP ${res.status} without a JSON-RPC answer`);
  // 400/404/405 with no modern error in the body: what a 2025 server answers an unknown request.
  return eraOfAnswer(answer);
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
