// The HTTP front's sessions by id: each bound to the subject that opened it,
// bounded in number, ended when idle, and with the backlog its GET stream
// replays on reconnect (Last-Event-ID).

import { sameSubject, type Principal } from "../../auth/principal.ts";
import { Conflict, Overloaded } from "../../errors.ts";
import { EventStream } from "../event-stream.ts";
import type { FrontGateway, FrontSession } from "./gateway-api.ts";

// Messages kept per session for GET-stream resumption (Last-Event-ID).
const BACKLOG = 256;
const SWEEP_MS = 60_000;
// What a client told to go away for a full table waits before it tries again.
const FULL_RETRY_S = 60;

export type HttpSession<S extends FrontSession = FrontSession> = {
  readonly id: string;
  session: S;
  /** The GET stream, if one is open. */
  stream: EventStream | null;
  /** Server-to-client messages sent outside a POST, numbered, for replay on reconnect. */
  readonly backlog: { id: number; data: string }[];
  nextEventId: number;
};

export type SessionLimits = { maxSessions: number; sessionIdleMs: number };

export class SessionTable<S extends FrontSession = FrontSession> {
  private readonly byId = new Map<string, HttpSession<S>>();
  private sweeper: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly gateway: Pick<FrontGateway<S>, "openSession" | "closeSession">,
    private readonly limits: SessionLimits,
  ) {
    if (!(limits.maxSessions >= 1)) throw new TypeError(`SessionTable: maxSessions must be at least 1, got ${limits.maxSessions}`);
    if (!(limits.sessionIdleMs > 0)) throw new TypeError(`SessionTable: sessionIdleMs must be positive, got ${limits.sessionIdleMs}`);
  }

  get size(): number {
    return this.byId.size;
  }

  /** A new session for `identity` in `view` (null: the full view); refused while the table is full. */
  open(identity: Principal, view: string | null = null): HttpSession<S> | Overloaded {
    // Sessions hold memory: their number is bounded, so that no client can exhaust it.
    if (this.byId.size >= this.limits.maxSessions) {
      return new Overloaded("Service Unavailable: too many open sessions; retry later", FULL_RETRY_S);
    }
    const id = crypto.randomUUID();
    const entry: HttpSession<S> = { id, session: null as unknown as S, stream: null, backlog: [], nextEventId: 1 };
    entry.session = this.gateway.openSession(id, "http", identity, (m) => {
      const event = { id: entry.nextEventId++, data: JSON.stringify(m) };
      entry.backlog.push(event);
      if (entry.backlog.length > BACKLOG) entry.backlog.shift();
      entry.stream?.send(event.data, event.id);
    }, view);
    this.byId.set(id, entry);
    return entry;
  }

  /**
   * The session with this id, if `who` may use it: only the subject that opened
   * it may, whatever token it now presents. Another subject's session reads as
   * unknown (null): ids are not capabilities.
   */
  find(id: string, who: Principal): HttpSession<S> | null {
    const entry = this.byId.get(id);
    return entry && sameSubject(entry.session.identity, who) ? entry : null;
  }

  /** Opens the session's GET stream, replaying what the client missed since the event it names. */
  openStream(entry: HttpSession<S>, lastEventId: string | null): EventStream | Conflict {
    if (entry.stream) return new Conflict("Conflict: this session already has an event stream");
    const stream = new EventStream(() => {
      if (entry.stream === stream) entry.stream = null;
    });
    entry.stream = stream;
    entry.session.lastSeen = Date.now();
    const last = Number(lastEventId);
    if (Number.isInteger(last) && last > 0) for (const e of entry.backlog) if (e.id > last) stream.send(e.data, e.id);
    return stream;
  }

  end(entry: HttpSession<S>, reason: string): void {
    if (this.byId.get(entry.id) !== entry) return;
    this.byId.delete(entry.id);
    entry.stream?.close();
    this.gateway.closeSession(entry.session, reason);
  }

  /** Ends sessions idle past the limit, with nothing in flight and no stream open. */
  sweepIdle(now = Date.now()): void {
    const cutoff = now - this.limits.sessionIdleMs;
    for (const s of this.byId.values()) {
      if (s.session.lastSeen < cutoff && s.session.inflight.size === 0 && !s.stream) this.end(s, "idle timeout");
    }
  }

  startSweeping(): void {
    // Clients such as Claude Code open a session per health check and never
    // DELETE it: idle sessions are ended and what they hold is released.
    this.sweeper ??= setInterval(() => this.sweepIdle(), Math.min(SWEEP_MS, this.limits.sessionIdleMs));
    this.sweeper.unref();
  }

  /** Stops sweeping and ends every event stream; the sessions stay for in-flight POSTs. */
  closeStreams(): void {
    this.stopSweeping();
    for (const s of this.byId.values()) s.stream?.close();
  }

  /** Ends every session. */
  endAll(reason: string): void {
    this.stopSweeping();
    for (const s of [...this.byId.values()]) this.end(s, reason);
  }

  private stopSweeping(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
  }
}
