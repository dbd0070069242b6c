// Call budgets per identity. Each call may draw on up to three kinds of budget,
// all for the calling identity (`sub`):
// - its own: the most generous rate among its roles listed in `roles`, else `perIdentity`;
// - the backend's, when `backends` has a rate for the called backend;
// - each `tools` key matching the exposed tool name. A key is an exact name or a
//   glob (`*__delete_*`); a glob key is ONE budget shared by all the tools it matches.
// A call goes ahead only if every applicable budget has a token, and then takes
// one from each: a refused call spends nothing.

import type { Config, Identity, Rate } from "../config/load.ts";
import { compileGlobs, isGlob } from "./glob.ts";
import { monotonic, TokenBucket, type Clock } from "./rate-limit-bucket.ts";

export { TokenBucket, type Clock } from "./rate-limit-bucket.ts";

export type RateLimitExceeded = { retryAfterMs: number; limit: string };

export type RateLimiterOptions = {
  /** Identities tracked at most; beyond it idle ones go first, then the oldest. */
  maxIdentities?: number;
  /** How often idle (full again) buckets are dropped. */
  sweepEveryMs?: number;
};

type Budget = { readonly key: string; readonly rate: Rate; readonly label: string };

type Buckets = { own: TokenBucket | null; readonly backends: Map<string, TokenBucket>; readonly tools: Map<string, TokenBucket> };

const MAX_CACHED_TOOLS = 10_000;
const NONE: readonly Budget[] = [];

export class RateLimiter {
  private readonly perIdentity: Budget | null;
  // Maps, not the config's objects: a role or backend called "constructor" must find nothing.
  private readonly roles: ReadonlyMap<string, Budget>;
  private readonly backends: ReadonlyMap<string, Budget>;
  private readonly exactTools: ReadonlyMap<string, Budget>;
  private readonly globTools: readonly (readonly [(name: string) => boolean, Budget])[];
  private readonly toolCache = new Map<string, readonly Budget[]>();
  private readonly state = new Map<string, Buckets>();
  private readonly maxIdentities: number;
  private readonly sweepEveryMs: number;
  private lastSweep: number;

  constructor(
    config: Config["rateLimits"],
    private readonly now: Clock = monotonic,
    options: RateLimiterOptions = {},
  ) {
    const budgets = (kind: string, rates: Record<string, Rate>) =>
      Object.entries(rates).map(([key, rate]) => ({ key, rate, label: `${kind} ${key} ${rate.text}` }));
    this.perIdentity = config.perIdentity ? { key: "", rate: config.perIdentity, label: `perIdentity ${config.perIdentity.text}` } : null;
    this.roles = new Map(budgets("role", config.roles).map((b) => [b.key, b]));
    this.backends = new Map(budgets("backend", config.backends).map((b) => [b.key, b]));
    const tools = budgets("tool", config.tools);
    this.exactTools = new Map(tools.filter((b) => !isGlob(b.key)).map((b) => [b.key, b]));
    this.globTools = tools.filter((b) => isGlob(b.key)).map((b) => [compileGlobs([b.key]), b] as const);
    this.maxIdentities = options.maxIdentities ?? 100_000;
    this.sweepEveryMs = options.sweepEveryMs ?? 60_000;
    this.lastSweep = now();
  }

  /** Identities with buckets held now. */
  get size(): number {
    return this.state.size;
  }

  /**
   * Spends one call of every budget that applies, or none and says which budget
   * is exhausted (the one with the longest wait) and when to retry.
   * `tool`: the exposed tool name, or null for calls that are not tool calls.
   */
  check(identity: Identity, backend: string, tool: string | null): RateLimitExceeded | null {
    const t = this.now();
    if (t - this.lastSweep >= this.sweepEveryMs) this.sweep(t);
    const own = this.ownBudget(identity.roles);
    const forBackend = this.backends.get(backend) ?? null;
    const forTool = tool === null ? NONE : this.toolBudgets(tool);
    if (own === null && forBackend === null && forTool.length === 0) return null;

    const b = this.bucketsOf(identity.sub, t);
    const drawn: [TokenBucket, string][] = [];
    if (own !== null) {
      if (b.own === null) b.own = new TokenBucket(own.rate, this.now);
      else b.own.retune(own.rate, t);
      drawn.push([b.own, own.label]);
    }
    if (forBackend !== null) drawn.push([bucket(b.backends, forBackend, this.now), forBackend.label]);
    for (const budget of forTool) drawn.push([bucket(b.tools, budget, this.now), budget.label]);

    let exceeded: RateLimitExceeded | null = null;
    for (const [bucket, label] of drawn) {
      const wait = bucket.wait(t);
      if (wait > 0 && (exceeded === null || wait > exceeded.retryAfterMs)) exceeded = { retryAfterMs: wait, limit: label };
    }
    if (exceeded !== null) return exceeded;
    for (const [bucket] of drawn) bucket.take(t);
    return null;
  }

  /** Drops identities whose buckets are all full again: they would be recreated identical. */
  sweep(t = this.now()): void {
    this.lastSweep = t;
    for (const [sub, b] of this.state) if (isIdle(b, t)) this.state.delete(sub);
  }

  private bucketsOf(sub: string, t: number): Buckets {
    let b = this.state.get(sub);
    if (b !== undefined) return b;
    if (this.state.size >= this.maxIdentities) this.makeRoom(t);
    b = { own: null, backends: new Map(), tools: new Map() };
    this.state.set(sub, b);
    return b;
  }

  private makeRoom(t: number): void {
    this.sweep(t);
    if (this.state.size < this.maxIdentities) return;
    // Every tracked identity is mid-budget: forget the oldest, down to 90% so
    // that the next newcomers do not each pay for a full sweep. A forgotten
    // identity gets a fresh budget, which is the price of bounded memory.
    const target = Math.floor(this.maxIdentities * 0.9);
    for (const sub of this.state.keys()) {
      if (this.state.size <= target) break;
      this.state.delete(sub);
    }
  }

  private ownBudget(roles: readonly string[]): Budget | null {
    let best: Budget | null = null;
    for (const role of roles) {
      const budget = this.roles.get(role);
      if (budget !== undefined && (best === null || moreGenerous(budget.rate, best.rate))) best = budget;
    }
    return best ?? this.perIdentity;
  }

  private toolBudgets(tool: string): readonly Budget[] {
    let budgets = this.toolCache.get(tool);
    if (budgets === undefined) {
      const exact = this.exactTools.get(tool);
      const found = this.globTools.filter(([matches]) => matches(tool)).map(([, b]) => b);
      budgets = exact === undefined ? found : [exact, ...found];
      // Tool names come from callers; bound the cache, recomputing is cheap.
      if (this.toolCache.size >= MAX_CACHED_TOOLS) this.toolCache.clear();
      this.toolCache.set(tool, budgets.length === 0 ? NONE : budgets);
    }
    return budgets;
  }
}

function bucket(map: Map<string, TokenBucket>, budget: Budget, now: Clock): TokenBucket {
  let b = map.get(budget.key);
  if (b === undefined) {
    b = new TokenBucket(budget.rate, now);
    map.set(budget.key, b);
  }
  return b;
}

/** More calls per unit of time; at equal speed, the larger burst. */
function moreGenerous(a: Rate, b: Rate): boolean {
  const ra = a.limit / a.periodMs;
  const rb = b.limit / b.periodMs;
  return ra > rb || (ra === rb && a.limit > b.limit);
}

function isIdle(b: Buckets, t: number): boolean {
  if (b.own !== null && !b.own.isFull(t)) return false;
  for (const x of b.backends.values()) if (!x.isFull(t)) return false;
  for (const x of b.tools.values()) if (!x.isFull(t)) return false;
  return true;
}
