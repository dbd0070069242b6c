import { describe, expect, test } from "bun:test";
import { REDACTED, auditJson, isSecretKey, redact } from "../../src/audit/redact.ts";

describe("redact", () => {
  test("credential keys are redacted at the top level", () => {
    const input = {
      password: "p1",
      apiKey: "k1",
      api_key: "k2",
      "api-key": "k3",
      Authorization: "Bearer abc",
      access_token: "t1",
      client_secret: "s1",
      refreshToken: "t2",
      cookie: "c=1",
      query: "select 1",
    };
    const out = redact(input) as Record<string, unknown>;
    for (const k of ["password", "apiKey", "api_key", "api-key", "Authorization", "access_token", "client_secret", "refreshToken", "cookie"]) {
      expect(out[k]).toBe(REDACTED);
    }
    expect(out.query).toBe("select 1");
  });

  test("redacts at any depth, including inside arrays", () => {
    const input = {
      a: { b: { c: { password: "deep", keep: 1 } } },
      list: [{ token: "t" }, { name: "n", nested: [{ client_secret: "s" }] }],
    };
    const out = redact(input);
    expect(out).toEqual({
      a: { b: { c: { password: REDACTED, keep: 1 } } },
      list: [{ token: REDACTED }, { name: "n", nested: [{ client_secret: REDACTED }] }],
    });
    const json = JSON.stringify(out);
    for (const secret of ['"deep"', '"t"', '"s"']) expect(json).not.toContain(secret);
  });

  test("a credential key whose value is an object is redacted whole", () => {
    expect(redact({ auth: { user: "u", pw: "x" } })).toEqual({ auth: REDACTED });
  });

  test("other values are kept, including non-string types", () => {
    const input = { path: "/tmp/x", count: 3, flag: false, nothing: null, list: [1, "two"], nested: { id: "abc" } };
    expect(redact(input)).toEqual(input);
  });

  test("does not mutate its input", () => {
    const input = { password: "p", inner: { token: "t" } };
    redact(input);
    expect(input).toEqual({ password: "p", inner: { token: "t" } });
  });

  test("primitives pass through", () => {
    expect(redact("x")).toBe("x");
    expect(redact(5)).toBe(5);
    expect(redact(null)).toBeNull();
  });

  // Past the depth cap nothing is kept, so nothing secret slips through.
  test("a secret nested deeper than 32 levels is not stored in clear", () => {
    let value: Record<string, unknown> = { password: "hunter2-deep" };
    for (let i = 0; i < 40; i++) value = { next: value };
    const json = auditJson(value, 1_000_000)!;
    expect(json).not.toContain("hunter2-deep");
  });
});

describe("auditJson", () => {
  test("undefined gives null", () => {
    expect(auditJson(undefined, 100)).toBeNull();
  });

  test("small values are stored whole, redacted", () => {
    const json = auditJson({ q: "x", password: "p" }, 1000)!;
    expect(JSON.parse(json)).toEqual({ q: "x", password: REDACTED });
  });

  test("oversized documents are cut but remain valid JSON", () => {
    const value = { text: "a\"b\\c".repeat(2000), password: "secret-value" };
    const json = auditJson(value, 200)!;
    const parsed = JSON.parse(json) as { truncated: boolean; bytes: number; head: string };
    expect(parsed.truncated).toBe(true);
    expect(parsed.bytes).toBe(JSON.stringify(redact(value)).length);
    expect(json).not.toContain("secret-value");
    // Much smaller than the original.
    expect(json.length).toBeLessThan(JSON.stringify(value).length / 10);
  });

  // The wrapper and its escaping count against the limit.
  test("a truncated document stays within maxBytes", () => {
    const value = { text: "a\"b\\c".repeat(2000) };
    for (const max of [50, 200, 1000]) {
      const json = auditJson(value, max)!;
      expect(() => JSON.parse(json)).not.toThrow();
      expect(new TextEncoder().encode(json).length).toBeLessThanOrEqual(max);
    }
  });
});

describe("isSecretKey", () => {
  test("matches credential words, not words that merely contain them", () => {
    for (const k of ["accessToken", "db_password", "X-Api-Key", "clientSecret", "session_id", "privateKey", "auth"]) {
      expect(isSecretKey(k)).toBe(true);
    }
    for (const k of ["author", "max_tokens", "bypass", "tokenizer_name", "keyword", "sessions"]) {
      expect(isSecretKey(k)).toBe(false);
    }
  });
});
