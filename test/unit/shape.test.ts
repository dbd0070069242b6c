import { describe, expect, test } from "bun:test";
import type { JsonLimits } from "../../src/config/load.ts";
import { LimitExceeded, ParseError } from "../../src/errors.ts";
import { brokenLimit, checkShape, nestsDeeper, parseWithin } from "../../src/jsonrpc/shape.ts";

const LIMITS: JsonLimits = { messageBytes: 4 << 20, depth: 8, arrayItems: 5, objectKeys: 4, stringLength: 10 };

/** `levels` arrays, one inside the other: `levels` deep. */
function nested(levels: number): unknown {
  let v: unknown[] = [];
  for (let i = 1; i < levels; i++) v = [v];
  return v;
}

describe("brokenLimit", () => {
  test("a message within every limit passes", () => {
    expect(brokenLimit({ jsonrpc: "2.0", id: 1, method: "m", params: { a: [1, "two", null, true, { b: 3 }] } }, LIMITS)).toBeNull();
    for (const scalar of [null, 0, true, "short"]) expect(brokenLimit(scalar, LIMITS)).toBeNull();
  });

  test("depth: the message itself is level 1, and scalars add none", () => {
    expect(brokenLimit(nested(8), LIMITS)).toBeNull();
    expect(brokenLimit(nested(9), LIMITS)).toBe("depth");
    // 7 objects around an array holding a scalar: 8 levels.
    let o: unknown = [1];
    for (let i = 0; i < 7; i++) o = { k: o };
    expect(brokenLimit(o, LIMITS)).toBeNull();
    expect(brokenLimit({ k: o }, LIMITS)).toBe("depth");
  });

  test("depth is found in any branch, not just the first", () => {
    expect(brokenLimit({ a: 1, b: [[1]], c: { d: nested(7) } }, LIMITS)).toBe("depth");
    expect(brokenLimit([1, 2, nested(8)], LIMITS)).toBe("depth");
  });

  test("array items, object keys and string lengths, at their limits and one past", () => {
    expect(brokenLimit({ a: [1, 2, 3, 4, 5] }, LIMITS)).toBeNull();
    expect(brokenLimit({ a: [1, 2, 3, 4, 5, 6] }, LIMITS)).toBe("arrayItems");
    expect(brokenLimit([{ a: 1, b: 2, c: 3, d: 4 }], LIMITS)).toBeNull();
    expect(brokenLimit([{ a: 1, b: 2, c: 3, d: 4, e: 5 }], LIMITS)).toBe("objectKeys");
    expect(brokenLimit({ s: "x".repeat(10) }, LIMITS)).toBeNull();
    expect(brokenLimit({ s: "x".repeat(11) }, LIMITS)).toBe("stringLength");
    expect(brokenLimit(["x".repeat(11)], LIMITS)).toBe("stringLength");
    expect(brokenLimit("x".repeat(11), LIMITS)).toBe("stringLength");
  });

  test("keys count as strings", () => {
    expect(brokenLimit({ ["k".repeat(11)]: 1 }, LIMITS)).toBe("stringLength");
  });

  test("a 1,000,000-deep array is refused, and can be walked whole: no recursion", () => {
    const deep = JSON.parse("[".repeat(1_000_000) + "]".repeat(1_000_000));
    const started = performance.now();
    expect(brokenLimit(deep, { ...LIMITS, depth: 64 })).toBe("depth");
    expect(performance.now() - started).toBeLessThan(50);
    expect(brokenLimit(deep, { ...LIMITS, depth: 1_000_000 })).toBeNull();
    expect(brokenLimit(deep, { ...LIMITS, depth: 999_999 })).toBe("depth");
  });

  test("checkShape names the limit and its config key", () => {
    expect(() => checkShape(nested(9), LIMITS, "client")).toThrow("the message nests deeper than 8 levels (limits.client.depth)");
    expect(() => checkShape({ s: "x".repeat(11) }, LIMITS, "backend")).toThrow("has a string longer than 10 characters (limits.backend.stringLength)");
    expect(() => checkShape([1, 2, 3, 4, 5, 6], LIMITS, "client")).toThrow(LimitExceeded);
  });
});

describe("nestsDeeper", () => {
  test("counts brackets outside strings only", () => {
    expect(nestsDeeper('{"a":[[1]]}', 3)).toBe(false);
    expect(nestsDeeper('{"a":[[[1]]]}', 3)).toBe(true);
    expect(nestsDeeper('{"a":"[[[[[[[[","b":"{{{{{{"}', 1)).toBe(false);
  });

  test("escaped quotes and backslashes do not end a string early", () => {
    expect(nestsDeeper(String.raw`{"a":"\"[[[[[[\""}`, 1)).toBe(false);
    expect(nestsDeeper(String.raw`{"a":"\\","b":[[[1]]]}`, 3)).toBe(true);
    expect(nestsDeeper(String.raw`{"a":"\\\"[[[[","b":1}`, 1)).toBe(false);
  });

  test("agrees with the walker on parsed text", () => {
    const samples = ['[[["]]]"]]]', '{"a":{"b":{"c":[{"d":"}}}}"}]}}}', "[" + '"\\\\",'.repeat(5) + "[[0]]]", '{"k":"\\u005b"}'];
    for (const text of samples) {
      const value = JSON.parse(text);
      for (let depth = 1; depth <= 6; depth++) {
        expect(nestsDeeper(text, depth)).toBe(brokenLimit(value, { ...LIMITS, arrayItems: 100, stringLength: 100, depth }) === "depth");
      }
    }
  });

  test("a 10,000,000-deep text is refused at once, never built", () => {
    const text = "[".repeat(10_000_000) + "]".repeat(10_000_000);
    const started = performance.now();
    expect(() => parseWithin(text, { ...LIMITS, depth: 64 }, "client")).toThrow("limits.client.depth");
    expect(performance.now() - started).toBeLessThan(50);
  });
});

describe("parseWithin", () => {
  test("parses text within the limits; bad JSON is a ParseError", () => {
    expect(parseWithin('{"a":[1]}', LIMITS, "client")).toEqual({ a: [1] });
    expect(() => parseWithin("{nope", LIMITS, "client")).toThrow(ParseError);
  });

  test("a long text nested past the limit is refused unparsed; a batch's array is one level more", () => {
    const pad = "x".repeat(70_000);
    const message = (levels: number) => `{"jsonrpc":"2.0","id":1,"method":"m","params":{"pad":"${pad}","v":${"[".repeat(levels)}${"]".repeat(levels)}}}`;
    // 2 + 8 levels: past even a batch's allowance.
    expect(() => parseWithin(message(8), LIMITS, "client")).toThrow(LimitExceeded);
    // 2 + 7 levels: parsed (it could be a batch), then refused by the walker.
    expect(brokenLimit(parseWithin(message(7), LIMITS, "client"), { ...LIMITS, stringLength: 100_000 })).toBe("depth");
    // A batch of one 8-deep message: 9 levels of text, within the limit; the walker sees each message alone.
    const batch = `[{"pad":"${pad}","v":${"[".repeat(6)}${"]".repeat(6)}}]`;
    const value = parseWithin(batch, LIMITS, "client") as unknown[];
    expect(brokenLimit(value[0], { ...LIMITS, stringLength: 100_000 })).toBeNull();
  });
});

// What the check costs on the hot path: printed, with a generous bound that only a
// regression to something far slower (a schema library, a copy) would break.
test("cost per message: a typical tools/call request and result", () => {
  const limits: JsonLimits = { messageBytes: 4 << 20, depth: 64, arrayItems: 10_000, objectKeys: 1_000, stringLength: 4 << 20 };
  const request = JSON.parse(
    JSON.stringify({ jsonrpc: "2.0", id: 42, method: "tools/call", params: { name: "github__create_issue", arguments: { repo: "o/r", title: "t", labels: ["a", "b"] }, _meta: { progressToken: 7 } } }),
  );
  const result = JSON.parse(
    JSON.stringify({
      jsonrpc: "2.0",
      id: 42,
      result: {
        content: [{ type: "text", text: "Created issue #12: ".padEnd(400, "lorem ipsum ") }],
        structuredContent: { number: 12, url: "https://example.com/o/r/issues/12", labels: [{ name: "a" }, { name: "b" }], user: { login: "u", id: 1 } },
        isError: false,
      },
    }),
  );
  const perCheck = (value: unknown) => {
    for (let i = 0; i < 20_000; i++) brokenLimit(value, limits);
    const n = 200_000;
    const started = performance.now();
    for (let i = 0; i < n; i++) brokenLimit(value, limits);
    return ((performance.now() - started) * 1000) / n;
  };
  const [req, res] = [perCheck(request), perCheck(result)];
  console.log(`shape check: ${req.toFixed(2)} µs per tools/call request, ${res.toFixed(2)} µs per result`);
  expect(req).toBeLessThan(5);
  expect(res).toBeLessThan(10);
});
