import { describe, expect, test } from "bun:test";
import { exposedName } from "../../src/dispatch/names.ts";

const VALID = /^[a-zA-Z0-9_-]+$/;

describe("exposedName", () => {
  test("short valid names are unchanged", () => {
    expect(exposedName("github__", "create_issue", 48)).toBe("github__create_issue");
    expect(exposedName("", "echo", 48)).toBe("echo");
    expect(exposedName("a-b__", "x-y_z9", 48)).toBe("a-b__x-y_z9");
  });

  test("a name exactly at maxLength is unchanged", () => {
    const name = "n".repeat(40);
    expect(exposedName("pfx_____", name, 48)).toBe("pfx_____" + name);
  });

  test.each([16, 32, 48, 64])("names over maxLength %i are shortened to fit and stay valid", (max) => {
    const name = "very_long_tool_name_".repeat(6);
    const out = exposedName("backend__", name, max);
    expect(out.length).toBeLessThanOrEqual(max);
    expect(out).toMatch(VALID);
    // Still recognisably derived from the original.
    expect(out.startsWith("backend__".slice(0, Math.min(9, max - 7)))).toBe(true);
  });

  test("a name one character over the limit is shortened", () => {
    const out = exposedName("p__", "x".repeat(46), 48);
    expect(out.length).toBeLessThanOrEqual(48);
    expect(out).not.toBe("p__" + "x".repeat(46));
  });

  test("deterministic", () => {
    const name = "some_really_long_name_that_will_not_fit_in_the_budget_at_all";
    expect(exposedName("b__", name, 32)).toBe(exposedName("b__", name, 32));
  });

  test("two long names sharing a long prefix map to different short names", () => {
    const common = "shared_prefix_that_is_longer_than_the_budget_allows_";
    const a = exposedName("b__", common + "alpha", 32);
    const b = exposedName("b__", common + "beta", 32);
    expect(a).not.toBe(b);
    expect(a.length).toBeLessThanOrEqual(32);
    expect(b.length).toBeLessThanOrEqual(32);
  });

  test("the same long name under two prefixes maps to different names", () => {
    const name = "x".repeat(80);
    expect(exposedName("a__", name, 48)).not.toBe(exposedName("b__", name, 48));
  });

  test.each([
    ["dots", "tools.read.file"],
    ["spaces", "read file"],
    ["unicode", "lire_le_fichier_é"],
    ["emoji", "run😀"],
    ["slash", "fs/read"],
  ])("invalid characters (%s) are replaced and hashed", (_label, name) => {
    const out = exposedName("b__", name, 48);
    expect(out).toMatch(VALID);
    expect(out.length).toBeLessThanOrEqual(48);
    expect(out).not.toBe("b__" + name);
    expect(out.startsWith("b__")).toBe(true);
  });

  test("names differing only in an invalid character do not collide", () => {
    // "a.b" and "a b" both sanitize to "a_b"; the hash must tell them apart.
    const x = exposedName("", "a.b", 48);
    const y = exposedName("", "a b", 48);
    expect(x).not.toBe(y);
    // And neither is the plain valid name "a_b".
    expect(x).not.toBe(exposedName("", "a_b", 48));
  });
});
