// Hostile JSON shapes (limits.client, limits.backend): refused where they enter,
// on both fronts and from each backend transport, at once and with an error that
// names the limit; nothing is forwarded, and the gateway keeps serving.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  auditRows,
  INIT,
  rawHttp,
  rawStdio,
  startFixture,
  startHttpGateway,
  stdioFixture,
  tempDir,
  writeConfig,
  type HttpGateway,
  type RawHttp,
  type RawStdio,
  type Spawned,
} from "./harness.ts";

const MIB = 1024 * 1024;
// Room for the 20 MB array and the 4 MiB string, so that their shape is what refuses them, not their size.
const MESSAGE_BYTES = 32 * MIB;

const nested = (levels: number) => "[".repeat(levels) + "]".repeat(levels);
const wide = (items: number) => JSON.stringify(new Array(items).fill(0));
const keyed = (keys: number) => JSON.stringify(Object.fromEntries(Array.from({ length: keys }, (_, i) => [`k${i}`, 0])));

// The hostile part rides in an argument the echo tool ignores: when a raised limit lets it through, the call answers "hi".
const callWith = (id: number, extra: string) =>
  `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"alpha__echo","arguments":{"text":"hi","extra":${extra}}}}`;
const echo = (id: number, text: string) => JSON.stringify({ jsonrpc: "2.0", id, method: "tools/call", params: { name: "alpha__echo", arguments: { text } } });

// Each refused by the default client limits (64 levels, 10,000 items, 1,000 keys, 4 MiB strings).
const HOSTILE: { what: string; extra: () => string; limit: string; raised?: boolean }[] = [
  { what: "a 45,000-deep array", extra: () => nested(45_000), limit: "depth" },
  { what: "a 100-deep array", extra: () => nested(100), limit: "depth", raised: true },
  { what: "a 10,000,000-deep array (20 MB)", extra: () => nested(10_000_000), limit: "depth" },
  { what: "an array of 10,001 items", extra: () => wide(10_001), limit: "arrayItems", raised: true },
  { what: "an object with 1,001 keys", extra: () => keyed(1_001), limit: "objectKeys", raised: true },
  { what: "a string of 4 MiB + 1 characters", extra: () => JSON.stringify("s".repeat(4 * MIB + 1)), limit: "stringLength", raised: true },
];

const RAISED = { messageBytes: MESSAGE_BYTES, depth: 200, arrayItems: 20_000, objectKeys: 2_000, stringLength: 8 * MIB };

let configPath: string;
let raisedPath: string;
beforeAll(() => {
  const base = { identity: { anonymous: { roles: [] } }, backends: { alpha: stdioFixture("alpha") } };
  configPath = writeConfig(tempDir(), { ...base, limits: { client: { messageBytes: MESSAGE_BYTES } } });
  raisedPath = writeConfig(tempDir(), { ...base, limits: { client: RAISED } });
});

/** What each front offers these tests: one raw call, timed from the first byte sent to the answer. */
type Front = { call(body: string): Promise<{ answer: Record<string, any>; ms: number }>; close(): Promise<void> };

function stdioFront(path: () => string): () => Promise<Front> {
  return async () => {
    const io: RawStdio = rawStdio(path());
    io.write(JSON.stringify(INIT) + "\n");
    expect((await io.next()).result.serverInfo.name).toBe("sentinel");
    io.write(JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }) + "\n");
    return {
      async call(body) {
        const started = performance.now();
        io.write(body + "\n");
        const answer = await io.next();
        return { answer, ms: performance.now() - started };
      },
      async close() {
        expect(await io.close()).toBe(0);
      },
    };
  };
}

function httpFront(path: () => string): () => Promise<Front> {
  return async () => {
    const gw: HttpGateway = await startHttpGateway(path());
    const http: RawHttp = await rawHttp(gw.url);
    return {
      async call(body) {
        const started = performance.now();
        const res = await http.post(body);
        const answer = (await res.json()) as Record<string, any>;
        return { answer: { ...answer, status: res.status }, ms: performance.now() - started };
      },
      close: () => gw.stop(),
    };
  };
}

for (const [name, open, openRaised] of [
  ["stdio", stdioFront(() => configPath), stdioFront(() => raisedPath)],
  ["http", httpFront(() => configPath), httpFront(() => raisedPath)],
] as const) {
  describe(`${name} front`, () => {
    let front: Front;
    beforeAll(async () => {
      front = await open();
    });
    afterAll(() => front.close());

    let id = 100;
    for (const h of HOSTILE) {
      test(`${h.what}: -32600 naming limits.client.${h.limit} at once, and the next call is served`, async () => {
        const { answer, ms } = await front.call(callWith(++id, h.extra()));
        expect(answer).toMatchObject({ jsonrpc: "2.0", id, error: { code: -32600, message: expect.stringContaining(`limits.client.${h.limit}`) } });
        if (name === "http") expect(answer.status).toBe(400);
        expect(ms).toBeLessThan(1000);
        const next = await front.call(echo(++id, "still here"));
        expect(next.answer).toMatchObject({ id, result: { content: [{ text: "still here" }] } });
      });
    }

    test("a batch longer than limits.client.arrayItems is refused whole", async () => {
      const batch = JSON.stringify(Array.from({ length: 10_001 }, (_, i) => ({ jsonrpc: "2.0", id: 10_000 + i, method: "ping" })));
      const { answer } = await front.call(batch);
      expect(answer).toMatchObject({ id: null, error: { code: -32600, message: expect.stringContaining("limits.client.arrayItems") } });
    });
  });

  describe(`${name} front with raised limits.client`, () => {
    let front: Front;
    beforeAll(async () => {
      front = await openRaised();
    });
    afterAll(() => front.close());

    let id = 200;
    for (const h of HOSTILE.filter((h) => h.raised)) {
      test(`${h.what} passes, and reaches the backend`, async () => {
        const { answer } = await front.call(callWith(++id, h.extra()));
        expect(answer).toMatchObject({ id, result: { content: [{ text: "hi" }] } });
      });
    }

    test("the raised limits still hold at their own values", async () => {
      const { answer } = await front.call(callWith(++id, nested(RAISED.depth)));
      expect(answer).toMatchObject({ id, error: { code: -32600, message: expect.stringContaining("deeper than 200 levels (limits.client.depth)") } });
    });
  });
}

test("refused shapes are in the audit trail, from both fronts", async () => {
  const rows = await auditRows(configPath, ["--method", "(invalid)"]);
  for (const front of ["stdio", "http"]) {
    const mine = rows.filter((r) => r.front === front && r.error_code === -32600).map((r) => r.error ?? "");
    for (const h of HOSTILE) expect(mine.some((e) => e.includes(`limits.client.${h.limit}`))).toBe(true);
  }
  // Nothing refused went further: the only calls that reached the pipeline are the follow-up echoes.
  const calls = await auditRows(configPath, ["--method", "tools/call"]);
  expect(calls).toHaveLength(2 * HOSTILE.length);
  expect(calls.every((r) => r.outcome === "ok")).toBe(true);
});

describe("a backend answer breaking limits.backend", () => {
  let beta: Spawned;
  let gamma: Spawned;
  let io: RawStdio;
  beforeAll(async () => {
    [beta, gamma] = await Promise.all([startFixture("beta", "http"), startFixture("gamma", "sse")]);
    io = rawStdio(
      writeConfig(tempDir(), {
        // A lower string limit than the 64 MiB default, so that a 200 KB text breaks it.
        limits: { backend: { stringLength: 100_000 } },
        backends: { alpha: stdioFixture("alpha"), beta: { url: beta.url }, gamma: { url: gamma.url, type: "sse" } },
      }),
    );
    io.write(JSON.stringify(INIT) + "\n");
    await io.next();
  });
  afterAll(async () => {
    await io.close();
    await Promise.all([beta.stop(), gamma.stop()]);
  });

  // Default backend limits: 64 levels, 100,000 items, 10,000 keys. The result itself sits 3 levels deep.
  const ANSWERS: { what: string; tool: string; args: Record<string, number>; limit: string }[] = [
    { what: "nested 100 deep", tool: "shape", args: { depth: 100 }, limit: "depth" },
    { what: "nested 100 deep in 70 KB (refused unparsed)", tool: "shape", args: { depth: 100, pad: 70_000 }, limit: "depth" },
    { what: "an array of 100,001 items", tool: "shape", args: { items: 100_001 }, limit: "arrayItems" },
    { what: "an object with 10,001 keys", tool: "shape", args: { keys: 10_001 }, limit: "objectKeys" },
    { what: "a string of 200,000 characters", tool: "big", args: { bytes: 200_000 }, limit: "stringLength" },
  ];

  let id = 300;
  for (const backend of ["alpha", "beta", "gamma"]) {
    for (const a of ANSWERS) {
      test(`${backend} (${backend === "alpha" ? "stdio" : backend === "beta" ? "Streamable HTTP" : "SSE"}): ${a.what} fails that call with -32000, and the backend keeps serving`, async () => {
        const started = performance.now();
        io.write(JSON.stringify({ jsonrpc: "2.0", id: ++id, method: "tools/call", params: { name: `${backend}__${a.tool}`, arguments: a.args } }) + "\n");
        const answer = await io.next(10_000);
        // Read before toMatchObject: Bun 1.4.5's toMatchObject replaces matched values with the asymmetric matchers.
        expect(answer.error?.message).toContain(`Backend ${backend}`);
        expect(answer).toMatchObject({ id, error: { code: -32000, message: expect.stringContaining(`limits.backend.${a.limit}`) } });
        expect(performance.now() - started).toBeLessThan(3000);
        io.write(JSON.stringify({ jsonrpc: "2.0", id: ++id, method: "tools/call", params: { name: `${backend}__echo`, arguments: { text: "fine" } } }) + "\n");
        expect(await io.next(10_000)).toMatchObject({ id, result: { content: [{ text: "fine" }] } });
      });
    }
  }

  test("each refusal is logged with the backend's name", () => {
    for (const backend of ["alpha", "beta", "gamma"]) expect(io.stderr()).toMatch(new RegExp(`\\[${backend}\\] refused a response from the backend: it .*limits\\.backend\\.depth`));
  });
});
