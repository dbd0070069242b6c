// POST /mcp: client messages in, answers out. The hot path: the raw Request
// is read and a Response built directly (see app.ts for what Hono's helpers cost).

import type { Context } from "hono";
import type { Principal } from "../../auth/principal.ts";
import { InvalidRequest, MessageTooLarge, SentinelError } from "../../errors.ts";
import { idOf, isNotification, isRequest, type Message } from "../../jsonrpc/message.ts";
import { classifyPost, modernPost } from "./modern-post.ts";
import { headerIntoMeta } from "../../ops/trace-context.ts";
import type { FrontSession } from "./gateway-api.ts";
import { parsePosted, postBody } from "./post-body.ts";
import { answerBatch, answerOne } from "./response-shaper.ts";
import { acceptsEvents, type Env, type RouteContext } from "./route-context.ts";
import type { HttpSession } from "./session-table.ts";

export function postRoute<S extends FrontSession>(routes: RouteContext<S>) {
  const { gateway, sessions, refuse, gate, sessionOf } = routes;
  const { pipeline } = gateway;
  const modern = gateway.config.modern.enabled ? modernPost(routes) : null;
  const { reject } = refuse;

  /** The session a POST's messages go to: a new one for initialize, else the one it names. */
  const enter = (messages: Message[], initialize: boolean, headers: Headers, who: Principal, view: string | null): HttpSession<S> | Response => {
    const first = messages[0]!;
    const firstId = isRequest(first) ? first.id : null;
    if (!initialize) return sessionOf(headers, firstId, who, view);
    if (messages.length > 1) return reject(new InvalidRequest("Invalid Request: initialize must not be batched"), firstId);
    const opened = sessions.open(who, view);
    return opened instanceof Error ? reject(opened, firstId) : opened;
  };

  /** `view`: the path's (/mcp/<view>, checked by the app), null on /mcp. */
  return async function post(c: Context<Env>, view: string | null): Promise<Response> {
    const req = c.req.raw;
    const identity = await gate(req);
    if (identity instanceof Response) return identity;
    // Read per request: a reload may change them.
    const limits = gateway.config.limits.client;
    const max = limits.messageBytes;
    const text = await postBody(req, max);
    if (text === null) return reject(new MessageTooLarge(max));
    const posted = parsePosted(text, limits, refuse);
    if (posted instanceof Response) return posted;
    const { messages } = posted;
    if (modern) {
      const era = classifyPost(messages, posted.batch, req.headers);
      if (era instanceof SentinelError) return reject(era, idOf(messages[0]));
      if (era === "modern") return modern(req, messages, identity, c.env, view);
    }
    const first = messages[0]!;
    const initialize = isRequest(first) && first.method === "initialize";
    const entry = enter(messages, initialize, req.headers, identity, view);
    if (entry instanceof Response) return entry;
    const { session } = entry;
    session.lastSeen = Date.now();
    // Each request is authorized by its own credential (a refreshed token may carry other roles).
    if (identity !== session.identity) gateway.reidentify(session, identity);

    const requests = messages.filter(isRequest);
    if (gateway.config.tracing) for (const r of requests) headerIntoMeta(r, req.headers);
    for (const m of messages) {
      if (isNotification(m)) pipeline.notification(session, m);
      else if (!isRequest(m)) pipeline.response(session, m);
    }
    // Only notifications and responses: accepted (202), or some refused (their error's status, no body).
    if (requests.length === 0) return new Response(null, { status: posted.refusal?.httpStatus ?? 202 });
    // Calls longer than the idle timeout must not be cut by it (only configured for such backends).
    c.env?.calling(req);
    // A 2025 client that disconnects has not cancelled (MCP 2025-11-25: it says so with
    // notifications/cancelled): its calls go on. In 2026-07-28 a disconnect is the cancellation (modern-post.ts).
    if (posted.batch) return answerBatch(pipeline, session, identity, requests);
    return answerOne(pipeline, session, identity, requests[0]!, acceptsEvents(req), initialize ? entry.id : null);
  };
}
