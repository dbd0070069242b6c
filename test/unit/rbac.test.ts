import { describe, expect, test } from "bun:test";
import { parseConfig, type Config, type Rule } from "../../src/config/load.ts";
import { compileGlob, compileGlobs } from "../../src/policy/glob.ts";
import { Rbac } from "../../src/policy/rbac.ts";

type Roles = Record<string, { allow?: Rule[]; deny?: Rule[] }>;

function rbac(roles: Roles): Rbac {
  const config: NonNullable<Config["rbac"]> = {
    roles: Object.fromEntries(Object.entries(roles).map(([k, r]) => [k, { allow: r.allow ?? [], deny: r.deny ?? [] }])),
  };
  return Rbac.compile(config);
}

describe("glob", () => {
  test("* crosses _, / and :, and may be empty", () => {
    const re = compileGlob("*__delete_*");
    expect(re.test("github__delete_repo")).toBe(true);
    expect(re.test("a_b/c:d__delete_")).toBe(true);
    expect(re.test("github__create_repo")).toBe(false);
    expect(compileGlob("file:///data/*").test("file:///data/a/b.txt")).toBe(true);
  });

  test("? is exactly one character", () => {
    const re = compileGlob("tool?");
    expect(re.test("tool1")).toBe(true);
    expect(re.test("tool")).toBe(false);
    expect(re.test("tool12")).toBe(false);
    expect(re.test("toolé")).toBe(true);
  });

  test("regex specials are literal and the match is anchored", () => {
    expect(compileGlob("a.b").test("axb")).toBe(false);
    expect(compileGlob("a.b").test("a.b")).toBe(true);
    expect(compileGlob("f(x)+[y]{2}|z^$\\/").test("f(x)+[y]{2}|z^$\\/")).toBe(true);
    expect(compileGlob("sqlite__query").test("xsqlite__query")).toBe(false);
    expect(compileGlob("sqlite__query").test("sqlite__query2")).toBe(false);
  });

  test("lists: exact names, globs, empty", () => {
    expect(compileGlobs([])("x")).toBe(false);
    const exact = compileGlobs(["a", "b"]);
    expect([exact("a"), exact("b"), exact("c")]).toEqual([true, true, false]);
    const mixed = compileGlobs(["a", "n8n__*"]);
    expect([mixed("a"), mixed("n8n__x"), mixed("ab")]).toEqual([true, true, false]);
  });
});

describe("rbac: decide", () => {
  test("no RBAC configured: everything allowed", () => {
    const r = Rbac.compile(null);
    expect(r.decide([], "tool", "x__y", "x", {})).toEqual({ allowed: true, rule: "no-rbac" });
    expect(r.visible([], "resource", "file:///etc/passwd", "fs")).toBe(true);
  });

  test("default deny: no matching rule, no roles, unknown roles", () => {
    const r = rbac({ dev: { allow: [{ tools: ["github__*"] }] } });
    expect(r.decide(["dev"], "tool", "n8n__run", "n8n")).toEqual({ allowed: false, rule: "default-deny" });
    expect(r.decide([], "tool", "github__x", "github")).toEqual({ allowed: false, rule: "default-deny" });
    expect(r.decide(["nobody", "constructor"], "tool", "github__x", "github")).toEqual({ allowed: false, rule: "default-deny" });
    expect(r.decide(["dev", "nobody"], "tool", "github__x", "github")).toEqual({ allowed: true, rule: "dev.allow[0]" });
  });

  test("globs over exposed names; the rule name is role.effect[index]", () => {
    const r = rbac({ developer: { allow: [{ tools: ["sqlite__query"] }, { tools: ["github__*", "n8n__execute_workflow"] }] } });
    expect(r.decide(["developer"], "tool", "sqlite__query", "sqlite").rule).toBe("developer.allow[0]");
    expect(r.decide(["developer"], "tool", "github__create_issue", "github").rule).toBe("developer.allow[1]");
    expect(r.decide(["developer"], "tool", "n8n__execute_workflow", "n8n").rule).toBe("developer.allow[1]");
    expect(r.decide(["developer"], "tool", "n8n__list", "n8n").allowed).toBe(false);
  });

  test("deny wins over allow, across roles and whatever their order", () => {
    const r = rbac({
      admin: { allow: [{ tools: ["*"] }] },
      careful: { allow: [{ tools: ["github__*"] }], deny: [{ tools: ["*__delete_*"] }, { tools: ["github__*"] }] },
    });
    expect(r.decide(["admin", "careful"], "tool", "n8n__delete_workflow", "n8n")).toEqual({ allowed: false, rule: "careful.deny[0]" });
    expect(r.decide(["careful", "admin"], "tool", "n8n__delete_workflow", "n8n")).toEqual({ allowed: false, rule: "careful.deny[0]" });
    expect(r.decide(["admin", "careful"], "tool", "github__x", "github")).toEqual({ allowed: false, rule: "careful.deny[1]" });
    expect(r.decide(["admin", "careful"], "tool", "n8n__run", "n8n")).toEqual({ allowed: true, rule: "admin.allow[0]" });
    expect(r.decide(["admin"], "tool", "n8n__delete_workflow", "n8n")).toEqual({ allowed: true, rule: "admin.allow[0]" });
  });

  test("several roles: the union of their allows", () => {
    const r = rbac({ analyst: { allow: [{ tools: ["sqlite__query"] }] }, developer: { allow: [{ tools: ["github__*"] }] } });
    const roles = ["analyst", "developer"];
    expect(r.decide(roles, "tool", "sqlite__query", "sqlite").rule).toBe("analyst.allow[0]");
    expect(r.decide(roles, "tool", "github__pr", "github").rule).toBe("developer.allow[0]");
    expect(r.decide(["analyst"], "tool", "github__pr", "github").allowed).toBe(false);
  });

  test("a backends-only rule covers the backend's tools, prompts and resources", () => {
    const r = rbac({ ops: { allow: [{ backends: ["n8n", "git*"] }] } });
    expect(r.decide(["ops"], "tool", "n8n__anything", "n8n").rule).toBe("ops.allow[0]");
    expect(r.decide(["ops"], "prompt", "n8n__summary", "n8n").allowed).toBe(true);
    expect(r.decide(["ops"], "resource", "file:///x", "github").allowed).toBe(true);
    expect(r.decide(["ops"], "tool", "sqlite__query", "sqlite").allowed).toBe(false);
  });

  test("backends with tools: both must match; kinds the rule does not name are not covered", () => {
    const r = rbac({ dev: { allow: [{ backends: ["github"], tools: ["*read*"] }] } });
    expect(r.decide(["dev"], "tool", "github__read_file", "github").allowed).toBe(true);
    expect(r.decide(["dev"], "tool", "gitlab__read_file", "gitlab").allowed).toBe(false);
    expect(r.decide(["dev"], "tool", "github__write_file", "github").allowed).toBe(false);
    expect(r.decide(["dev"], "prompt", "github__read_me", "github").allowed).toBe(false);
  });

  test("each kind is matched by its own list", () => {
    const r = rbac({
      u: { allow: [{ tools: ["x__a"] }, { prompts: ["x__p*"] }, { resources: ["file:///data/*"] }] },
    });
    expect(r.decide(["u"], "tool", "x__a", "x").rule).toBe("u.allow[0]");
    expect(r.decide(["u"], "prompt", "x__a", "x").allowed).toBe(false);
    expect(r.decide(["u"], "prompt", "x__plan", "x").rule).toBe("u.allow[1]");
    expect(r.decide(["u"], "tool", "x__plan", "x").allowed).toBe(false);
    expect(r.decide(["u"], "resource", "file:///data/a/b.csv", "fs").rule).toBe("u.allow[2]");
    expect(r.decide(["u"], "resource", "file:///etc/passwd", "fs").allowed).toBe(false);
  });

  test("a rule selecting nothing matches nothing", () => {
    const r = rbac({ u: { allow: [{}, { args: { a: 1 } }] } });
    expect(r.decide(["u"], "tool", "x__a", "x", { a: 1 }).allowed).toBe(false);
  });
});

describe("rbac: argument constraints", () => {
  const r = rbac({
    analyst: {
      allow: [
        { tools: ["sqlite__query"], args: { readonly: true, query: { pattern: "^SELECT" } } },
        { tools: ["n8n__run"], args: { mode: { in: ["a", "b"] } } },
        { tools: ["fs__read"], args: { path: { not: "/etc/passwd" } } },
        { tools: ["fs__read_any"] },
      ],
    },
  });
  test("allow applies only when every constraint holds", () => {
    const ok = r.decide(["analyst"], "tool", "sqlite__query", "sqlite", { readonly: true, query: "SELECT 1" });
    expect(ok).toEqual({ allowed: true, rule: "analyst.allow[0]" });
    expect(r.decide(["analyst"], "tool", "sqlite__query", "sqlite", { readonly: false, query: "SELECT 1" }).allowed).toBe(false);
    expect(r.decide(["analyst"], "tool", "sqlite__query", "sqlite", { readonly: true, query: "DELETE FROM t" }).allowed).toBe(false);
    expect(r.decide(["analyst"], "tool", "sqlite__query", "sqlite", { readonly: "true", query: "SELECT 1" }).allowed).toBe(false);
    expect(r.decide(["analyst"], "tool", "n8n__run", "n8n", { mode: "b" }).rule).toBe("analyst.allow[1]");
    expect(r.decide(["analyst"], "tool", "n8n__run", "n8n", { mode: "c" }).rule).toBe("default-deny");
  });

  test("a missing argument fails a constraint, except `not`", () => {
    expect(r.decide(["analyst"], "tool", "sqlite__query", "sqlite", { query: "SELECT 1" }).allowed).toBe(false);
    expect(r.decide(["analyst"], "tool", "n8n__run", "n8n", {}).allowed).toBe(false);
    expect(r.decide(["analyst"], "tool", "n8n__run", "n8n").allowed).toBe(false);
    expect(r.decide(["analyst"], "tool", "fs__read", "fs", {}).rule).toBe("analyst.allow[2]");
    expect(r.decide(["analyst"], "tool", "fs__read", "fs", { path: "/tmp/x" }).rule).toBe("analyst.allow[2]");
    expect(r.decide(["analyst"], "tool", "fs__read", "fs", { path: "/etc/passwd" }).allowed).toBe(false);
  });

  test("arguments come from the call's own properties only", () => {
    const x = rbac({ u: { allow: [{ tools: ["t"], args: { constructor: { not: null }, toString: { pattern: "." } } }] } });
    expect(x.decide(["u"], "tool", "t", "b", {}).allowed).toBe(false);
    expect(x.decide(["u"], "tool", "t", "b", { toString: "y" }).allowed).toBe(true);
    // Not an object: no arguments at all.
    expect(x.decide(["u"], "tool", "t", "b", ["y"]).allowed).toBe(false);
    expect(x.decide(["u"], "tool", "t", "b", "toString").allowed).toBe(false);
  });

  test("exact values: strict for primitives, deep for structures in `in` / `not`", () => {
    const x = rbac({
      u: {
        allow: [
          { tools: ["n"], args: { n: 1 } },
          { tools: ["z"], args: { z: null } },
          { tools: ["o"], args: { o: { in: [{ a: [1, 2] }, 3] } } },
          { tools: ["p"], args: { p: { not: { a: 1 } } } },
        ],
      },
    });
    expect(x.decide(["u"], "tool", "n", "b", { n: 1 }).allowed).toBe(true);
    expect(x.decide(["u"], "tool", "n", "b", { n: "1" }).allowed).toBe(false);
    expect(x.decide(["u"], "tool", "z", "b", { z: null }).allowed).toBe(true);
    expect(x.decide(["u"], "tool", "z", "b", {}).allowed).toBe(false);
    expect(x.decide(["u"], "tool", "o", "b", { o: { a: [1, 2] } }).allowed).toBe(true);
    expect(x.decide(["u"], "tool", "o", "b", { o: { a: [1, 2, 3] } }).allowed).toBe(false);
    expect(x.decide(["u"], "tool", "o", "b", { o: 3 }).allowed).toBe(true);
    expect(x.decide(["u"], "tool", "p", "b", { p: { a: 1 } }).allowed).toBe(false);
    expect(x.decide(["u"], "tool", "p", "b", { p: { a: 2 } }).allowed).toBe(true);
  });

  test("deny applies only when every constraint holds; a missing argument fails it", () => {
    const x = rbac({
      analyst: {
        allow: [{ tools: ["sqlite__*"] }],
        deny: [
          { tools: ["sqlite__*"], args: { query: { pattern: "[Dd][Rr][Oo][Pp]" }, confirm: { not: true } } },
          { tools: ["sqlite__exec"], args: { db: "prod" } },
        ],
      },
    });
    const d = (args: unknown) => x.decide(["analyst"], "tool", "sqlite__exec", "sqlite", args);
    expect(d({ query: "DROP TABLE t" })).toEqual({ allowed: false, rule: "analyst.deny[0]" });
    expect(d({ query: "DROP TABLE t", confirm: true })).toEqual({ allowed: true, rule: "analyst.allow[0]" });
    expect(d({ query: "SELECT 1" })).toEqual({ allowed: true, rule: "analyst.allow[0]" });
    expect(d({})).toEqual({ allowed: true, rule: "analyst.allow[0]" });
    expect(d({ db: "prod" })).toEqual({ allowed: false, rule: "analyst.deny[1]" });
    expect(d({ db: "dev" }).allowed).toBe(true);
  });

  test("patterns on structured values: an allow fails, a deny looks inside", () => {
    const x = rbac({
      u: {
        allow: [{ tools: ["q"], args: { sql: { pattern: "^SELECT" } } }, { tools: ["w"] }, { tools: ["n"], args: { n: { pattern: "^\\d+$" } } }],
        deny: [{ tools: ["w"], args: { sql: { pattern: "DROP" } } }],
      },
    });
    expect(x.decide(["u"], "tool", "q", "b", { sql: ["SELECT 1"] }).allowed).toBe(false);
    expect(x.decide(["u"], "tool", "q", "b", { sql: { s: "SELECT 1" } }).allowed).toBe(false);
    expect(x.decide(["u"], "tool", "w", "b", { sql: ["x", "DROP TABLE t"] }).rule).toBe("u.deny[0]");
    expect(x.decide(["u"], "tool", "w", "b", { sql: ["x"] }).rule).toBe("u.allow[1]");
    expect(x.decide(["u"], "tool", "n", "b", { n: 42 }).allowed).toBe(true);
  });

  test("a conditional result is never cached as final", () => {
    const x = rbac({ u: { allow: [{ tools: ["t"], args: { a: 1 } }, { tools: ["t"] }], deny: [{ tools: ["t"], args: { a: 2 } }] } });
    for (let i = 0; i < 3; i++) {
      expect(x.decide(["u"], "tool", "t", "b", { a: 1 }).rule).toBe("u.allow[0]");
      expect(x.decide(["u"], "tool", "t", "b", { a: 3 }).rule).toBe("u.allow[1]");
      expect(x.decide(["u"], "tool", "t", "b", { a: 2 }).rule).toBe("u.deny[0]");
    }
  });

  test("an invalid pattern fails at compile time, not on a call", () => {
    expect(() => rbac({ u: { deny: [{ tools: ["t"], args: { q: { pattern: "(?i)drop" } } }] } })).toThrow(SyntaxError);
  });
});

describe("rbac: visible", () => {
  const r = rbac({
    analyst: {
      allow: [{ tools: ["sqlite__query"], args: { query: { pattern: "^SELECT" } } }, { tools: ["fs__*"] }, { tools: ["n8n__*"] }],
      deny: [{ tools: ["fs__write"], args: { path: { pattern: "^/etc" } } }, { tools: ["n8n__delete_*"] }],
    },
  });
  const roles = ["analyst"];

  test("an allow with args makes the target visible though some calls are refused", () => {
    expect(r.visible(roles, "tool", "sqlite__query", "sqlite")).toBe(true);
    expect(r.decide(roles, "tool", "sqlite__query", "sqlite", { query: "DELETE" }).allowed).toBe(false);
  });

  test("a deny with args leaves the target visible; a deny without hides it", () => {
    expect(r.visible(roles, "tool", "fs__write", "fs")).toBe(true);
    expect(r.decide(roles, "tool", "fs__write", "fs", { path: "/etc/x" }).rule).toBe("analyst.deny[0]");
    expect(r.decide(roles, "tool", "fs__write", "fs", { path: "/tmp/x" }).rule).toBe("analyst.allow[1]");
    expect(r.visible(roles, "tool", "n8n__delete_flow", "n8n")).toBe(false);
    expect(r.visible(roles, "tool", "n8n__run", "n8n")).toBe(true);
  });

  test("nothing allowed, nothing visible", () => {
    expect(r.visible(roles, "tool", "github__x", "github")).toBe(false);
    expect(r.visible([], "tool", "fs__read", "fs")).toBe(false);
    expect(r.visible(["other"], "tool", "fs__read", "fs")).toBe(false);
  });
});

describe("rbac: from a config file", () => {
  test("the loader's output compiles and decides", () => {
    const config = parseConfig(
      `
rbac:
  roles:
    analyst:
      allow:
        - tools: sqlite__query
          args: { query: { pattern: "^SELECT" } }
        - backends: docs
      deny:
        - tools: "*__delete_*"
`,
      "/etc/sentinel/sentinel.yaml",
      {},
    );
    const r = Rbac.compile(config.rbac);
    expect(r.decide(["analyst"], "tool", "sqlite__query", "sqlite", { query: "SELECT 1" }).rule).toBe("analyst.allow[0]");
    expect(r.decide(["analyst"], "prompt", "docs__intro", "docs").rule).toBe("analyst.allow[1]");
    expect(r.decide(["analyst"], "tool", "docs__delete_page", "docs").rule).toBe("analyst.deny[0]");
  });
});

describe("rbac: micro-benchmark", () => {
  test("prints ns per decide", () => {
    const roles: Roles = {};
    for (let i = 0; i < 10; i++) {
      roles[`role${i}`] = {
        allow: Array.from({ length: 10 }, (_, j) => ({ tools: [`b${j}__*`, `x${i}_${j}`] })),
        deny: [{ tools: ["*__delete_*"] }, { tools: ["b1__*"], args: { path: { pattern: "^/etc" } } }],
      };
    }
    roles.analyst = { allow: [{ tools: ["sqlite__query"], args: { readonly: true, query: { pattern: "^SELECT" } } }] };
    const r = rbac(roles);
    const who = ["role3", "role7", "analyst"];
    const args = { readonly: true, query: "SELECT * FROM t" };
    const cases: [string, () => unknown][] = [
      ["fixed (no args rule)", () => r.decide(who, "tool", "b4__read", "b4", args)],
      ["args allow (pattern)", () => r.decide(who, "tool", "sqlite__query", "sqlite", args)],
      ["conditional deny", () => r.decide(who, "tool", "b1__write", "b1", { path: "/tmp" })],
      ["visible", () => r.visible(who, "tool", "b4__read", "b4")],
    ];
    const n = 200_000;
    for (const [label, f] of cases) {
      for (let i = 0; i < 10_000; i++) f();
      const t0 = Bun.nanoseconds();
      for (let i = 0; i < n; i++) f();
      const ns = (Bun.nanoseconds() - t0) / n;
      console.log(`rbac bench: ${label}: ${ns.toFixed(0)} ns/op`);
    }
    expect(r.decide(who, "tool", "b4__read", "b4").allowed).toBe(true);
  });
});
