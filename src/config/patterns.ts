// Patterns several config sections share: role lists, name globs, argument
// constraints (RBAC rules and approvals judge arguments alike).

import * as v from "valibot";

export const roles = v.array(v.string("expected a role name"));

export const globs = v.union([v.string(), v.array(v.string())], "expected a name pattern or a list of them");
export const list = (x: string | string[]) => (Array.isArray(x) ? x : [x]);

/** An argument constraint: an exact value, or { pattern } / { in } / { not }. */
export const argConstraint = v.union([
  v.pipe(
    v.strictObject({ pattern: v.string() }),
    v.check((c) => isRegex(c.pattern), (issue) => `invalid pattern ${JSON.stringify(issue.input.pattern)}`),
  ),
  v.strictObject({ in: v.array(v.unknown()) }),
  v.strictObject({ not: v.unknown() }),
  v.union([v.string(), v.number(), v.boolean(), v.null()]),
]);


function isRegex(x: string): boolean {
  try {
    new RegExp(x);
    return true;
  } catch {
    return false;
  }
}
