// What the HTTP front needs of the gateway, and nothing more: the front depends
// on these shapes, not on the Gateway class, so that either can change inside.
// `S` is the gateway's own session type, handed back to it as it came.

import type { AdminFeed } from "../../admin/live.ts";
import type { Principal } from "../../auth/principal.ts";
import type { Config } from "../../config/load.ts";
import type { Catalog } from "../../dispatch/catalog.ts";
import type { Listens } from "../../dispatch/listens.ts";
import type { ModernRequests } from "../../pipeline/modern.ts";
import type { Session } from "../../session/session.ts";
import type { JsonRpcId, Message, Notification, Request, Response } from "../../jsonrpc/message.ts";

/** A client session as the front sees it: who, when last used, what it still runs. */
export type FrontSession = {
  readonly identity: Principal;
  /** The view (virtual server) it was opened in; null is the full view. */
  readonly view: string | null;
  lastSeen: number;
  readonly inflight: { readonly size: number };
  cancel(id: JsonRpcId, reason: string): void;
};

export type FrontPipeline<S extends FrontSession> = {
  /** Resolves to null when the client cancelled the request: no answer is due. */
  request(session: S, req: Request, relate?: (m: Message) => void, identity?: Principal): Promise<Response | null>;
  notification(session: S, n: Notification): void;
  response(session: S, r: Response): void;
  /** Audits a message the front refused and returns its JSON-RPC error answer. */
  rejected(session: S | null, front: string, id: JsonRpcId | null, err: unknown): Response;
};

export type FrontGateway<S extends FrontSession = FrontSession> = {
  readonly config: Config;
  readonly pipeline: FrontPipeline<S>;
  openSession(id: string, front: "http", identity: Principal, deliver: (m: Message) => void, view: string | null): S;
  closeSession(session: S, reason: string): void;
  reidentify(session: S, identity: Principal): void;
  /** 2026-07-28 requests: served statelessly, around the same pipeline. */
  readonly modern: Pick<ModernRequests, "check" | "request">;
  readonly listens: Pick<Listens, "listen">;
  /** Where a principal's 2026-07-28 calls run. */
  principalSession(identity: Principal, view: string | null): Session;
  /** A tool's arguments that 2026-07-28 clients mirror in Mcp-Param-* headers, which the front checks against the body. */
  readonly catalog: Pick<Catalog, "paramHeaders">;
  /** GET /metrics; null or absent: no such route. */
  readonly metrics?: { render(): string } | null;
  /** GET /admin and its API (src/admin/routes.ts); absent: no such routes. */
  readonly admin?: AdminFeed | null;
};
