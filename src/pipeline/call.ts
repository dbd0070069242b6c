// One client request on its way through the pipeline: who sent it, how to
// cancel it, and where the messages that belong to it go. It is also the
// request options a backend gets (backends/request.ts), so progress, log lines
// and the backend's own requests during the call come back to this call
// without the backend knowing sessions.

import type { Principal } from "../auth/principal.ts";
import { CancelSignal, type RequestOptions, type Result } from "../backends/request.ts";
import type { Message, Notification, Params, Request } from "../jsonrpc/message.ts";
import type { Session } from "../session/session.ts";

export class Call implements RequestOptions {
  readonly cancel = new CancelSignal();
  readonly progressToken: string | number | undefined;
  /** A large result may be relayed as bytes: the pipeline only passes it on. */
  readonly relay = true;

  constructor(
    readonly session: Session,
    readonly identity: Principal,
    readonly request: Request,
    /** Where messages that belong to this request go (an HTTP answer stream); by default the session. */
    private readonly relateTo: ((m: Message) => void) | undefined,
  ) {
    const token = (request.params?._meta as { progressToken?: unknown } | undefined)?.progressToken;
    this.progressToken = typeof token === "string" || typeof token === "number" ? token : undefined;
  }

  /** The opaque tag reverse routing compares: this call's session. */
  get origin(): Session {
    return this.session;
  }

  relate(message: Message): void {
    if (this.relateTo) this.relateTo(message);
    else this.session.send(message);
  }

  onProgress(params: Params): void {
    if (!this.cancel.cancelled) this.relate({ jsonrpc: "2.0", method: "notifications/progress", params });
  }

  onNotification(n: Notification): void {
    this.relate(n);
  }

  onRequest(r: Request, cancel: CancelSignal): Promise<Result> {
    return this.session.request(r.method, r.params, (m) => this.relate(m), cancel);
  }
}
