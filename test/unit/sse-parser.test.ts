import { describe, expect, test } from "bun:test";
import { EventTooLarge, readSse, type SseEvent } from "../../src/backends/sse-parser.ts";

const enc = new TextEncoder();
function stream(parts: string[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(c) {
      for (const p of parts) c.enqueue(enc.encode(p));
      c.close();
    },
  });
}

describe("readSse", () => {
  test("events, ids, comments, multi-line data, retry, and CR/LF/CRLF split across chunks", async () => {
    const got: SseEvent[] = [];
    let retry = 0;
    await readSse(
      stream(["id: 1\r", "\nevent: message\r\ndata: {\"a\":", "1}\r\n\r\n: comment\n", "data: x\ndata: y\n\nretry: 500\n\n", "data: last\r\r"]),
      (e) => void got.push(e),
      (ms) => (retry = ms),
    );
    expect(got).toEqual([
      { event: "message", data: '{"a":1}', id: "1" },
      { event: "message", data: "x\ny", id: "1" },
      { event: "message", data: "last", id: "1" },
    ]);
    expect(retry).toBe(500);
  });

  test("a large event in many chunks is read in linear time and whole", async () => {
    const big = "x".repeat(2_000_000);
    const parts = ["data: "];
    for (let i = 0; i < big.length; i += 1000) parts.push(big.slice(i, i + 1000));
    parts.push("\n\n");
    let size = 0;
    const started = performance.now();
    await readSse(stream(parts), (e) => (size = e.data.length));
    expect(size).toBe(big.length);
    // Quadratic rescanning took over half a second here; linear takes a few ms.
    expect(performance.now() - started).toBeLessThan(400);
  });

  test("an event over the limit ends the read with EventTooLarge, in pieces or in one chunk", async () => {
    const parts = ["data: ", "y".repeat(5000), "\n\n"];
    await expect(readSse(stream(parts), () => {}, undefined, 1000)).rejects.toBeInstanceOf(EventTooLarge);
    await expect(readSse(stream([parts.join("")]), () => {}, undefined, 1000)).rejects.toBeInstanceOf(EventTooLarge);
  });

  test("any chunking gives the same events; from rawFrom on, data comes as its bytes", async () => {
    const text = 'id: 7\r\nevent: message\ndata: {"a":"é日🙂"}\r\rdata: one\ndata:two\n: c\n\nretry: 3\ndata: ' + "z".repeat(300) + "\n\n";
    const bytes = enc.encode(text);
    const collect = async (chunks: Uint8Array[], rawFrom?: number) => {
      const got: SseEvent[] = [];
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          for (const ch of chunks) c.enqueue(ch);
          c.close();
        },
      });
      await readSse(body, (e) => void got.push(e), undefined, undefined, rawFrom);
      return got;
    };
    const whole = await collect([bytes]);
    expect(whole.map((e) => e.data)).toEqual(['{"a":"é日🙂"}', "one\ntwo", "z".repeat(300)]);
    expect(whole[1]!.id).toBe("7");
    let seed = 3;
    for (let round = 0; round < 200; round++) {
      const chunks: Uint8Array[] = [];
      for (let i = 0; i < bytes.length; ) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        const n = 1 + (seed % 9);
        chunks.push(bytes.slice(i, i + n));
        i += n;
      }
      expect(await collect(chunks)).toEqual(whole);
      const raw = await collect(chunks, 100);
      expect(raw.slice(0, 2)).toEqual(whole.slice(0, 2));
      expect(raw[2]!.data).toBe("");
      expect(new TextDecoder().decode(Buffer.concat(raw[2]!.raw!.parts))).toBe("z".repeat(300));
      expect(raw[2]!.raw!.size).toBe(300);
    }
  });
});
