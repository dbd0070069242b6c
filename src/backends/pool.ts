// Per-session backend connections, for backends configured with
// `isolation: session`: each client session gets its own connection (its own
// process, for stdio), opened on first use and closed with the session. Then a
// backend's sampling, elicitation and roots requests can only mean that session.

import type { Session } from "../session/session.ts";
import type { Backend } from "./backend.ts";

export class SessionBackends {
  private readonly bySession = new Map<Session, Map<string, Backend>>();

  constructor(private readonly open: (shared: Backend, owner: Session) => Backend) {}

  /** The connection that serves `session` for `shared`'s backend (no promise on the shared path). */
  get(session: Session, shared: Backend): Backend | Promise<Backend> {
    return shared.config.isolation === "session" ? this.own(session, shared) : shared;
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
      conn = this.open(shared, session);
      mine.set(shared.name, conn);
      conn.start();
    }
    await conn.settled;
    return conn;
  }

  of(session: Session): Backend[] {
    return [...(this.bySession.get(session)?.values() ?? [])];
  }

  async stopAll(): Promise<void> {
    const all = [...this.bySession.values()].flatMap((m) => [...m.values()]);
    this.bySession.clear();
    await Promise.all(all.map((b) => b.stop()));
  }

  private release(session: Session): void {
    const mine = this.bySession.get(session);
    this.bySession.delete(session);
    for (const b of mine?.values() ?? []) void b.stop();
  }
}
