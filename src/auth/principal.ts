import type { Identity } from "../config/load.ts";

/**
 * An authenticated caller: who, with which roles, how it proved it, and until
 * when. `issuer` is the JWT's iss when it has one: a subject is unique only per issuer.
 */
export type Principal = Identity & { via: "jwt" | "apikey" | "local" | "anonymous"; expiresAt: number | null; issuer?: string };

/** Whether two credentials name the same caller (roles and expiry may differ: a refreshed token). */
export function sameSubject(a: Principal, b: Principal): boolean {
  return a.sub === b.sub && a.via === b.via && a.issuer === b.issuer;
}

/** One string per caller, as sameSubject tells them apart: what per-caller state is keyed and bound by. */
export function principalKey(p: Principal): string {
  return `${p.via}:${p.issuer ?? ""}:${p.sub}`;
}
