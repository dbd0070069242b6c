// Per-session backend connections, for backends configured with
// `isolation: session`: each client session gets its own connection (its own
// process, for stdio), opened on first use and closed with the session. Then a
// backend's sampling, elicitation and roots requests can only mean that session.

import type { Backend } from "../backends/backend.ts";
import type { Session } from "./session.ts";

export class SessionConnections {
  private readonly bySession = new Map<Session, Map<string, Backend>>();
  private readonly owners = new Map<Backend, Session>();

  /** `open` makes a dedicated connection like `shared` (it is started here). */
  constructor(private readonly open: (shared: Backend) => Backend) {}

  /** The connection that serves `session` for `shared`'s backend (no promise on the shared path). */
  get(session: Session, shared: Backend): Backend | Promise<Backend> {
    return shared.config.isolation === "session" ? this.own(session, shared) : shared;
  }

  /** The session a dedicated connection serves; undefined for a shared one. */
  ownerOf(backend: Backend): Session | undefined {
    return this.owners.get(backend);
  }

  /** The session's own connections. */
  of(session: Session): Backend[] {
    return [...(this.bySession.get(session)?.values() ?? [])];
  }

  /** A backend removed or changed by a reload: its per-session connections stop; sessions open new ones on next use. */
  async retire(name: string): Promise<void> {
    const gone: Backend[] = [];
    for (const mine of this.bySession.values()) {
      const conn = mine.get(name);
      if (!conn) continue;
      mine.delete(name);
      this.owners.delete(conn);
      gone.push(conn);
    }
    await Promise.all(gone.map((b) => b.stop()));
  }

  async stopAll(): Promise<void> {
    const all = [...this.owners.keys()];
    this.bySession.clear();
    this.owners.clear();
    await Promise.all(all.map((b) => b.stop()));
  }

  private async own(session: Session, shared: Backend): Promise<Backend> {
    let mine = this.bySession.get(session);
    if (!mine) {
      mine = new Map();
      this.bySession.set(session, mine);
      session.onclose.push(() => this.release(session));
    }
    let conn = mine.get(shared.name);
    if (!conn) {
      conn = this.open(shared);
      mine.set(shared.name, conn);
      this.owners.set(conn, session);
      conn.start();
    }
    await conn.settled;
    return conn;
  }

  private release(session: Session): void {
    const mine = this.bySession.get(session);
    this.bySession.delete(session);
    for (const b of mine?.values() ?? []) {
      this.owners.delete(b);
      void b.stop();
    }
  }
}
