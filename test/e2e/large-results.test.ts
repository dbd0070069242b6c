// Large results pass intact: a 20 MiB tools/call result (text with quotes,
// escapes, accents, CJK and emoji) reaches the client byte for byte on both
// fronts and through every backend transport, while another session's calls go
// on. Time and memory are measured by scripts/large-result.ts, not here.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { payload } from "../fixtures/payload.ts";
import { BIN, INIT, startFixture, startHttpGateway, stdioFixture, tempDir, writeConfig, type Spawned } from "./harness.ts";

const BYTES = 20 * 1024 * 1024;
const EXPECTED = payload(BYTES);
const CALL = (id: number) => ({ jsonrpc: "2.0", id, method: "tools/call", params: { name: "big__big", arguments: { bytes: BYTES, varied: true } } });
const HEADERS = { "content-type": "application/json", accept: "application/json, text/event-stream" };

let http: Spawned;
let json: Spawned;
let sse: Spawned;
const configs: Record<string, string> = {};

beforeAll(async () => {
  http = await startFixture("big", "http");
  json = await startFixture("big", "http", ["--json"]);
  sse = await startFixture("big", "sse");
  const backends = { stdio: stdioFixture("big"), http: { url: http.url }, "http-json": { url: json.url }, sse: { url: sse.url, type: "sse" } };
  for (const [name, backend] of Object.entries(backends)) {
    configs[name] = writeConfig(tempDir(), { identity: { anonymous: { roles: [] } }, backends: { big: backend } });
  }
});

afterAll(async () => {
  await http.stop();
  await json.stop();
  await sse.stop();
});

/** Reads newline-delimited JSON from the gateway's stdout, keeping a long line in pieces. */
function lineReader(stream: ReadableStream<Uint8Array>) {
  const decoder = new TextDecoder();
  const waiting: ((line: string) => void)[] = [];
  const ready: string[] = [];
  void (async () => {
    let parts: string[] = [];
    for await (const chunk of stream) {
      let text = decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = text.indexOf("\n")) !== -1) {
        parts.push(text.slice(0, nl));
        const line = parts.join("");
        parts = [];
        const w = waiting.shift();
        if (w) w(line);
        else ready.push(line);
        text = text.slice(nl + 1);
      }
      if (text) parts.push(text);
    }
  })();
  return (): Promise<Record<string, any>> => {
    const line = ready.shift();
    if (line !== undefined) return Promise.resolve(JSON.parse(line));
    return new Promise((resolve) => waiting.push((l) => resolve(JSON.parse(l))));
  };
}

async function post(url: string, session: string | null, body: unknown) {
  const res = await fetch(url, { method: "POST", headers: { ...HEADERS, ...(session && { "mcp-session-id": session }) }, body: JSON.stringify(body) });
  const text = await res.text();
  const json = (res.headers.get("content-type") ?? "").includes("event-stream")
    ? JSON.parse(text.split("\n").filter((l) => l.startsWith("data: ")).at(-1)!.slice(6))
    : JSON.parse(text);
  return { res, json };
}

function expectExact(answer: Record<string, any>): void {
  const text: string = answer.result?.content?.[0]?.text ?? "";
  expect(text.length).toBe(EXPECTED.length);
  // toBe on 20 MiB strings would print them whole on failure: compare, then report briefly.
  expect(text === EXPECTED).toBe(true);
}

// http: Streamable HTTP answering with SSE streams (the SDK's default); http-json: with JSON bodies.
describe.each(["stdio", "http", "http-json", "sse"])("a 20 MiB result from a %s backend", (backend) => {
  test("reaches a stdio client byte for byte", async () => {
    const proc = Bun.spawn([BIN, "--config", configs[backend]!], { stdin: "pipe", stdout: "pipe", stderr: "ignore" });
    const next = lineReader(proc.stdout);
    const send = (m: unknown) => {
      proc.stdin.write(JSON.stringify(m) + "\n");
      proc.stdin.flush();
    };
    try {
      send(INIT);
      await next();
      send(CALL(1));
      // A small call sent after the large one is answered too (the large one may still be streaming).
      send({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "big__echo", arguments: { text: "small" } } });
      const answers = [await next(), await next()];
      const big = answers.find((a) => a.id === 1)!;
      const small = answers.find((a) => a.id === 2)!;
      expect(small.result.content[0].text).toBe("small");
      expectExact(big);
    } finally {
      proc.stdin.end();
      await proc.exited;
    }
  });

  test("reaches an HTTP client byte for byte, while another session's calls go on", async () => {
    const gw = await startHttpGateway(configs[backend]!);
    try {
      const open = async () => (await post(gw.url, null, INIT)).res.headers.get("mcp-session-id")!;
      const [mine, other] = [await open(), await open()];
      const large = post(gw.url, mine, CALL(1));
      let done = false;
      void large.then(() => (done = true));
      // The other session calls in a loop until the large answer is in: every call succeeds.
      let calls = 0;
      while (!done || calls < 5) {
        const { json } = await post(gw.url, other, { jsonrpc: "2.0", id: 100 + calls, method: "tools/call", params: { name: "big__echo", arguments: { text: `c${calls}` } } });
        expect(json.result.content[0].text).toBe(`c${calls}`);
        calls++;
      }
      const { res, json } = await large;
      expect(res.status).toBe(200);
      expect(json.id).toBe(1);
      expectExact(json);
    } finally {
      await gw.stop();
    }
  });
});
