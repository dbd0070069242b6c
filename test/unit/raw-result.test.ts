import { describe, expect, test } from "bun:test";
import type { JsonLimits } from "../../src/config/load.ts";
import { RawResult, scanResponse } from "../../src/jsonrpc/raw-result.ts";
import { toWire } from "../../src/jsonrpc/wire.ts";

const LIMITS: JsonLimits = { messageBytes: 1 << 30, depth: 64, arrayItems: 100_000, objectKeys: 10_000, stringLength: 1 << 30 };
const enc = new TextEncoder();
const chunks = (text: string, size: number) => {
  const b = enc.encode(text);
  const out: Uint8Array[] = [];
  for (let i = 0; i < b.length; i += size) out.push(b.subarray(i, i + size));
  return out;
};
const joined = (pieces: (string | Uint8Array)[]) => new TextDecoder().decode(Buffer.concat(pieces.map((p) => (typeof p === "string" ? enc.encode(p) : p))));

describe("a result relayed as bytes to a 2026-07-28 client", () => {
  const raw = (result: Record<string, unknown>) =>
    (scanResponse(chunks(JSON.stringify({ jsonrpc: "2.0", id: 1, result }), 61), LIMITS, "backend") as { result: unknown }).result as RawResult;

  test("a 2025 result gets resultType complete written before its own members, which stay its bytes", () => {
    const result = { content: [{ type: "text", text: "z".repeat(3000) }], isError: false };
    const done = raw(result).complete();
    expect(done.parse()).toEqual({ resultType: "complete", ...result });
    expect(done.byteLength).toBe(JSON.stringify({ resultType: "complete", ...result }).length);
  });

  test("a result that says its resultType already is left as it is (no second member)", () => {
    const r = raw({ resultType: "complete", content: [{ type: "text", text: "q".repeat(3000) }] });
    expect(r.hasResultType).toBe(true);
    expect(r.complete()).toBe(r);
  });
});

describe("a result relayed as bytes", () => {
  const result = { content: [{ type: "text", text: 'big "text" é日🙂\\ ' + "y".repeat(5000) }], isError: true };
  const text = JSON.stringify({ result, jsonrpc: "2.0", id: 17 });

  test("goes out under the client's id, its bytes untouched, and reads back equal", () => {
    const m = scanResponse(chunks(text, 97), LIMITS, "backend")!;
    expect(m).toMatchObject({ jsonrpc: "2.0", id: 17 });
    const raw = (m as { result: unknown }).result as RawResult;
    expect(raw).toBeInstanceOf(RawResult);
    expect(raw.isError).toBe(true);
    expect(raw.parse()).toEqual(result);
    // The pipeline answers under the client's own id.
    const wire = toWire({ jsonrpc: "2.0", id: "client-7", result: raw as unknown as Record<string, unknown> });
    expect(typeof wire).not.toBe("string");
    const out = joined(wire as (string | Uint8Array)[]);
    expect(JSON.parse(out)).toEqual({ jsonrpc: "2.0", id: "client-7", result });
    expect(out).toContain(JSON.stringify(result));
    // In a batch, beside an ordinary response.
    const batch = toWire([{ jsonrpc: "2.0", id: 1, result: {} }, { jsonrpc: "2.0", id: 2, result: raw as unknown as Record<string, unknown> }]);
    expect(JSON.parse(joined(batch as (string | Uint8Array)[]))).toEqual([{ jsonrpc: "2.0", id: 1, result: {} }, { jsonrpc: "2.0", id: 2, result }]);
  });

  test("what is not a plain response is left to the parser", () => {
    expect(scanResponse(chunks('{"jsonrpc":"2.0","id":1,"method":"sampling/createMessage","params":{}}', 5), LIMITS, "backend")).toBeNull();
    expect(scanResponse(chunks('{"jsonrpc":"2.0","id":1,"error":{"code":1,"message":"m"}}', 5), LIMITS, "backend")).toBeNull();
    expect(scanResponse(chunks('{"jsonrpc":"1.0","id":1,"result":{}}', 5), LIMITS, "backend")).toBeNull();
    expect(scanResponse(chunks('{"jsonrpc":"2.0","id":{},"result":{}}', 5), LIMITS, "backend")).toBeNull();
    // Pretty-printed: its line breaks would end a stdio line.
    expect(scanResponse(chunks('{"jsonrpc":"2.0",\n"id":1,"result":{}}', 5), LIMITS, "backend")).toBeNull();
  });
});
