// Calls parked for their client's input (MRTR): found again by the id their
// sealed requestState names, capped per principal, and abandoned when the
// client does not come back in time; the backend is then answered (declined)
// and the call cancelled there, so that nothing waits forever.

import type { ModernCall } from "./modern-call.ts";

type Parked = { call: ModernCall; sub: string; timer: ReturnType<typeof setTimeout> | null; open: boolean };

export type ParkingLimits = { inputTimeoutMs: number; maxParked: number };

export class Parking {
  private readonly parked = new Map<string, Parked>();
  private readonly perPrincipal = new Map<string, number>();
  private nextId = 1;
  private readonly ids = new WeakMap<ModernCall, string>();

  constructor(private readonly limits: ParkingLimits) {}

  get size(): number {
    return this.parked.size;
  }

  /** Parks a call whose client is away answering it; null when the principal has as many parked as allowed. */
  hold(call: ModernCall, sub: string): string | null {
    let id = this.ids.get(call);
    let p = id === undefined ? undefined : this.parked.get(id);
    if (!p) {
      const n = this.perPrincipal.get(sub) ?? 0;
      if (n >= this.limits.maxParked) return null;
      this.perPrincipal.set(sub, n + 1);
      id = `${this.nextId++}.${crypto.randomUUID()}`;
      p = { call, sub, timer: null, open: false };
      this.parked.set(id, p);
      this.ids.set(call, id);
    }
    p.open = false;
    if (p.timer) clearTimeout(p.timer);
    const parkId = id!;
    p.timer = setTimeout(() => this.expire(parkId), this.limits.inputTimeoutMs);
    p.timer.unref?.();
    return parkId;
  }

  /** The parked call a retry names, claimed by that retry; null if none waits under that id (finished, expired) or a retry has it already. */
  claim(id: string): ModernCall | null {
    const p = this.parked.get(id);
    if (!p || p.open) return null;
    p.open = true;
    if (p.timer) clearTimeout(p.timer);
    p.timer = null;
    return p.call;
  }

  /** The call has answered (or failed): nothing of it stays parked. */
  release(call: ModernCall): void {
    const id = this.ids.get(call);
    if (id === undefined) return;
    const p = this.parked.get(id);
    if (!p) return;
    if (p.timer) clearTimeout(p.timer);
    this.parked.delete(id);
    const n = (this.perPrincipal.get(p.sub) ?? 1) - 1;
    if (n > 0) this.perPrincipal.set(p.sub, n);
    else this.perPrincipal.delete(p.sub);
  }

  /** Shutting down: every parked call is abandoned. */
  abandonAll(reason: string): void {
    for (const p of [...this.parked.values()]) {
      this.release(p.call);
      p.call.abandon(reason);
    }
  }

  private expire(id: string): void {
    const p = this.parked.get(id);
    if (!p || p.open) return;
    this.release(p.call);
    p.call.abandon("the client did not retry with its input in time");
  }
}
