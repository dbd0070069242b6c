import { describe, expect, test } from "bun:test";
import { templatePattern } from "../../src/dispatch/catalog.ts";

describe("templatePattern", () => {
  test("simple expansion matches one segment only", () => {
    const p = templatePattern("file:///{path}");
    expect(p.test("file:///readme.md")).toBe(true);
    expect(p.test("file:///a/b.txt")).toBe(false);
  });

  test("reserved expansion {+path} may contain slashes", () => {
    const p = templatePattern("file:///{+path}");
    expect(p.test("file:///a/b/c.txt")).toBe(true);
    expect(p.test("file:///readme.md")).toBe(true);
    expect(p.test("other:///a")).toBe(false);
  });

  test("fixture://x/items/{id}", () => {
    const p = templatePattern("fixture://x/items/{id}");
    expect(p.test("fixture://x/items/42")).toBe(true);
    expect(p.test("fixture://x/items/4/2")).toBe(false);
    expect(p.test("fixture://y/items/1")).toBe(false);
    expect(p.test("fixture://x/items/42/")).toBe(false);
    expect(p.test("prefix-fixture://x/items/42")).toBe(false);
  });

  test("several variables", () => {
    const p = templatePattern("db://{schema}/tables/{table}");
    expect(p.test("db://public/tables/users")).toBe(true);
    expect(p.test("db://public/tables/users/rows")).toBe(false);
  });

  test("regex special characters in the literal part are escaped", () => {
    const p = templatePattern("res://a.b+c(d)[e]$^|*?/{id}");
    expect(p.test("res://a.b+c(d)[e]$^|*?/1")).toBe(true);
    // "." must not match any character, "+" must not be a quantifier.
    expect(p.test("res://aXb+c(d)[e]$^|*?/1")).toBe(false);
    expect(p.test("res://a.bbc(d)[e]$^|*?/1")).toBe(false);
  });

  test("query expansion {?q} is optional", () => {
    const p = templatePattern("search://items{?q,limit}");
    expect(p.test("search://items")).toBe(true);
    expect(p.test("search://items?q=x&limit=2")).toBe(true);
    expect(p.test("search://other")).toBe(false);
  });

  test("a template without variables matches only itself", () => {
    const p = templatePattern("config://app.json");
    expect(p.test("config://app.json")).toBe(true);
    expect(p.test("config://appXjson")).toBe(false);
  });

  // RFC 6570 path-segment expansion {/var} expands to "/value".
  test("path-segment expansion {/seg} matches a leading slash", () => {
    const p = templatePattern("repo://x{/path}");
    expect(p.test("repo://x/readme")).toBe(true);
  });
});
