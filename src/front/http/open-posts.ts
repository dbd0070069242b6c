// POSTs being answered, so that a client that disconnects has its calls
// cancelled at the backends. Checked by a sweep (the server runs it) rather
// than a listener per request: `req.signal` costs ~10 µs a call, and only slow
// calls need it.

import type { Request as RpcRequest } from "../../jsonrpc/message.ts";
import type { FrontSession } from "./gateway-api.ts";

export class OpenPosts<S extends FrontSession = FrontSession> {
  private readonly open = new Map<Request, { session: S; requests: RpcRequest[] }>();

  add(req: Request, session: S, requests: RpcRequest[]): void {
    this.open.set(req, { session, requests });
  }

  delete(req: Request): void {
    this.open.delete(req);
  }

  /** Cancels the calls of every POST whose client has gone. */
  sweep(): void {
    for (const [req, open] of this.open) {
      if (!req.signal.aborted) continue;
      this.open.delete(req);
      for (const r of open.requests) open.session.cancel(r.id, "client disconnected");
    }
  }
}
