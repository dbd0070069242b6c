import { idFromEdges } from "../../src/jsonrpc/message.ts";
import { describe, expect, test } from "bun:test";
import { LineDecoder } from "../../src/jsonrpc/lines.ts";

const enc = new TextEncoder();

function collect(maxBytes: number) {
  const lines: string[] = [];
  const oversized: number[] = [];
  const decoder = new LineDecoder(maxBytes, {
    line: (t) => lines.push(t),
    oversized: (n) => oversized.push(n),
  });
  return { decoder, lines, oversized };
}

describe("LineDecoder", () => {
  test("one message split over many chunks, one byte at a time", () => {
    const { decoder, lines } = collect(1024);
    const msg = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" });
    const bytes = enc.encode(msg + "\n");
    for (let i = 0; i < bytes.length; i++) {
      decoder.push(bytes.subarray(i, i + 1));
      if (i < bytes.length - 1) expect(lines).toEqual([]);
    }
    expect(lines).toEqual([msg]);
  });

  test("a split inside a multi-byte UTF-8 character is reassembled", () => {
    const { decoder, lines } = collect(1024);
    const text = '{"s":"héllo 😀 日本"}';
    const bytes = enc.encode(text + "\n");
    // Split in the middle of the 4-byte emoji and of the 2-byte é.
    const emoji = bytes.indexOf(0xf0);
    const e = bytes.indexOf(0xc3);
    expect(emoji).toBeGreaterThan(0);
    expect(e).toBeGreaterThan(0);
    const cuts = [0, e + 1, emoji + 1, emoji + 3, bytes.length].sort((a, b) => a - b);
    for (let i = 0; i < cuts.length - 1; i++) decoder.push(bytes.slice(cuts[i], cuts[i + 1]));
    expect(lines).toEqual([text]);
    expect(lines[0]).not.toContain("\uFFFD");
  });

  test("a reused chunk buffer does not corrupt a pending partial line", () => {
    const { decoder, lines } = collect(1024);
    const buf = new Uint8Array(4);
    buf.set(enc.encode("abcd"));
    decoder.push(buf);
    buf.set(enc.encode("ef\nX"));
    decoder.push(buf.subarray(0, 3));
    expect(lines).toEqual(["abcdef"]);
  });

  test("many messages in one chunk", () => {
    const { decoder, lines } = collect(1024);
    const msgs = Array.from({ length: 50 }, (_, i) => `{"id":${i}}`);
    decoder.push(enc.encode(msgs.join("\n") + "\n"));
    expect(lines).toEqual(msgs);
  });

  test("CRLF line endings are stripped", () => {
    const { decoder, lines } = collect(1024);
    decoder.push(enc.encode('{"a":1}\r\n{"b":2}\r'));
    decoder.push(enc.encode("\n"));
    expect(lines).toEqual(['{"a":1}', '{"b":2}']);
  });

  test("blank and whitespace-only lines are ignored", () => {
    const { decoder, lines, oversized } = collect(1024);
    decoder.push(enc.encode('\n\n  \r\n\t\n{"a":1}\n\n'));
    decoder.end();
    expect(lines).toEqual(['{"a":1}']);
    expect(oversized).toEqual([]);
  });

  test("an oversized line is reported once and the decoder recovers", () => {
    const { decoder, lines, oversized } = collect(100);
    decoder.push(enc.encode('{"before":1}\n'));
    const big = "x".repeat(250);
    // Stream it in several chunks so the limit is crossed mid-line.
    decoder.push(enc.encode(big.slice(0, 60)));
    decoder.push(enc.encode(big.slice(60, 180)));
    decoder.push(enc.encode(big.slice(180) + '\n{"after":2}\n'));
    expect(oversized).toEqual([250]);
    expect(lines).toEqual(['{"before":1}', '{"after":2}']);
  });

  test("a line exactly at the limit is delivered, one byte over is not", () => {
    const { decoder, lines, oversized } = collect(10);
    decoder.push(enc.encode("0123456789\n01234567890\nok\n"));
    expect(lines).toEqual(["0123456789", "ok"]);
    expect(oversized).toEqual([11]);
  });

  test("an oversized final line without newline is reported by end()", () => {
    const { decoder, lines, oversized } = collect(10);
    decoder.push(enc.encode("y".repeat(30)));
    expect(oversized).toEqual([]);
    decoder.end();
    expect(oversized).toEqual([30]);
    expect(lines).toEqual([]);
  });

  test("a final line without newline is flushed by end()", () => {
    const { decoder, lines } = collect(1024);
    decoder.push(enc.encode('{"a":1}\n{"b":'));
    decoder.push(enc.encode("2}"));
    expect(lines).toEqual(['{"a":1}']);
    decoder.end();
    expect(lines).toEqual(['{"a":1}', '{"b":2}']);
    // Nothing left: a second end() emits nothing.
    decoder.end();
    expect(lines.length).toBe(2);
  });

  test("a 1 MB line under a 4 MB limit is delivered intact", () => {
    const { decoder, lines, oversized } = collect(4 * 1024 * 1024);
    const payload = "z".repeat(1024 * 1024);
    const msg = `{"data":"${payload}"}`;
    const bytes = enc.encode(msg + "\n");
    const chunk = 64 * 1024;
    for (let i = 0; i < bytes.length; i += chunk) decoder.push(bytes.subarray(i, i + chunk));
    expect(oversized).toEqual([]);
    expect(lines.length).toBe(1);
    expect(lines[0]!.length).toBe(msg.length);
    expect(lines[0]).toBe(msg);
  });
});

describe("oversized lines keep their edges", () => {
  test("head and tail are the line's first and last 256 bytes, across chunks", () => {
    const seen: { bytes: number; head: string; tail: string }[] = [];
    const d = new LineDecoder(100, { line: () => {}, oversized: (bytes, head, tail) => void seen.push({ bytes, head, tail }) });
    const line = "H".repeat(300) + "m".repeat(5000) + "T".repeat(300);
    const bytes = new TextEncoder().encode(line + "\n");
    for (let i = 0; i < bytes.length; i += 77) d.push(bytes.subarray(i, i + 77));
    expect(seen).toHaveLength(1);
    expect(seen[0]!.bytes).toBe(line.length);
    expect(seen[0]!.head).toBe("H".repeat(256));
    expect(seen[0]!.tail).toBe("T".repeat(256));
  });
});

describe("idFromEdges", () => {
  test("finds a top-level id at the start or the end, numeric or string; null otherwise", () => {
    expect(idFromEdges('{"jsonrpc":"2.0","id":7,"method":"tools/call"', "")).toBe(7);
    expect(idFromEdges('{"method":"x","params":{"id":1', '"}},"jsonrpc":"2.0","id":"a\\"b"}')).toBe('a"b');
    expect(idFromEdges('{"result":{"content":[', "]}}")).toBeNull();
  });
});
