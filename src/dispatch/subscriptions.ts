// resources/subscribe across sessions: each session's subscriptions are
// tracked, the backend is subscribed once per URI however many sessions want
// it, and unsubscribed when the last one leaves (or its session closes).

import type { Backend } from "../backends/backend.ts";
import type { Session } from "../session/session.ts";

export class Subscriptions {
  private readonly bySession = new Map<Session, Map<string, Backend>>();
  private readonly counts = new Map<Backend, Map<string, number>>();

  async subscribe(session: Session, backend: Backend, uri: string): Promise<void> {
    let mine = this.bySession.get(session);
    if (mine?.has(uri)) return;
    const counts = this.counts.get(backend) ?? new Map<string, number>();
    const n = counts.get(uri) ?? 0;
    if (n === 0) await backend.request("resources/subscribe", { uri });
    counts.set(uri, n + 1);
    this.counts.set(backend, counts);
    if (!mine) {
      mine = new Map();
      this.bySession.set(session, mine);
      session.onclose.push(() => this.release(session));
    }
    mine.set(uri, backend);
  }

  async unsubscribe(session: Session, uri: string): Promise<void> {
    const backend = this.bySession.get(session)?.get(uri);
    if (!backend) return;
    this.bySession.get(session)!.delete(uri);
    await this.drop(backend, uri);
  }

  /** Sessions subscribed to `uri` at `backend`. */
  subscribers(backend: Backend, uri: string): Session[] {
    const out: Session[] = [];
    for (const [session, mine] of this.bySession) if (mine.get(uri) === backend) out.push(session);
    return out;
  }

  private release(session: Session): void {
    const mine = this.bySession.get(session);
    this.bySession.delete(session);
    for (const [uri, backend] of mine ?? []) void this.drop(backend, uri).catch(() => {});
  }

  private async drop(backend: Backend, uri: string): Promise<void> {
    const counts = this.counts.get(backend);
    const n = counts?.get(uri) ?? 0;
    if (n > 1) return void counts!.set(uri, n - 1);
    counts?.delete(uri);
    if (backend.connected) await backend.request("resources/unsubscribe", { uri });
  }
}
