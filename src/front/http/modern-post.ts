// A POST of MCP 2026-07-28 on the one /mcp endpoint, next to the 2025
// sessions (dual-era serving, as the spec's classification rules say): which
// era a POST is, the checks a modern request passes before it is served (the
// "ladder": envelope, version, standard headers against the body, method),
// and its answer: JSON, or an SSE stream once something belongs to it; a
// closed answer stream is its cancellation; a listen is a long-lived stream.

import type { Principal } from "../../auth/principal.ts";
import { CancelSignal } from "../../backends/request.ts";
import { HeaderMismatch, InvalidEnvelope, InvalidRequest, RateLimited, type SentinelError } from "../../errors.ts";
import { isNotification, isRequest, type Message, type Request as RpcRequest, type Response as RpcResponse } from "../../jsonrpc/message.ts";
import { isModernVersion } from "../../jsonrpc/mcp-meta.ts";
import { checkVersion, claimsModern, readEnvelope, type Envelope } from "../../session/envelope.ts";
import type { ParamHeader } from "../../backends/modern-headers.ts";
import { EventStream } from "../event-stream.ts";
import { headerIntoMeta } from "../../ops/trace-context.ts";
import type { FrontSession } from "./gateway-api.ts";
import { JSON_HEADER_LIST, JSON_HEADERS, SSE_HEADERS, wireBody } from "./response-shaper.ts";
import type { Env, RouteContext } from "./route-context.ts";

/** Modern answers are never buffered by proxies: progress and cancellation depend on it. */
const MODERN_SSE_HEADERS = { ...SSE_HEADERS, "x-accel-buffering": "no" };

/** How a POST's messages are to be served. */
export type Era = "legacy" | "modern" | SentinelError;

/** Which era a POST is (MCP 2026-07-28, dual-era serving): the body's claim first, then the version header. */
export function classifyPost(messages: Message[], batch: boolean, headers: Headers): Era {
  const header = headers.get("mcp-protocol-version");
  const modernHeader = header !== null && isModernVersion(header);
  if (batch) {
    if (messages.some((m) => "method" in m && claimsModern(m.params))) {
      return new InvalidRequest("Bad Request: JSON-RPC batches may not contain 2026-07-28 requests");
    }
    return "legacy";
  }
  const m = messages[0]!;
  if (isRequest(m)) {
    const claim = claimsModern(m.params);
    if (m.method === "initialize" && !claim) {
      return modernHeader ? new HeaderMismatch("Bad Request: initialize (the 2025 handshake) sent with a 2026-07-28 MCP-Protocol-Version header") : "legacy";
    }
    if (claim) return "modern";
    if (modernHeader) {
      return new InvalidEnvelope(`Invalid params: the MCP-Protocol-Version header names ${header}, but params._meta lacks the per-request envelope`);
    }
    return "legacy";
  }
  if (isNotification(m)) return claimsModern(m.params) || modernHeader ? "modern" : "legacy";
  return "legacy";
}

/** Values that are not plain ASCII travel as =?base64?...?= (SEP-2243); null when the encoding is broken. */
export function decodeHeaderValue(value: string): string | null {
  const m = /^=\?base64\?([A-Za-z0-9+/=]*)\?=$/.exec(value);
  if (!m) return value;
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(atob(m[1]!), (c) => c.charCodeAt(0)));
  } catch {
    return null;
  }
}

/** The standard headers against the body (MCP 2026-07-28, Streamable HTTP): -32020 when one is missing or disagrees. */
function checkHeaders(headers: Headers, req: RpcRequest, envelope: Envelope): void {
  const version = headers.get("mcp-protocol-version");
  if (version === null) throw new HeaderMismatch("Bad Request: the MCP-Protocol-Version header is required");
  if (version !== envelope.version) {
    throw new HeaderMismatch(`Bad Request: MCP-Protocol-Version ${version} disagrees with the envelope's ${envelope.version}`);
  }
  const method = headers.get("mcp-method");
  if (method === null) throw new HeaderMismatch("Bad Request: the Mcp-Method header is required");
  if (method !== req.method) throw new HeaderMismatch(`Bad Request: Mcp-Method ${method} disagrees with the body's ${req.method}`);
  const field = req.method === "resources/read" ? "uri" : req.method === "tools/call" || req.method === "prompts/get" ? "name" : null;
  const body = field ? req.params?.[field] : undefined;
  if (typeof body !== "string") return;
  const name = headers.get("mcp-name");
  if (name === null) throw new HeaderMismatch(`Bad Request: the Mcp-Name header is required for ${req.method}`);
  const decoded = decodeHeaderValue(name.trim());
  if (decoded === null) throw new HeaderMismatch("Bad Request: the Mcp-Name header's base64 value is malformed");
  if (decoded !== body) throw new HeaderMismatch(`Bad Request: Mcp-Name disagrees with params.${field}`);
}

/** A tool's arguments mirrored in Mcp-Param-* headers (SEP-2243): each present one must be there and agree. */
function checkParamHeaders(headers: Headers, args: unknown, params: readonly ParamHeader[]): void {
  for (const p of params) {
    let value = args;
    for (const key of p.path) value = typeof value === "object" && value !== null ? (value as Record<string, unknown>)[key] : undefined;
    // An absent argument is not expected in a header; a non-primitive one is the arguments' own fault.
    if (value === undefined || value === null || typeof value === "object") continue;
    const raw = headers.get(p.header);
    if (raw === null) throw new HeaderMismatch(`Bad Request: the ${p.header} header is required (the tool mirrors that argument)`);
    const decoded = decodeHeaderValue(raw.trim());
    if (decoded === null) throw new HeaderMismatch(`Bad Request: the ${p.header} header's base64 value is malformed`);
    const same = typeof value === "number" ? /^-?\d+(\.\d+)?$/.test(decoded) && Number(decoded) === value : decoded === String(value);
    if (!same) throw new HeaderMismatch(`Bad Request: ${p.header} disagrees with the argument it mirrors`);
  }
}

export function modernPost<S extends FrontSession>({ gateway, posts, refuse: { reject } }: RouteContext<S>) {
  return async function serve(
    req: Request,
    messages: Message[],
    identity: Principal,
    env: Env["Bindings"] | undefined,
    view: string | null,
  ): Promise<Response> {
    const m = messages[0]!;
    // No client notification of 2026-07-28 means anything over HTTP (cancelling is closing the answer).
    if (!isRequest(m)) return new Response(null, { status: 202 });
    if (gateway.config.tracing) headerIntoMeta(m, req.headers);
    let envelope: Envelope;
    try {
      envelope = readEnvelope(m.params, true);
      checkHeaders(req.headers, m, envelope);
      if (m.method === "tools/call" && typeof m.params?.name === "string") {
        checkParamHeaders(req.headers, m.params.arguments, gateway.catalog.paramHeaders(m.params.name));
      }
      checkVersion(envelope.version);
      gateway.modern.check(m.method);
    } catch (err) {
      return reject(err as SentinelError, m.id);
    }
    if (m.method === "subscriptions/listen") return listen(req, m, identity, env, view);
    const abort = new CancelSignal();
    posts.add(req, () => abort.cancel("client disconnected"));
    env?.calling(req);
    try {
      return await answer(req, m, identity, envelope, abort, view);
    } finally {
      posts.delete(req);
    }
  };

  function answer(req: Request, m: RpcRequest, identity: Principal, envelope: Envelope, abort: CancelSignal, view: string | null): Promise<Response> {
    const session = gateway.principalSession(identity, view);
    return new Promise((resolve) => {
      let stream: EventStream | null = null;
      // SSE only if the client takes it; otherwise what belongs to the request is dropped (there is no other stream in 2026-07-28).
      const relate = (req.headers.get("accept") ?? "").includes("text/event-stream")
        ? (msg: Message) => {
            if (!stream) {
              stream = new EventStream(() => {});
              resolve(new Response(stream.readable, { headers: MODERN_SSE_HEADERS }));
            }
            stream.send(msg);
          }
        : null;
      const done = (response: Awaited<ReturnType<typeof gateway.modern.request>>) => {
        if (stream) {
          if (response) stream.send(response);
          stream.close();
          return;
        }
        if (!response) return resolve(new Response(null, { status: 204 }));
        resolve(new Response(wireBody(response), { status: statusOf(response), headers: headersOf(response) }));
      };
      const out = gateway.modern.request({ session, identity, envelope, relate, abort }, m);
      if (out instanceof Promise) void out.then(done);
      else done(out);
    });
  }

  async function listen(req: Request, m: RpcRequest, identity: Principal, env: Env["Bindings"] | undefined, view: string | null): Promise<Response> {
    const stream = new EventStream(() => handle?.end(false));
    let handle: Awaited<ReturnType<typeof gateway.listens.listen>> | null = null;
    try {
      handle = await gateway.listens.listen("http", identity, m.id, m.params ?? {}, (msg) => {
        stream.send(msg);
        // The final result ends the listen's stream.
        if ("id" in msg && !("method" in msg)) stream.close();
      }, view);
    } catch (err) {
      stream.close();
      return reject(err as SentinelError, m.id);
    }
    handle.acknowledge();
    env?.streaming(req);
    return new Response(stream.readable, { headers: MODERN_SSE_HEADERS });
  }
}

/** In band (200) like any answer, but a refusal for the rate says so in HTTP, and -32021 is a 400 wherever it comes from. */
function statusOf(response: RpcResponse): number {
  const code = "error" in response ? response.error.code : undefined;
  if (code === RateLimited.rpcCode) return 429;
  return code === -32021 ? 400 : 200;
}

function headersOf(response: RpcResponse): Record<string, string> | Headers {
  const refusal = "error" in response ? RateLimited.fromWire(response.error) : null;
  return refusal ? { ...JSON_HEADERS, ...refusal.httpHeaders } : JSON_HEADER_LIST;
}
