// The `args` part of an RBAC rule: conditions on a call's arguments, compiled
// once at load into one predicate per rule. Only top-level argument names are
// addressed; a constraint on a nested value is written as a pattern.

import type { ArgConstraint } from "../config/load.ts";

export type Effect = "allow" | "deny";

/** Whether every constraint of a rule holds for a call's arguments. */
export type ArgsCheck = (args: Readonly<Record<string, unknown>>) => boolean;

type Check = (value: unknown, present: boolean) => boolean;

export function compileArgs(constraints: Readonly<Record<string, ArgConstraint>>, effect: Effect): ArgsCheck | null {
  const checks = Object.entries(constraints).map(([name, c]) => [name, compileConstraint(c, effect)] as const);
  if (checks.length === 0) return null;
  return (args) => {
    for (const [name, check] of checks) {
      // hasOwn: an argument named "constructor" must not find Object.prototype's.
      const present = Object.hasOwn(args, name);
      if (!check(present ? args[name] : undefined, present)) return false;
    }
    return true;
  };
}

function compileConstraint(c: ArgConstraint, effect: Effect): Check {
  if (c === null || typeof c !== "object") return (v, present) => present && v === c;
  if ("pattern" in c) {
    const re = new RegExp(c.pattern);
    return (v, present) => {
      if (!present) return false;
      if (typeof v === "string") return re.test(v);
      if (typeof v === "number" || typeof v === "boolean") return re.test(String(v));
      // A structured value is where a blocked word hides from a deny pattern,
      // and where an allow pattern would be judged on text the tool never sees
      // as such: fail closed both ways.
      return effect === "deny" && re.test(JSON.stringify(v) ?? "");
    };
  }
  if ("in" in c) {
    const options = c.in;
    return (v, present) => present && options.some((o) => same(o, v));
  }
  const excluded = c.not;
  // Missing is "not that value", so a rule can require an argument to be absent or different.
  return (v, present) => !present || !same(excluded, v);
}

function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  return typeof a === "object" && a !== null && typeof b === "object" && b !== null && Bun.deepEquals(a, b, true);
}
