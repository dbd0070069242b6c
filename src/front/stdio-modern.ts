// 2026-07-28 requests on the stdio front. The same process serves both eras
// (MCP 2026-07-28, dual-era servers): a request whose _meta claims a protocol
// version, or the server/discover probe, is served statelessly; initialize
// opens the 2025 session as before. Here: the envelope, listens, and
// cancellation by notifications/cancelled for both.

import { CancelSignal } from "../backends/request.ts";
import type { Listen } from "../dispatch/listens.ts";
import type { Gateway } from "../gateway.ts";
import type { JsonRpcId, Message, Notification, Request, Response } from "../jsonrpc/message.ts";
import { MODERN_VERSION } from "../jsonrpc/mcp-meta.ts";
import { claimsModern, readEnvelope, type Envelope } from "../session/envelope.ts";
import type { Session } from "../session/session.ts";

/** A probe without an envelope is still answered: it is how a client learns Sentinel speaks 2026-07-28. */
const BARE_PROBE: Envelope = { version: MODERN_VERSION, capabilities: {}, clientInfo: null, logLevel: null };

export class StdioModern {
  /** Requests in flight and open listens, by the client's id, for notifications/cancelled. */
  private readonly inflight = new Map<JsonRpcId, CancelSignal>();
  private readonly listens = new Map<JsonRpcId, Listen>();

  constructor(
    private readonly gateway: Gateway,
    private readonly session: Session,
    private readonly send: (m: Message) => void,
  ) {}

  /** Whether the request is a 2026-07-28 one. */
  takes(req: Request): boolean {
    return claimsModern(req.params) || req.method === "server/discover";
  }

  request(req: Request): Promise<Response | null> | Response | null {
    const { gateway, session } = this;
    let envelope: Envelope;
    try {
      envelope = req.method === "server/discover" && !claimsModern(req.params) ? BARE_PROBE : readEnvelope(req.params);
      gateway.modern.check(req.method);
    } catch (err) {
      return gateway.pipeline.rejected(session, "stdio", req.id, err);
    }
    if (req.method === "subscriptions/listen") return this.listen(req);
    const abort = new CancelSignal();
    this.inflight.set(req.id, abort);
    const out = gateway.modern.request({ session, identity: session.identity, envelope, relate: this.send, abort }, req);
    if (!(out instanceof Promise)) {
      this.inflight.delete(req.id);
      return out;
    }
    return out.finally(() => this.inflight.delete(req.id));
  }

  /** A notification for the modern side (a cancelled request or listen); false if it is not one. */
  notification(n: Notification): boolean {
    if (n.method !== "notifications/cancelled") return false;
    const id = n.params?.requestId as JsonRpcId | undefined;
    if (id === undefined) return false;
    const listen = this.listens.get(id);
    if (listen) {
      this.listens.delete(id);
      listen.end(false);
      return true;
    }
    const abort = this.inflight.get(id);
    if (!abort) return false;
    abort.cancel(String(n.params?.reason ?? "cancelled by client"));
    return true;
  }

  close(): void {
    for (const l of this.listens.values()) l.end(false);
    this.listens.clear();
    for (const a of this.inflight.values()) a.cancel("stdin closed");
  }

  /** A listen is answered only when it ends; until then its notifications share stdout, told apart by its id. */
  private async listen(req: Request): Promise<Response | null> {
    const { gateway, session } = this;
    try {
      const listen = await gateway.listens.listen("stdio", session.identity, req.id, req.params ?? {}, this.send, session.view);
      this.listens.set(req.id, listen);
      listen.acknowledge();
    } catch (err) {
      return gateway.pipeline.rejected(session, "stdio", req.id, err);
    }
    return null;
  }
}
