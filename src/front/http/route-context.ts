// What every /mcp route is built with, once per app: the session table, the
// open POSTs, the credential gate, and the one way a request names its session.

import type { Principal } from "../../auth/principal.ts";
import { InvalidRequest, SessionNotFound } from "../../errors.ts";
import type { JsonRpcId } from "../../jsonrpc/message.ts";
import { credentialGate, type Gate, type TokenVerifier } from "./credential-gate.ts";
import type { FrontGateway, FrontSession } from "./gateway-api.ts";
import { OpenPosts } from "./open-posts.ts";
import { refusals, type Refusals } from "./refusals.ts";
import { SessionTable, type HttpSession } from "./session-table.ts";

/**
 * What the server lends each request: lifting Bun's idle timeout for answers
 * that may stay quiet longer. Absent when tests drive the app in-process.
 */
export type ServerHooks = {
  /** An event stream, quiet between messages for as long as it likes. */
  streaming(req: Request): void;
  /** A POST whose calls may outlast the idle timeout. */
  calling(req: Request): void;
  /** The client's IP address (GET /metrics is for loopback clients unless a token is set). */
  address?(req: Request): string | null;
};
export type Env = { Bindings: ServerHooks };

export type HttpAppOptions<S extends FrontSession> = {
  /** The address the server binds (loopback binds also screen the Host header). */
  host: string;
  sessions?: SessionTable<S>;
  /** Where POSTs being answered are kept for the server's disconnect sweep. */
  posts?: OpenPosts<S>;
};

export type RouteContext<S extends FrontSession> = {
  gateway: FrontGateway<S>;
  sessions: SessionTable<S>;
  posts: OpenPosts<S>;
  refuse: Refusals;
  gate: Gate;
  /**
   * The session a request names: a Response when it names none, or one the caller
   * may not use, or one opened in another view than the path's (/mcp/<view>).
   */
  sessionOf(headers: Headers, id: JsonRpcId | null, who: Principal, view: string | null): HttpSession<S> | Response;
};

export function routeContext<S extends FrontSession>(gateway: FrontGateway<S>, auth: TokenVerifier, options: HttpAppOptions<S>): RouteContext<S> {
  const sessions = options.sessions ?? new SessionTable(gateway, gateway.config.http);
  const refuse = refusals(gateway.pipeline);
  const { reject } = refuse;
  return {
    gateway,
    sessions,
    posts: options.posts ?? new OpenPosts<S>(),
    refuse,
    gate: credentialGate(gateway.config, auth, { host: options.host, reject }),
    sessionOf(headers, id, who, view) {
      const sid = headers.get("mcp-session-id");
      if (!sid) return reject(new InvalidRequest("Bad Request: Mcp-Session-Id header is required"), id);
      const entry = sessions.find(sid, who);
      return entry && entry.session.view === view ? entry : reject(new SessionNotFound(), id);
    },
  };
}

export function acceptsEvents(req: Request): boolean {
  return (req.headers.get("accept") ?? "").includes("text/event-stream");
}
