import { describe, expect, test } from "bun:test";
import { parseRate, type Config, type Identity } from "../../src/config/load.ts";
import { RateLimiter, TokenBucket } from "../../src/policy/rate-limit.ts";

/** A clock the test moves by hand. */
function clock(start = 1_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

type Limits = { perIdentity?: string; roles?: Record<string, string>; backends?: Record<string, string>; tools?: Record<string, string> };

function limits(l: Limits): Config["rateLimits"] {
  const rates = (o: Record<string, string> = {}) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, parseRate(v)]));
  return { perIdentity: l.perIdentity ? parseRate(l.perIdentity) : null, roles: rates(l.roles), backends: rates(l.backends), tools: rates(l.tools) };
}

const alice: Identity = { sub: "alice", roles: [] };
const bob: Identity = { sub: "bob", roles: [] };

describe("TokenBucket", () => {
  test("starts full, empties, and says how long until the next token", () => {
    const c = clock();
    const b = new TokenBucket(parseRate("10/min"), c.now);
    for (let i = 0; i < 10; i++) expect(b.take()).toBe(0);
    expect(b.take()).toBe(6000);
    c.advance(1000);
    expect(b.take()).toBe(5000);
    c.advance(4999);
    expect(b.take()).toBe(1);
    c.advance(1);
    expect(b.take()).toBe(0);
    expect(b.take()).toBe(6000);
  });

  test("a refused take spends nothing", () => {
    const c = clock();
    const b = new TokenBucket(parseRate("1/s"), c.now);
    expect(b.take()).toBe(0);
    c.advance(500);
    for (let i = 0; i < 5; i++) expect(b.take()).toBe(500);
    c.advance(500);
    expect(b.take()).toBe(0);
  });

  test("waiting the answer is always enough, even with uneven intervals", () => {
    const c = clock();
    const b = new TokenBucket(parseRate("3/s"), c.now);
    for (let i = 0; i < 3; i++) b.take();
    for (let i = 0; i < 50; i++) {
      const wait = b.take();
      expect(wait).toBeGreaterThan(0);
      expect(wait).toBeLessThanOrEqual(334);
      c.advance(wait);
      expect(b.take()).toBe(0);
    }
  });

  test("refill is capped at the limit", () => {
    const c = clock();
    const b = new TokenBucket(parseRate("2/s"), c.now);
    b.take();
    c.advance(3_600_000);
    expect(b.isFull()).toBe(true);
    expect([b.take(), b.take()]).toEqual([0, 0]);
    expect(b.take()).toBe(500);
  });

  test("0/min refuses everything and answers a period", () => {
    const b = new TokenBucket(parseRate("0/min"), clock().now);
    expect(b.take()).toBe(60_000);
  });
});

describe("RateLimiter", () => {
  test("per identity: each identity has its own budget", () => {
    const c = clock();
    const rl = new RateLimiter(limits({ perIdentity: "2/min" }), c.now);
    expect(rl.check(alice, "n8n", "n8n__run")).toBeNull();
    expect(rl.check(alice, "github", null)).toBeNull();
    expect(rl.check(alice, "n8n", "n8n__run")).toEqual({ retryAfterMs: 30_000, limit: "perIdentity 2/min" });
    expect(rl.check(bob, "n8n", "n8n__run")).toBeNull();
    c.advance(30_000);
    expect(rl.check(alice, "n8n", "n8n__run")).toBeNull();
    expect(rl.check(alice, "n8n", "n8n__run")?.retryAfterMs).toBe(30_000);
  });

  test("nothing configured: every call passes and nothing is kept", () => {
    const rl = new RateLimiter(limits({}), clock().now);
    for (let i = 0; i < 100; i++) expect(rl.check({ sub: `u${i}`, roles: ["x"] }, "b", "t")).toBeNull();
    expect(rl.size).toBe(0);
  });

  test("a listed role overrides perIdentity; with several, the most generous wins", () => {
    const c = clock();
    const rl = new RateLimiter(limits({ perIdentity: "1/min", roles: { analyst: "3/min", batch: "120/h", burst: "3/s" } }), c.now);
    const spend = (id: Identity) => {
      let n = 0;
      while (rl.check(id, "b", null) === null) n++;
      return [n, rl.check(id, "b", null)?.limit];
    };
    expect(spend({ sub: "a", roles: ["analyst"] })).toEqual([3, "role analyst 3/min"]);
    // 120/h is 2/min: analyst's 3/min is more generous.
    expect(spend({ sub: "b", roles: ["batch", "analyst"] })).toEqual([3, "role analyst 3/min"]);
    expect(spend({ sub: "c", roles: ["analyst", "burst"] })).toEqual([3, "role burst 3/s"]);
    expect(spend({ sub: "d", roles: ["unlisted", "constructor"] })).toEqual([1, "perIdentity 1/min"]);
  });

  test("a role without perIdentity limits only identities holding it", () => {
    const rl = new RateLimiter(limits({ roles: { trial: "1/min" } }), clock().now);
    expect(rl.check({ sub: "t", roles: ["trial"] }, "b", null)).toBeNull();
    expect(rl.check({ sub: "t", roles: ["trial"] }, "b", null)?.limit).toBe("role trial 1/min");
    for (let i = 0; i < 5; i++) expect(rl.check({ sub: "u", roles: [] }, "b", null)).toBeNull();
  });

  test("changing roles keeps what was spent", () => {
    const c = clock();
    const rl = new RateLimiter(limits({ perIdentity: "1/min", roles: { analyst: "2/min" } }), c.now);
    const asAnalyst = { sub: "alice", roles: ["analyst"] };
    expect(rl.check(asAnalyst, "b", null)).toBeNull();
    expect(rl.check(asAnalyst, "b", null)).toBeNull();
    expect(rl.check(alice, "b", null)).toEqual({ retryAfterMs: 60_000, limit: "perIdentity 1/min" });
  });

  test("backend budget: per identity and backend", () => {
    const rl = new RateLimiter(limits({ backends: { n8n: "1/min" } }), clock().now);
    expect(rl.check(alice, "n8n", "n8n__a")).toBeNull();
    expect(rl.check(alice, "n8n", "n8n__b")).toEqual({ retryAfterMs: 60_000, limit: "backend n8n 1/min" });
    expect(rl.check(alice, "github", "github__a")).toBeNull();
    expect(rl.check(bob, "n8n", "n8n__a")).toBeNull();
  });

  test("tool budget: exact names, and a glob key is one budget for all it matches", () => {
    const rl = new RateLimiter(limits({ tools: { n8n__execute_workflow: "1/min", "*__delete_*": "2/min" } }), clock().now);
    expect(rl.check(alice, "n8n", "n8n__execute_workflow")).toBeNull();
    expect(rl.check(alice, "n8n", "n8n__execute_workflow")?.limit).toBe("tool n8n__execute_workflow 1/min");
    expect(rl.check(alice, "n8n", "n8n__list")).toBeNull();
    expect(rl.check(alice, "github", "github__delete_repo")).toBeNull();
    expect(rl.check(alice, "n8n", "n8n__delete_flow")).toBeNull();
    expect(rl.check(alice, "n8n", "n8n__delete_other")).toEqual({ retryAfterMs: 30_000, limit: "tool *__delete_* 2/min" });
    // Not a tool call: tool budgets do not apply.
    expect(rl.check(alice, "n8n", null)).toBeNull();
    expect(rl.check(bob, "n8n", "n8n__delete_flow")).toBeNull();
  });

  test("no partial consumption: a refused call spends none of its budgets", () => {
    const c = clock();
    const rl = new RateLimiter(limits({ perIdentity: "3/min", backends: { n8n: "10/min" }, tools: { n8n__run: "1/min" } }), c.now);
    expect(rl.check(alice, "n8n", "n8n__run")).toBeNull();
    for (let i = 0; i < 5; i++) expect(rl.check(alice, "n8n", "n8n__run")?.limit).toBe("tool n8n__run 1/min");
    // perIdentity still has 2 of 3.
    expect(rl.check(alice, "n8n", "n8n__list")).toBeNull();
    expect(rl.check(alice, "n8n", "n8n__list")).toBeNull();
    expect(rl.check(alice, "n8n", "n8n__list")).toEqual({ retryAfterMs: 20_000, limit: "perIdentity 3/min" });
  });

  test("with several budgets exhausted, the answer is the longest wait", () => {
    const c = clock();
    const rl = new RateLimiter(limits({ perIdentity: "1/s", tools: { slow: "1/h" } }), c.now);
    expect(rl.check(alice, "b", "slow")).toBeNull();
    expect(rl.check(alice, "b", "slow")).toEqual({ retryAfterMs: 3_600_000, limit: "tool slow 1/h" });
    c.advance(1000);
    expect(rl.check(alice, "b", "slow")).toEqual({ retryAfterMs: 3_599_000, limit: "tool slow 1/h" });
    expect(rl.check(alice, "b", "fast")).toBeNull();
    expect(rl.check(alice, "b", "fast")).toEqual({ retryAfterMs: 1000, limit: "perIdentity 1/s" });
  });

  test("idle identities are swept, busy ones kept", () => {
    const c = clock();
    const rl = new RateLimiter(limits({ perIdentity: "10/min", tools: { t: "1/h" } }), c.now, { sweepEveryMs: 60_000 });
    for (let i = 0; i < 100; i++) rl.check({ sub: `u${i}`, roles: [] }, "b", "x");
    rl.check(alice, "b", "t");
    expect(rl.size).toBe(101);
    c.advance(60_000);
    // The sweep runs on the first check after its interval.
    rl.check(bob, "b", "x");
    expect(rl.size).toBe(2);
    // alice's tool budget was not forgotten.
    expect(rl.check(alice, "b", "t")?.limit).toBe("tool t 1/h");
  });

  test("memory is bounded even when every identity is busy", () => {
    const c = clock();
    const rl = new RateLimiter(limits({ perIdentity: "1/h" }), c.now, { maxIdentities: 100 });
    for (let i = 0; i < 1000; i++) rl.check({ sub: `u${i}`, roles: [] }, "b", null);
    expect(rl.size).toBeLessThanOrEqual(100);
    // The newest are kept: u999 is still over budget.
    expect(rl.check({ sub: "u999", roles: [] }, "b", null)?.limit).toBe("perIdentity 1/h");
  });

  test("at the bound, idle identities go before busy ones", () => {
    const c = clock();
    const rl = new RateLimiter(limits({ perIdentity: "1/min" }), c.now, { maxIdentities: 10, sweepEveryMs: 1e12 });
    rl.check(alice, "b", null);
    c.advance(60_000);
    for (let i = 0; i < 9; i++) rl.check({ sub: `u${i}`, roles: [] }, "b", null);
    expect(rl.size).toBe(10);
    rl.check(bob, "b", null);
    // alice was full again, so she was the one dropped; nothing else was.
    expect(rl.size).toBe(10);
    expect(rl.check({ sub: "u0", roles: [] }, "b", null)?.limit).toBe("perIdentity 1/min");
  });

  test("names that are Object.prototype keys find no budget", () => {
    const rl = new RateLimiter(limits({ backends: { n8n: "1/min" } }), clock().now);
    for (let i = 0; i < 3; i++) expect(rl.check({ sub: "constructor", roles: ["toString"] }, "constructor", "__proto__")).toBeNull();
  });
});
