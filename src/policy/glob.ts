// Name patterns used by policy (RBAC rules, rate-limit keys). Deliberately
// smaller than shell globs: exposed names contain `_`, `/` and `:` freely, so
// `*` must cross them, and there are no classes or braces to get wrong.

// With the `u` flag only syntax characters and `/` may be escaped.
const SPECIAL = /[\\^$.*+?()[\]{}|/]/g;

/** True when `text` has a wildcard, i.e. cannot be compared by plain equality. */
export function isGlob(text: string): boolean {
  return text.includes("*") || text.includes("?");
}

function source(glob: string): string {
  let out = "";
  for (const ch of glob) {
    if (ch === "*") out += ".*";
    else if (ch === "?") out += ".";
    else out += ch.replace(SPECIAL, "\\$&");
  }
  return out;
}

/**
 * `*` is any run of characters (even none), `?` exactly one, anything else is
 * literal; the whole name must match. `s` lets wildcards cross newlines and `u`
 * makes `?` one code point, so no name slips past by being odd.
 */
export function compileGlob(glob: string): RegExp {
  return new RegExp(`^(?:${source(glob)})$`, "su");
}

/** One test for a list of globs; an empty list matches nothing. */
export function compileGlobs(globs: readonly string[]): (name: string) => boolean {
  if (globs.length === 0) return () => false;
  if (!globs.some(isGlob)) {
    const exact = new Set(globs);
    return (name) => exact.has(name);
  }
  const re = new RegExp(`^(?:${globs.map(source).join("|")})$`, "su");
  return (name) => re.test(name);
}
