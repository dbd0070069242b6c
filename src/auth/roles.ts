// Roles carried by a token: the configured claim (a list, or a space-separated
// string as OAuth's `scope`) plus the standard `scope` claim, so that a plain
// OAuth access token can be given permissions by scope alone.

import type { JWTPayload } from "jose";

/** The roles, deduplicated; or an error message naming the claim that is malformed. */
export function rolesFromClaims(payload: JWTPayload, rolesClaim: string): { roles: string[] } | { error: string } {
  const roles = new Set<string>();
  for (const name of rolesClaim === "scope" ? ["scope"] : [rolesClaim, "scope"]) {
    const value = claimAt(payload, name);
    if (value === undefined || value === null) continue;
    const list = asList(value);
    if (!list) return { error: `Token claim "${name}" must be a list of strings or a space-separated string` };
    for (const r of list) roles.add(r);
  }
  return { roles: [...roles] };
}

// Some issuers nest roles (Keycloak: realm_access.roles) while others use
// names full of dots (Auth0: https://example.com/roles): the exact name wins.
function claimAt(payload: JWTPayload, name: string): unknown {
  if (Object.hasOwn(payload, name)) return payload[name];
  let at: unknown = payload;
  for (const part of name.split(".")) {
    if (typeof at !== "object" || at === null || !Object.hasOwn(at, part)) return undefined;
    at = (at as Record<string, unknown>)[part];
  }
  return at;
}

function asList(value: unknown): string[] | null {
  if (typeof value === "string") return value.split(/\s+/).filter(Boolean);
  if (Array.isArray(value) && value.every((x) => typeof x === "string")) return value.filter(Boolean);
  return null;
}
