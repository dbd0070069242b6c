// Verified tokens, so that a client sending the same bearer token on every
// request costs one signature check, not one per request. An entry lives only
// until its token expires; the oldest entry makes room for a new one.

import type { Principal } from "./principal.ts";

export class TokenCache {
  private readonly entries = new Map<string, { principal: Principal; until: number }>();

  constructor(
    private readonly max: number,
    private readonly now: () => number,
  ) {}

  get(token: string): Principal | undefined {
    const entry = this.entries.get(token);
    if (!entry) return undefined;
    this.entries.delete(token);
    if (this.now() >= entry.until) return undefined;
    // Re-inserted at the end: the Map's order is then least recently used first.
    this.entries.set(token, entry);
    return entry.principal;
  }

  /** `until`: epoch ms after which the token must not be accepted any more. */
  set(token: string, principal: Principal, until: number): void {
    if (this.max <= 0) return;
    this.entries.delete(token);
    while (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(token, { principal, until });
  }

  get size(): number {
    return this.entries.size;
  }
}
