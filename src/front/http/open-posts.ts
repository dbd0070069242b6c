// 2026-07-28 POSTs being answered, so that a client that disconnects (which
// cancels, in that revision) has its call cancelled at the backend. Checked by a sweep (the server runs it) rather
// than a listener per request: `req.signal` costs ~10 µs a call, and only slow
// calls need it.

import type { FrontSession } from "./gateway-api.ts";

export class OpenPosts<_S extends FrontSession = FrontSession> {
  /** Each open POST and how to cancel what it carries. */
  private readonly open = new Map<Request, () => void>();

  add(req: Request, cancel: () => void): void {
    this.open.set(req, cancel);
  }

  delete(req: Request): void {
    this.open.delete(req);
  }

  /** Cancels the calls of every POST whose client has gone. */
  sweep(): void {
    for (const [req, cancel] of this.open) {
      if (!req.signal.aborted) continue;
      this.open.delete(req);
      cancel();
    }
  }
}
