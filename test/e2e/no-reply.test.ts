// What JSON-RPC 2.0 says must not be answered gets no answer: notifications and
// responses, valid or not, alone or in batches, on both fronts. A few hundred
// generated ones, then the cases that must still be answered.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { INIT, rawHttp, rawStdio, startHttpGateway, stdioFixture, tempDir, writeConfig, type HttpGateway, type RawHttp, type RawStdio } from "./harness.ts";

/** A seeded generator (mulberry32), so that a failure can be replayed. */
function random(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const nested = (levels: number): unknown => {
  let v: unknown[] = [];
  for (let i = 1; i < levels; i++) v = [v];
  return v;
};

type Unanswered = { text: string; valid: boolean };

/** Notifications and responses, valid and not: none may be answered. */
function generate(seed: number, count: number): Unanswered[] {
  const rnd = random(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const id = () => pick([Math.floor(rnd() * 1e6), `s-${Math.floor(rnd() * 1e6)}`, -1, 0]);
  const badId = () => pick([{}, [], true, false, [1], { id: 1 }]);
  const method = () => pick(["notifications/initialized", "notifications/fuzz", `notifications/x${Math.floor(rnd() * 100)}`, "fuzz/ping", "ping", "tools/call", "", "notifications/cancelled"]);
  const params = () => pick([undefined, {}, { a: 1 }, { requestId: id(), reason: "fuzz" }, { progressToken: id(), progress: 1 }]);
  const valid: (() => Record<string, unknown>)[] = [
    () => ({ jsonrpc: "2.0", method: method(), ...(params() && { params: params() }) }),
    () => ({ jsonrpc: "2.0", id: id(), result: pick([{}, { ok: true }, { content: [] }]) }),
    () => ({ jsonrpc: "2.0", id: id(), error: { code: pick([-32600, -32601, -1, 42]), message: "fuzz" } }),
    () => ({ jsonrpc: "2.0", id: null, error: { code: -32700, message: "Parse error", data: { x: 1 } } }),
    // A method makes it a notification, whatever else it carries.
    () => ({ jsonrpc: "2.0", method: method(), result: {}, error: { code: 1, message: "x" } }),
  ];
  const invalid: (() => Record<string, unknown>)[] = [
    // Notifications with by-position or non-object params, a wrong version, or a hostile shape.
    () => ({ jsonrpc: "2.0", method: method(), params: pick([[1, 2], [], "x", 42, null, true]) }),
    () => ({ jsonrpc: pick([undefined, "1.0", 2, null, "2.0 "]), method: method() }),
    () => ({ jsonrpc: "2.0", method: method(), params: { deep: nested(100) } }),
    () => ({ jsonrpc: "2.0", method: method(), params: Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`k${i}`, i])) }),
    () => ({ jsonrpc: "2.0", method: method(), params: { wide: new Array(10_001).fill(1) } }),
    // Responses with both or neither of result and error, bad ids, bad results and errors.
    () => ({ jsonrpc: "2.0", id: id(), result: {}, error: { code: 1, message: "both" } }),
    () => ({ jsonrpc: "2.0", id: badId(), result: {} }),
    () => ({ jsonrpc: "2.0", id: null, result: {} }),
    () => ({ jsonrpc: "2.0", result: {} }),
    () => ({ jsonrpc: "2.0", error: { code: 1, message: "no id" } }),
    () => ({ jsonrpc: pick(["1.0", undefined]), id: id(), result: {} }),
    () => ({ jsonrpc: "2.0", id: id(), result: pick([5, "x", null, [1, 2]]) }),
    () => ({ jsonrpc: "2.0", id: id(), error: pick(["x", null, { code: "1", message: "m" }, { code: 1 }, 7]) }),
    () => ({ jsonrpc: "2.0", id: id() }),
    () => ({ id: id() }),
    () => ({ jsonrpc: "2.0", id: id(), result: { deep: nested(100) } }),
  ];
  const one = (): Unanswered => {
    const ok = rnd() < 0.35;
    return { text: JSON.stringify(pick(ok ? valid : invalid)()), valid: ok };
  };
  const out: Unanswered[] = [];
  for (let i = 0; i < count; i++) {
    if (rnd() < 0.2) {
      // A batch of only notifications and responses gets no reply at all (JSON-RPC 2.0 §6).
      const items = Array.from({ length: 1 + Math.floor(rnd() * 5) }, one);
      out.push({ text: `[${items.map((m) => m.text).join(",")}]`, valid: items.every((m) => m.valid) });
    } else {
      out.push(one());
    }
  }
  return out;
}

const FUZZ = generate(7, 400);

// Must still be answered: requests, including invalid ones (under id null when their id is unusable).
const ANSWERED: { text: string; id: unknown; code: number }[] = [
  { text: '{"jsonrpc":"2.0","id":null,"method":"ping"}', id: null, code: -32600 },
  { text: '{"jsonrpc":"2.0","id":{},"method":"ping"}', id: null, code: -32600 },
  { text: '{"jsonrpc":"2.0","id":[1],"method":"ping"}', id: null, code: -32600 },
  { text: '{"jsonrpc":"2.0","id":9,"method":"ping","params":[1]}', id: 9, code: -32600 },
  { text: '{"id":10,"method":"ping"}', id: 10, code: -32600 },
  { text: '{"jsonrpc":"2.0","id":11,"params":{}}', id: 11, code: -32600 },
  { text: '{"jsonrpc":"2.0","method":1,"params":"bar"}', id: null, code: -32600 },
  { text: '{"foo":"boo"}', id: null, code: -32600 },
  { text: "42", id: null, code: -32600 },
  { text: '{"jsonrpc":"2.0","method"', id: null, code: -32700 },
  { text: `{"jsonrpc":"2.0","id":12,"method":"ping","params":{"deep":${JSON.stringify(nested(100))}}}`, id: 12, code: -32600 },
];

let configPath: string;
beforeAll(() => {
  configPath = writeConfig(tempDir(), { identity: { anonymous: { roles: [] } }, backends: { alpha: stdioFixture("alpha") } });
});

test("the generated messages are a real mix", () => {
  const valid = FUZZ.filter((m) => m.valid).length;
  const batches = FUZZ.filter((m) => m.text.startsWith("[")).length;
  expect(valid).toBeGreaterThan(50);
  expect(FUZZ.length - valid).toBeGreaterThan(150);
  expect(batches).toBeGreaterThan(40);
});

describe("stdio front", () => {
  let io: RawStdio;
  beforeAll(async () => {
    io = rawStdio(configPath);
    io.write(JSON.stringify(INIT) + "\n");
    await io.next();
    io.write(JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }) + "\n");
  });
  afterAll(async () => {
    expect(await io.close()).toBe(0);
  });

  test(`${FUZZ.length} notifications and responses get no reply: a ping sent after them is answered first`, async () => {
    io.write(FUZZ.map((m) => m.text).join("\n") + "\n");
    io.write(JSON.stringify({ jsonrpc: "2.0", id: "after-fuzz", method: "ping" }) + "\n");
    expect(await io.next()).toEqual({ jsonrpc: "2.0", id: "after-fuzz", result: {} });
    // And nothing turns up late: the next line is the next ping's answer.
    io.write(JSON.stringify({ jsonrpc: "2.0", id: "barrier", method: "ping" }) + "\n");
    expect(await io.next()).toEqual({ jsonrpc: "2.0", id: "barrier", result: {} });
    // Refused ones were logged instead, without their params.
    expect(io.stderr()).toContain("unanswered: Invalid Request");
    expect(io.stderr()).not.toContain("k1000");
  });

  for (const a of ANSWERED) {
    test(`still answered: ${a.text.slice(0, 60)}`, async () => {
      io.write(a.text + "\n");
      expect(await io.next()).toMatchObject({ jsonrpc: "2.0", id: a.id, error: { code: a.code } });
    });
  }

  test("a batch is answered for its requests only; [1,2,3] gets three errors", async () => {
    io.write(`[{"jsonrpc":"2.0","method":"notifications/x"},{"jsonrpc":"2.0","id":5,"result":{}},{"jsonrpc":"2.0","id":"b1","method":"ping"}]\n`);
    expect(await io.next()).toEqual([{ jsonrpc: "2.0", id: "b1", result: {} }] as never);
    io.write("[1,2,3]\n");
    const answers = (await io.next()) as unknown as { id: unknown; error: { code: number } }[];
    expect(answers.map((a) => [a.id, a.error.code])).toEqual([[null, -32600], [null, -32600], [null, -32600]]);
  });
});

describe("http front", () => {
  let gw: HttpGateway;
  let http: RawHttp;
  beforeAll(async () => {
    gw = await startHttpGateway(configPath);
    http = await rawHttp(gw.url);
  });
  afterAll(() => gw.stop());

  test(`${FUZZ.length} notifications and responses: 202 when accepted, 400 when not, never a body`, async () => {
    const wrong: string[] = [];
    for (const m of FUZZ) {
      const res = await http.post(m.text);
      const body = await res.text();
      if (res.status !== (m.valid ? 202 : 400) || body !== "") wrong.push(`${res.status} ${body.slice(0, 100)} for ${m.text.slice(0, 100)}`);
    }
    expect(wrong).toEqual([]);
    // The session still serves.
    const res = await http.post(JSON.stringify({ jsonrpc: "2.0", id: "after-fuzz", method: "ping" }));
    expect(await res.json()).toEqual({ jsonrpc: "2.0", id: "after-fuzz", result: {} });
  });

  for (const a of ANSWERED) {
    test(`still answered: ${a.text.slice(0, 60)}`, async () => {
      const res = await http.post(a.text);
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ jsonrpc: "2.0", id: a.id, error: { code: a.code } });
    });
  }

  test("a batch is answered for its requests only", async () => {
    const res = await http.post(`[{"jsonrpc":"2.0","method":"notifications/x"},{"jsonrpc":"2.0","id":5,"result":{}},{"jsonrpc":"2.0","id":"b1","method":"ping"}]`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual([{ jsonrpc: "2.0", id: "b1", result: {} }]);
  });
});
