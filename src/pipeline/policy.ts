// The rules a call is judged by, compiled once from the config: RBAC, the
// configured and database kill switches, and the rate limits. The steps
// (steps.ts) ask; lists are filtered by the same rules, so a caller sees only
// what it may use.

import type { Config, Identity } from "../config/load.ts";
import { compileGlob } from "../policy/glob.ts";
import { Rbac, type Decision as RbacDecision, type TargetKind } from "../policy/rbac.ts";
import { RateLimiter, type RateLimitExceeded } from "../policy/rate-limit.ts";
import type { Switches } from "../policy/switches.ts";

export type { TargetKind };

type Rules = Pick<Config, "rbac" | "rateLimits" | "disabledTools"> & Partial<Pick<Config, "views">>;

/** A view compiled: each absent list lets everything of its kind through. */
type CompiledView = { backends: RegExp[] | null; tool: RegExp[] | null; prompt: RegExp[] | null; resource: RegExp[] | null };

// The config gives a list; a single glob is taken as one.
const compileAll = (globs: string | readonly string[] | undefined): RegExp[] | null =>
  globs === undefined ? null : (typeof globs === "string" ? [globs] : globs).map(compileGlob);
const anyMatch = (res: RegExp[] | null, text: string): boolean => res === null || res.some((re) => re.test(text));

export class Policy {
  private rbac!: Rbac;
  private limiter!: RateLimiter | null;
  private disabled!: RegExp[];
  private views!: Map<string, CompiledView>;

  constructor(
    config: Rules,
    private readonly switches: Switches | null,
    private readonly now?: () => number,
  ) {
    this.configure(config);
  }

  /**
   * Compiles the rules of a (reloaded) config; they decide from the next
   * request on. Rate-limit budgets start afresh under new limits.
   */
  configure(config: Rules): void {
    this.rbac = Rbac.compile(config.rbac);
    const limits = config.rateLimits;
    const any = limits.perIdentity || [limits.roles, limits.backends, limits.tools].some((m) => Object.keys(m).length > 0);
    this.limiter = any ? new RateLimiter(limits, this.now) : null;
    this.disabled = config.disabledTools.map(compileGlob);
    this.views = new Map(
      Object.entries(config.views ?? {}).map(([name, v]) => [
        name,
        { backends: compileAll(v.backends), tool: compileAll(v.tools), prompt: compileAll(v.prompts), resource: compileAll(v.resources) },
      ]),
    );
  }

  /**
   * Whether a view lets a target through: a filter, never a grant, so callers
   * ask RBAC as well. A view removed by a reload lets nothing through.
   */
  inView(view: string | null, kind: TargetKind, name: string, backend: string): boolean {
    if (view === null) return true;
    const v = this.views.get(view);
    return v !== undefined && anyMatch(v.backends, backend) && anyMatch(v[kind], name);
  }

  /** Whether `identity`, in `view`, may see a tool, prompt or resource in lists. */
  visible(identity: Identity, kind: TargetKind, name: string, backend: string, view: string | null = null): boolean {
    if (kind === "tool" && this.isDisabled(name, backend)) return false;
    return this.inView(view, kind, name, backend) && this.rbac.visible(identity.roles, kind, name, backend);
  }

  /** A key that is the same for identities (in a view) that see the same lists. */
  viewKey(identity: Identity, view: string | null = null): string {
    return `${view ?? ""}\u0000${identity.roles.join("\n")}`;
  }

  /** RBAC: may `identity` call this target with these arguments, and by which rule. */
  decide(identity: Identity, kind: TargetKind, name: string, backend: string, args: unknown): RbacDecision {
    return this.rbac.decide(identity.roles, kind, name, backend, args);
  }

  /** Kill switches: a tool name (glob) in the config, or a tool or backend switched off in the database. */
  isDisabled(name: string, backend: string): boolean {
    for (const re of this.disabled) if (re.test(name)) return true;
    return this.switches?.isDisabled(name, backend) ?? false;
  }

  /** Spends one call of every budget that applies, or says which is exhausted. */
  spend(identity: Identity, backend: string, tool: string | null): RateLimitExceeded | null {
    return this.limiter?.check(identity, backend, tool) ?? null;
  }
}
