import { describe, expect, test } from "bun:test";
import type { JsonLimits } from "../../src/config/load.ts";
import { LimitExceeded, ParseError } from "../../src/errors.ts";
import { scanMessage } from "../../src/jsonrpc/scan.ts";

const LIMITS: JsonLimits = { messageBytes: 1 << 30, depth: 64, arrayItems: 100_000, objectKeys: 10_000, stringLength: 1 << 30 };
const enc = new TextEncoder();

/** The text cut into pieces of `size` bytes, as a stream would deliver it. */
function parts(text: string, size = 7): Uint8Array[] {
  const bytes = enc.encode(text);
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size));
  return out;
}

function scan(text: string, limits = LIMITS, size?: number) {
  return scanMessage(parts(text, size), limits, "backend");
}

function memberText(text: string, name: string): string {
  const span = scan(text)!.members.get(name)!;
  return new TextDecoder().decode(enc.encode(text).subarray(span.start, span.end));
}

// Deterministic random JSON values.
function rng(seed: number) {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

function value(r: () => number, depth = 0): unknown {
  const k = Math.floor(r() * (depth > 4 ? 4 : 7));
  switch (k) {
    case 0:
      return Math.floor(r() * 1e6) * (r() < 0.5 ? -1 : 1) / (r() < 0.5 ? 1 : 1000);
    case 1:
      return ['a"b', "é\\日", "🙂\n\t\u0001", "", "plain"][Math.floor(r() * 5)];
    case 2:
      return [true, false, null][Math.floor(r() * 3)];
    case 3:
      return r() < 0.5 ? 1e21 : -0.5e-7;
    case 4:
    case 5:
      return Array.from({ length: Math.floor(r() * 4) }, () => value(r, depth + 1));
    default:
      return Object.fromEntries(Array.from({ length: Math.floor(r() * 4) }, (_, i) => [`k${i}${r() < 0.2 ? '"q' : ""}`, value(r, depth + 1)]));
  }
}

describe("scanMessage", () => {
  test("finds the top-level members of a response and their exact bytes", () => {
    const text = ' {"result":{"content":[{"type":"text","text":"a \\"quoted\\" 日本 🙂"}],"isError":true},"jsonrpc":"2.0","id":42} ';
    for (const size of [1, 3, 7, 1000]) {
      const s = scan(text, LIMITS, size)!;
      expect([...s.members.keys()]).toEqual(["result", "jsonrpc", "id"]);
      expect(s.isError).toBe(true);
    }
    expect(JSON.parse(memberText(text, "result"))).toEqual(JSON.parse(text).result);
    expect(memberText(text, "id")).toBe("42");
    expect(memberText(text, "jsonrpc")).toBe('"2.0"');
  });

  test("isError only when the result's own isError is true", () => {
    expect(scan('{"id":1,"result":{"isError":false}}')!.isError).toBe(false);
    expect(scan('{"id":1,"result":{"content":[{"isError":true}]}}')!.isError).toBe(false);
    expect(scan('{"id":1,"error":{"isError":true}}')!.isError).toBe(false);
    expect(scan('{"id":1,"result":{"isError":true}}')!.isError).toBe(true);
  });

  test("line breaks between tokens are noticed (they cannot be relayed on a line-framed wire)", () => {
    expect(scan('{"id":1,"result":{"text":"a\\nb"}}')!.lineBreaks).toBe(false);
    expect(scan('{"id":1,\n"result":{}}')!.lineBreaks).toBe(true);
    expect(scan('{"id":1,"result":{}\r}')!.lineBreaks).toBe(true);
  });

  test("a value that is not an object (a batch) is left to the parser", () => {
    expect(scan("[1,2]")).toBeNull();
    expect(scan('  "x"')).toBeNull();
  });

  test("agrees with JSON.parse on valid and broken texts", () => {
    const r = rng(7);
    for (let i = 0; i < 3000; i++) {
      const msg = { jsonrpc: "2.0", id: i, result: { v: value(r), isError: r() < 0.5 } };
      let text = JSON.stringify(msg, null, r() < 0.3 ? 1 : undefined);
      if (i % 2 === 1) {
        // Break it at a random place: drop, duplicate or replace a byte.
        const at = Math.floor(r() * text.length);
        const op = Math.floor(r() * 3);
        const junk = '{}[]",:\\ 0-e.tfnx'[Math.floor(r() * 17)]!;
        text = op === 0 ? text.slice(0, at) + text.slice(at + 1) : op === 1 ? text.slice(0, at) + junk + text.slice(at) : text.slice(0, at) + junk + text.slice(at + 1);
      }
      let parsed: unknown = undefined;
      try {
        parsed = JSON.parse(text);
      } catch {}
      const isObject = typeof parsed === "object" && parsed !== null && !Array.isArray(parsed);
      let scanned: ReturnType<typeof scan> | "error";
      try {
        scanned = scan(text, LIMITS, 1 + (i % 13));
      } catch (err) {
        expect(err).toBeInstanceOf(ParseError);
        scanned = "error";
      }
      if (parsed === undefined) {
        // Broken text: refused, or not an object (then the parser refuses it).
        if (scanned !== null) expect(scanned).toBe("error");
      } else if (isObject) {
        expect(scanned).not.toBe("error");
        const s = scanned as NonNullable<ReturnType<typeof scan>>;
        expect([...s.members.keys()].sort()).toEqual(Object.keys(parsed as object).filter((k) => k.length <= 32 && JSON.stringify(k) === `"${k}"`).sort());
        const result = (parsed as { result?: { isError?: unknown } }).result;
        expect(s.isError).toBe(typeof result === "object" && result !== null && result.isError === true);
      }
    }
  });

  test("limits: depth, array items, object keys, string length (UTF-16 units)", () => {
    const deep = '{"id":1,"result":' + "[".repeat(100) + "]".repeat(100) + "}";
    expect(() => scan(deep)).toThrow(LimitExceeded);
    expect(() => scan(deep)).toThrow("limits.backend.depth");
    expect(() => scan(deep, { ...LIMITS, depth: 101 })).not.toThrow();
    const wide = JSON.stringify({ id: 1, result: { a: Array(11).fill(0) } });
    expect(() => scan(wide, { ...LIMITS, arrayItems: 10 })).toThrow("limits.backend.arrayItems");
    expect(() => scan(wide, { ...LIMITS, arrayItems: 11 })).not.toThrow();
    const keys = JSON.stringify({ id: 1, result: Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`k${i}`, i])) });
    expect(() => scan(keys, { ...LIMITS, objectKeys: 5 })).toThrow("limits.backend.objectKeys");
    expect(() => scan(keys, { ...LIMITS, objectKeys: 6 })).not.toThrow();
    // Keys count too ("result" is 6 units); this text is 7.
    const emoji = JSON.stringify({ id: 1, result: { t: "🙂🙂éab" } });
    expect("🙂🙂éab".length).toBe(7);
    expect(() => scan(emoji, { ...LIMITS, stringLength: 6 })).toThrow("limits.backend.stringLength");
    expect(() => scan(emoji, { ...LIMITS, stringLength: 7 })).not.toThrow();
    // An escape is one unit: "a\nb" is 3.
    expect(() => scan(JSON.stringify({ id: 1, result: { t: "a\nb" } }), { ...LIMITS, stringLength: 6 })).not.toThrow();
    expect(() => scan(JSON.stringify({ id: 1, result: { t: "a\nbcdefg" } }), { ...LIMITS, stringLength: 6 })).toThrow("stringLength");
  });

  test("cost per MiB (printed), on a 20 MiB result", () => {
    const text = JSON.stringify({ jsonrpc: "2.0", id: 1, result: { content: [{ type: "text", text: "x".repeat(20 * 1024 * 1024) }] } });
    const chunks = parts(text, 64 * 1024);
    const t = performance.now();
    const s = scanMessage(chunks, LIMITS, "backend")!;
    const ms = performance.now() - t;
    expect(s.members.has("result")).toBe(true);
    console.log(`scanMessage: ${(ms / 20).toFixed(2)} ms per MiB`);
  });
});
