// Role-based access to tools, prompts and resources, by their exposed
// (namespaced) names. Compiled once at load; evaluation runs on every call and
// every list, so the rules that can apply to a (role set, target) are worked
// out once and cached.
//
// Semantics:
// - A rule selects targets by `backends` and by `tools` / `prompts` /
//   `resources` globs. A rule with only `backends` covers every tool, prompt and
//   resource of those backends. A rule naming kinds covers only those kinds,
//   narrowed to its backends if it has any. A rule selecting nothing matches nothing.
// - A rule with `args` applies only to calls whose arguments satisfy all of them.
// - Deny wins over allow across all of an identity's roles; no allow is a deny.
// - Roles the config does not define contribute nothing.

import type { Config, Rule } from "../config/load.ts";
import { compileGlobs } from "./glob.ts";
import { compileArgs, type ArgsCheck, type Effect } from "./rbac-args.ts";

export type TargetKind = "tool" | "prompt" | "resource";

/** `rule` names what decided: `developer.allow[0]`, `analyst.deny[1]`, `default-deny` or `no-rbac`. */
export type Decision = { readonly allowed: boolean; readonly rule: string };

type Selector = (kind: TargetKind, name: string, backend: string) => boolean;

type CompiledRule = { readonly decision: Decision; readonly selects: Selector; readonly args: ArgsCheck | null };

type CompiledRole = { readonly allow: CompiledRule[]; readonly deny: CompiledRule[] };

/** What can apply to one target for one role set, in the order it is consulted. */
type Plan = {
  readonly denies: CompiledRule[];
  readonly allows: CompiledRule[];
  readonly visible: boolean;
  /** Set when no argument can change the outcome. */
  readonly fixed: Decision | null;
};

type RoleSet = { readonly allow: CompiledRule[]; readonly deny: CompiledRule[]; readonly plans: Map<string, Plan> };

const NO_RBAC: Decision = Object.freeze({ allowed: true, rule: "no-rbac" });
const DEFAULT_DENY: Decision = Object.freeze({ allowed: false, rule: "default-deny" });
const NO_ARGS: Readonly<Record<string, unknown>> = Object.freeze({});

// Names and role lists come from callers, so the caches are bounded: past the
// bound a cache starts over, which costs only recompilation.
const MAX_ROLE_SETS = 1024;
const MAX_PLANS = 10_000;

export class Rbac {
  private readonly roles: ReadonlyMap<string, CompiledRole> | null;
  /** Keyed by the caller's roles as given. */
  private readonly byRoles = new Map<string, RoleSet>();
  /** Keyed by the known roles, sorted: callers listing the same roles share plans. */
  private readonly byKnown = new Map<string, RoleSet>();

  /** `null`: no RBAC configured, everything is allowed. Throws on an invalid args pattern. */
  static compile(config: Config["rbac"]): Rbac {
    return new Rbac(config);
  }

  private constructor(config: Config["rbac"]) {
    this.roles = config
      ? new Map(
          Object.entries(config.roles).map(([role, r]) => [
            role,
            { allow: r.allow.map((rule, i) => compileRule(rule, role, "allow", i)), deny: r.deny.map((rule, i) => compileRule(rule, role, "deny", i)) },
          ]),
        )
      : null;
  }

  /** May an identity with `roles` call this target with these arguments? */
  decide(roles: readonly string[], kind: TargetKind, name: string, backend: string, args?: unknown): Decision {
    if (this.roles === null) return NO_RBAC;
    const plan = this.plan(roles, kind, name, backend);
    if (plan.fixed !== null) return plan.fixed;
    const a = isRecord(args) ? args : NO_ARGS;
    for (const r of plan.denies) if (r.args === null || r.args(a)) return r.decision;
    for (const r of plan.allows) if (r.args === null || r.args(a)) return r.decision;
    return DEFAULT_DENY;
  }

  /**
   * Should this target appear in the identity's lists? Yes when some call to it
   * could be allowed: an allow rule selects it (whatever its args) and no deny
   * rule without args does. A deny with args blocks only some calls.
   */
  visible(roles: readonly string[], kind: TargetKind, name: string, backend: string): boolean {
    return this.roles === null || this.plan(roles, kind, name, backend).visible;
  }

  private plan(roles: readonly string[], kind: TargetKind, name: string, backend: string): Plan {
    const set = this.roleSet(roles);
    const key = `${kind}\u0000${backend}\u0000${name}`;
    let plan = set.plans.get(key);
    if (plan === undefined) {
      if (set.plans.size >= MAX_PLANS) set.plans.clear();
      plan = makePlan(set, kind, name, backend);
      set.plans.set(key, plan);
    }
    return plan;
  }

  private roleSet(roles: readonly string[]): RoleSet {
    const key = roles.length === 1 ? roles[0]! : roles.join("\u0000");
    let set = this.byRoles.get(key);
    if (set !== undefined) return set;
    const known = [...new Set(roles)].filter((r) => this.roles!.has(r)).sort();
    const knownKey = known.join("\u0000");
    set = this.byKnown.get(knownKey);
    if (set === undefined) {
      const compiled = known.map((r) => this.roles!.get(r)!);
      set = { allow: compiled.flatMap((r) => r.allow), deny: compiled.flatMap((r) => r.deny), plans: new Map() };
      // byKnown is bounded by the config's role subsets callers actually hold; still cap it.
      if (this.byKnown.size >= MAX_ROLE_SETS) this.byKnown.clear();
      this.byKnown.set(knownKey, set);
    }
    if (this.byRoles.size >= MAX_ROLE_SETS) this.byRoles.clear();
    this.byRoles.set(key, set);
    return set;
  }
}

function makePlan(set: RoleSet, kind: TargetKind, name: string, backend: string): Plan {
  const denies = set.deny.filter((r) => r.selects(kind, name, backend));
  const allows = set.allow.filter((r) => r.selects(kind, name, backend));
  const visible = allows.length > 0 && !denies.some((r) => r.args === null);
  let fixed: Decision | null = null;
  if (denies.length > 0) fixed = denies[0]!.args === null ? denies[0]!.decision : null;
  else if (allows.length === 0) fixed = DEFAULT_DENY;
  else if (allows[0]!.args === null) fixed = allows[0]!.decision;
  return { denies, allows, visible, fixed };
}

function compileRule(rule: Rule, role: string, effect: Effect, index: number): CompiledRule {
  return {
    decision: Object.freeze({ allowed: effect === "allow", rule: `${role}.${effect}[${index}]` }),
    selects: compileSelector(rule),
    args: rule.args ? compileArgs(rule.args, effect) : null,
  };
}

function compileSelector(rule: Rule): Selector {
  const backends = rule.backends ? compileGlobs(rule.backends) : null;
  const names = {
    tool: rule.tools ? compileGlobs(rule.tools) : null,
    prompt: rule.prompts ? compileGlobs(rule.prompts) : null,
    resource: rule.resources ? compileGlobs(rule.resources) : null,
  };
  const namesAKind = names.tool !== null || names.prompt !== null || names.resource !== null;
  if (!namesAKind) {
    if (backends === null) return () => false;
    return (_kind, _name, backend) => backends(backend);
  }
  return (kind, name, backend) => {
    const byName = names[kind];
    return byName !== null && byName(name) && (backends === null || backends(backend));
  };
}

function isRecord(x: unknown): x is Readonly<Record<string, unknown>> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}
