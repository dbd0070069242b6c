// GET /mcp opens a session's server-to-client event stream; DELETE /mcp ends the session
// (the same on /mcp/<view>, for the sessions opened there).

import type { Context } from "hono";
import { NotAcceptable } from "../../errors.ts";
import type { FrontSession } from "./gateway-api.ts";
import { SSE_HEADERS } from "./response-shaper.ts";
import { acceptsEvents, type Env, type RouteContext } from "./route-context.ts";

export function streamRoute<S extends FrontSession>({ sessions, refuse: { reject }, gate, sessionOf }: RouteContext<S>) {
  return async function stream(c: Context<Env>, view: string | null): Promise<Response> {
    const req = c.req.raw;
    const identity = await gate(req);
    if (identity instanceof Response) return identity;
    if (!acceptsEvents(req)) return reject(new NotAcceptable("Not Acceptable: GET /mcp needs Accept: text/event-stream"));
    const entry = sessionOf(req.headers, null, identity, view);
    if (entry instanceof Response) return entry;
    const opened = sessions.openStream(entry, req.headers.get("last-event-id"));
    if (opened instanceof Error) return reject(opened);
    c.env?.streaming(req);
    return new Response(opened.readable, { headers: SSE_HEADERS });
  };
}

export function deleteRoute<S extends FrontSession>({ sessions, gate, sessionOf }: RouteContext<S>) {
  return async function end(c: Context<Env>, view: string | null): Promise<Response> {
    const req = c.req.raw;
    const identity = await gate(req);
    if (identity instanceof Response) return identity;
    const entry = sessionOf(req.headers, null, identity, view);
    if (entry instanceof Response) return entry;
    sessions.end(entry, "deleted by client");
    return new Response(null, { status: 200 });
  };
}
