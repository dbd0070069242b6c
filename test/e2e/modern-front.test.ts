// MCP 2026-07-28 on Sentinel's fronts, through dist/sentinel, in front of a 2025 backend (the SDK v1
// echo fixture): a v2 client in auto mode goes modern on stdio and HTTP and its backend's sampling,
// elicitation and roots come back as input_required (the call parked until the retry); raw requests
// check the ladder, the sealed request state (tampered, expired, another principal's), listens,
// per-request log levels, and cancellation; the config switch keeps clients on 2025-11-25.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { StdioClientTransport } from "@modelcontextprotocol/client/stdio";
import { auditRows, BIN, BUN, EVERYTHING, eventually, rawStdio, runCli, startHttpGateway, stdioFixture, tempDir, textOf, writeConfig, type HttpGateway } from "./harness.ts";

const V = "2026-07-28";
/** server-everything wants a recent Node; npm's node package is installed for the conformance suite. */
const NODE22 = `${import.meta.dir}/../../node_modules/node/bin/node`;
const KEYS = { alice: "modern-front-key-alice-0123456789", bob: "modern-front-key-bob-0123456789ab" };

function meta(capabilities: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) {
  return { "io.modelcontextprotocol/protocolVersion": V, "io.modelcontextprotocol/clientCapabilities": capabilities, ...extra };
}

let dir: string;
let configPath: string;
/** The same backends for stdio, where the caller is the local user (identity.local). */
let stdioPath: string;
let gw: HttpGateway;

beforeAll(async () => {
  dir = tempDir();
  const hash = async (k: string) => (await runCli(["token", "hash", k])).stdout.trim().split(/\s+/).pop()!;
  // "own": one connection per client session, so that concurrent callers' backend requests cannot be confused.
  const backends = {
    echo: stdioFixture("echo"),
    own: stdioFixture("own", { isolation: "session" }),
    // A 2026-07-28 backend with a tool whose argument is mirrored in a header (x-mcp-header).
    mb: { command: BUN, args: [`${import.meta.dir}/modern-backend-fixture.ts`], era: "modern" },
  };
  configPath = writeConfig(dir, {
    backends,
    auth: { apiKeys: [{ name: "alice", hash: await hash(KEYS.alice) }, { name: "bob", hash: await hash(KEYS.bob) }] },
    modern: { inputTimeout: "1500ms", maxParked: 2 },
  });
  stdioPath = writeConfig(tempDir(), { backends, identity: { local: { sub: "local" } } });
  gw = await startHttpGateway(configPath);
});

afterAll(async () => {
  await gw?.stop();
});

/** One modern POST, headers as the spec wants them unless `headers` says otherwise. */
async function post(body: Record<string, any>, who: keyof typeof KEYS = "alice", headers: Record<string, string> = {}) {
  const p = body.params ?? {};
  const name = body.method === "resources/read" ? p.uri : p.name;
  const res = await fetch(gw.url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      authorization: `Bearer ${KEYS[who]}`,
      "mcp-protocol-version": V,
      "mcp-method": body.method,
      ...(typeof name === "string" && { "mcp-name": name }),
      ...headers,
    },
    body: JSON.stringify({ jsonrpc: "2.0", ...body }),
  });
  const type = res.headers.get("content-type") ?? "";
  if (type.includes("text/event-stream")) {
    const events = (await res.text())
      .split("\n")
      .filter((l) => l.startsWith("data: "))
      .map((l) => JSON.parse(l.slice(6)));
    return { status: res.status, events, body: events.find((e) => "id" in e && !("method" in e)) };
  }
  return { status: res.status, events: [] as any[], body: res.status === 202 || res.status === 204 ? null : await res.json() };
}

function v2Client(capabilities: Record<string, unknown>) {
  const client = new Client({ name: "modern-front-test", version: "1.0.0" }, { versionNegotiation: { mode: "auto" }, capabilities });
  client.setRequestHandler("elicitation/create", (req) => ({ action: "accept", content: { answer: `42 to ${String(req.params.message)}` } }));
  client.setRequestHandler("sampling/createMessage", () => ({ role: "assistant", content: { type: "text", text: "sampled" }, model: "m" }));
  client.setRequestHandler("roots/list", () => ({ roots: [{ uri: "file:///work", name: "work" }] }));
  return client;
}

async function exercise(client: Client) {
  expect(client.getProtocolEra()).toBe("modern");
  const { tools } = await client.listTools();
  expect(tools.map((t) => t.name)).toContain("echo__ask_user");
  expect(textOf(await client.callTool({ name: "echo__echo", arguments: { text: "hi" } }))).toBe("hi");
  // The backend's elicitation, sampling and roots requests become input_required; the client retries with answers.
  expect(textOf(await client.callTool({ name: "echo__ask_user", arguments: { question: "why" } }))).toBe("user accept: 42 to why");
  expect(textOf(await client.callTool({ name: "echo__ask_llm", arguments: { prompt: "p" } }))).toBe("llm said: sampled");
  expect(textOf(await client.callTool({ name: "echo__roots", arguments: {} }))).toContain("file:///work");
}

const ALL = { elicitation: { form: {} }, sampling: {}, roots: {} };

describe("a v2 client in auto mode goes modern", () => {
  test("stdio: discover, list, call, input_required for elicitation, sampling and roots", async () => {
    const client = v2Client(ALL);
    await client.connect(new StdioClientTransport({ command: BIN, args: ["--config", stdioPath], stderr: "ignore" }));
    try {
      await exercise(client);
    } finally {
      await client.close();
    }
  });

  test("http: the same, on one /mcp endpoint", async () => {
    const client = v2Client(ALL);
    await client.connect(
      new StreamableHTTPClientTransport(new URL(gw.url), { requestInit: { headers: { authorization: `Bearer ${KEYS.alice}` } } }),
    );
    try {
      await exercise(client);
    } finally {
      await client.close();
    }
  });

  test("with modern.enabled false the probe is refused and the client stays on 2025-11-25", async () => {
    const off = tempDir();
    const path = writeConfig(off, { backends: { echo: stdioFixture("echo") }, identity: { local: { sub: "local" } }, modern: { enabled: false } });
    const client = v2Client(ALL);
    await client.connect(new StdioClientTransport({ command: BIN, args: ["--config", path], stderr: "ignore" }));
    try {
      expect(client.getProtocolEra()).toBe("legacy");
      expect(textOf(await client.callTool({ name: "echo__ask_user", arguments: { question: "q" } }))).toBe("user accept: 42 to q");
    } finally {
      await client.close();
    }
  });
});

test("a 2025 tool that runs only as a task gives a modern client (no tasks extension) its plain result", async () => {
  const path = writeConfig(tempDir(), { backends: { everything: { command: NODE22, args: [EVERYTHING, "stdio"] } }, identity: { local: { sub: "local" } } });
  const client = v2Client(ALL);
  await client.connect(new StdioClientTransport({ command: BIN, args: ["--config", path], stderr: "ignore" }));
  try {
    expect((await client.listTools()).tools.map((t) => t.name)).toContain("everything__simulate-research-query");
    const result = await client.callTool({ name: "everything__simulate-research-query", arguments: { topic: "bees" } });
    expect(textOf(result)).toContain("Research Report: bees");
    expect(Object.keys((result._meta ?? {}) as object)).not.toContain("io.modelcontextprotocol/related-task");
  } finally {
    await client.close();
  }
}, 30_000);

describe("the ladder", () => {
  test("discover answers with Sentinel's version, capabilities, caching fields and serverInfo", async () => {
    const { status, body } = await post({ id: 1, method: "server/discover", params: { _meta: meta() } });
    expect(status).toBe(200);
    expect(body.result).toMatchObject({ supportedVersions: [V], resultType: "complete", ttlMs: 0, cacheScope: "private" });
    expect(body.result.capabilities.tools).toEqual({ listChanged: true });
    expect(body.result._meta["io.modelcontextprotocol/serverInfo"].name).toBe("sentinel");
  });

  test("removed and unknown methods are 404 -32601 under their id", async () => {
    for (const method of ["initialize", "ping", "logging/setLevel", "resources/subscribe", "tasks/list", "nope/nothing"]) {
      const { status, body } = await post({ id: `m-${method}`, method, params: { _meta: meta() } });
      expect([method, status, body.error.code, body.id]).toEqual([method, 404, -32601, `m-${method}`]);
    }
  });

  test("envelope, version and header errors are 400 with their codes", async () => {
    const missingCaps = await post({ id: 1, method: "tools/list", params: { _meta: { "io.modelcontextprotocol/protocolVersion": V } } });
    expect([missingCaps.status, missingCaps.body.error.code]).toEqual([400, -32602]);
    const noEnvelope = await post({ id: 2, method: "tools/list", params: {} });
    expect([noEnvelope.status, noEnvelope.body.error.code]).toEqual([400, -32602]);
    const future = await post(
      { id: 3, method: "tools/list", params: { _meta: { ...meta(), "io.modelcontextprotocol/protocolVersion": "2099-01-01" } } },
      "alice",
      { "mcp-protocol-version": "2099-01-01" },
    );
    expect([future.status, future.body.error.code, future.body.error.data]).toEqual([400, -32022, { supported: [V], requested: "2099-01-01" }]);
    const wrongMethod = await post({ id: 4, method: "tools/list", params: { _meta: meta() } }, "alice", { "mcp-method": "prompts/list" });
    expect([wrongMethod.status, wrongMethod.body.error.code]).toEqual([400, -32020]);
    const wrongName = await post({ id: 5, method: "tools/call", params: { name: "echo__echo", arguments: { text: "x" }, _meta: meta() } }, "alice", {
      "mcp-name": "echo__add",
    });
    expect([wrongName.status, wrongName.body.error.code]).toEqual([400, -32020]);
    // A base64-encoded Mcp-Name is decoded before it is compared.
    const encoded = await post({ id: 6, method: "tools/call", params: { name: "echo__echo", arguments: { text: "b" }, _meta: meta() } }, "alice", {
      "mcp-name": `=?base64?${btoa("echo__echo")}?=`,
    });
    expect(textOf(encoded.body.result)).toBe("b");
  });

  test("Mcp-Param-* headers of a tool's x-mcp-header arguments are checked against the body", async () => {
    const call = (region: string) => ({ id: 1, method: "tools/call", params: { name: "mb__region", arguments: { region }, _meta: meta() } });
    const missing = await post(call("eu-west"));
    expect([missing.status, missing.body.error.code]).toEqual([400, -32020]);
    const wrong = await post(call("eu-west"), "alice", { "mcp-param-region": "us-east" });
    expect([wrong.status, wrong.body.error.code]).toEqual([400, -32020]);
    const right = await post(call("eu-wést"), "alice", { "mcp-param-region": `=?base64?${Buffer.from("eu-wést").toString("base64")}?=` });
    expect(right.status).toBe(200);
    expect(right.body.result.resultType).toBe("complete");
  });

  test("a 2025 client on the same endpoint still gets its session", async () => {
    const res = await fetch(gw.url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream", authorization: `Bearer ${KEYS.alice}` },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "x", version: "1" } } }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("mcp-session-id")).toBeTruthy();
    expect(((await res.json()) as any).result.protocolVersion).toBe("2025-11-25");
  });

  test("results carry resultType and, for lists, ttlMs 0 and private scope", async () => {
    const { body } = await post({ id: 1, method: "tools/list", params: { _meta: meta() } });
    expect(body.result).toMatchObject({ resultType: "complete", ttlMs: 0, cacheScope: "private" });
    const read = await post({ id: 2, method: "resources/read", params: { uri: "fixture://echo/info", _meta: meta() } });
    expect(read.body.result).toMatchObject({ resultType: "complete", ttlMs: 0, cacheScope: "private" });
    const missing = await post({ id: 3, method: "resources/read", params: { uri: "fixture://nothing/here", _meta: meta() } });
    expect([missing.status, missing.body.error.code, missing.body.error.data?.uri]).toEqual([200, -32602, "fixture://nothing/here"]);
  });
});

test("a large 2025 result (relayed as its bytes) says resultType complete to a modern client, on both fronts", async () => {
  const size = 3 * 1024 * 1024;
  const body = { id: "big", method: "tools/call", params: { name: "echo__big", arguments: { bytes: size }, _meta: meta() } };
  const http = await post(body);
  expect(http.body.result.resultType).toBe("complete");
  expect(textOf(http.body.result).length).toBe(size);
  const raw = rawStdio(stdioPath);
  try {
    raw.write(JSON.stringify({ jsonrpc: "2.0", ...body }) + "\n");
    const answer = await raw.next(20_000);
    expect(answer.result.resultType).toBe("complete");
    expect(textOf(answer.result).length).toBe(size);
  } finally {
    await raw.close();
  }
}, 30_000);

describe("input_required for a 2025 backend's requests (parking)", () => {
  const ask = (id: number, extra: Record<string, unknown> = {}, caps: Record<string, unknown> = { elicitation: {} }) => ({
    id,
    method: "tools/call",
    params: { name: "echo__ask_user", arguments: { question: "q?" }, _meta: meta(caps), ...extra },
  });

  test("the state is sealed: tampered, another principal's, or another call's is refused; the right retry completes", async () => {
    const first = await post(ask(1));
    expect(first.body.result.resultType).toBe("input_required");
    const [key, request] = Object.entries(first.body.result.inputRequests as Record<string, any>)[0]!;
    expect(request).toMatchObject({ method: "elicitation/create", params: { message: "q?" } });
    const state = first.body.result.requestState as string;
    const answer = { [key]: { action: "accept", content: { answer: "yes" } } };
    const tampered = await post(ask(2, { inputResponses: answer, requestState: state.slice(0, -2) + "xx" }));
    expect(tampered.body.error.code).toBe(-32602);
    const foreign = await post(ask(3, { inputResponses: answer, requestState: state }), "bob");
    expect(foreign.body.error.message).toContain("another principal");
    const other = await post({ ...ask(4, { inputResponses: answer, requestState: state }), params: { ...ask(4).params, arguments: { question: "other" }, inputResponses: answer, requestState: state } });
    expect(other.body.error.message).toContain("another request");
    const done = await post(ask(5, { inputResponses: answer, requestState: state }));
    expect(done.body.id).toBe(5);
    expect(textOf(done.body.result)).toBe("user accept: yes");
    // Single use: the call has finished, so the same state names nothing.
    const again = await post(ask(6, { inputResponses: answer, requestState: state }));
    expect(again.body.error.code).toBe(-32602);
  });

  test("a retry without the answer is asked again; extra answers are ignored", async () => {
    const first = await post(ask(1));
    const state = first.body.result.requestState;
    const key = Object.keys(first.body.result.inputRequests)[0]!;
    const empty = await post(ask(2, { inputResponses: { unrelated: { action: "decline" } }, requestState: state }));
    expect(empty.body.result.resultType).toBe("input_required");
    expect(Object.keys(empty.body.result.inputRequests)).toEqual([key]);
    const done = await post(ask(3, { inputResponses: { [key]: { action: "decline" } }, requestState: empty.body.result.requestState }));
    expect(textOf(done.body.result)).toBe("user decline: ");
  });

  test("progress of a parked call goes to the retry open now, under the retry's token", async () => {
    const call = (id: number, token: string, extra: Record<string, unknown> = {}) => ({
      id,
      method: "tools/call",
      params: { name: "echo__ask_then_progress", arguments: { steps: 2 }, _meta: meta({ elicitation: {} }, { progressToken: token }), ...extra },
    });
    const first = await post(call(1, "first"));
    expect(first.body.result.resultType).toBe("input_required");
    const key = Object.keys(first.body.result.inputRequests)[0]!;
    const retry = await post(call(2, "second", { inputResponses: { [key]: { action: "accept", content: { answer: "go" } } }, requestState: first.body.result.requestState }));
    const progress = retry.events.filter((e) => e.method === "notifications/progress");
    expect(progress.length).toBe(2);
    expect(progress.every((p) => p.params.progressToken === "second")).toBe(true);
    expect(textOf(retry.body.result)).toBe("go, then 2 steps");
  });

  test("a client without the capability gets a clean answer, never a hang", async () => {
    const { body } = await post(ask(1, {}, {}));
    expect(body.result.resultType).toBe("complete");
    expect(body.result.isError).toBe(true);
  });

  test("an abandoned park is cancelled at the backend after inputTimeout", async () => {
    const first = await post(ask(1, {}, { elicitation: {} }));
    const state = first.body.result.requestState;
    const key = Object.keys(first.body.result.inputRequests)[0]!;
    // The backend got its elicitation declined (cancel) and the call was cancelled: the audit row says so.
    await eventually(async () => (await auditRows(configPath)).some((r) => r.method === "tools/call" && r.error === "cancelled by client"), 10_000);
    const late = await post(ask(2, { inputResponses: { [key]: { action: "accept", content: { answer: "late" } } }, requestState: state }));
    expect(late.body.error.code).toBe(-32602);
  });

  test("two principals park at once and neither sees the other's call; the per-principal cap holds", async () => {
    const own = (id: number) => ({ ...ask(id), params: { ...ask(id).params, name: "own__ask_user" } });
    const [a, b] = await Promise.all([post(own(1)), post(own(1), "bob")]);
    expect(a.body.result.resultType).toBe("input_required");
    expect(b.body.result.resultType).toBe("input_required");
    expect(a.body.result.requestState).not.toBe(b.body.result.requestState);
    const crossed = await post({ ...own(2), params: { ...own(2).params, inputResponses: {}, requestState: a.body.result.requestState } }, "bob");
    expect(crossed.body.error.code).toBe(-32602);
    // alice has one parked; a second parks too; a third is over maxParked (2): its elicitation is cancelled at once.
    const second = await post(ask(3));
    expect(second.body.result.resultType).toBe("input_required");
    const third = await post(ask(4));
    expect(third.body.result.resultType).toBe("complete");
    expect(textOf(third.body.result)).toBe("user cancel: ");
  });
});

describe("per-request logs, progress, cancellation", () => {
  test("log lines only for a request that asks for them, at its level", async () => {
    const call = (id: number, level?: string) => ({
      id,
      method: "tools/call",
      params: { name: "echo__log", arguments: { level: "info", message: "hello" }, _meta: meta({}, level ? { "io.modelcontextprotocol/logLevel": level } : {}) },
    });
    const none = await post(call(1));
    expect(none.events.filter((e) => e.method === "notifications/message")).toEqual([]);
    const debug = await post(call(2, "debug"));
    expect(debug.events.filter((e) => e.method === "notifications/message").length).toBe(1);
    const error = await post(call(3, "error"));
    expect(error.events.filter((e) => e.method === "notifications/message")).toEqual([]);
  });

  test("progress goes on the request's own stream under its token", async () => {
    const { events, body } = await post({ id: 1, method: "tools/call", params: { name: "echo__progress", arguments: { steps: 3 }, _meta: meta({}, { progressToken: "tok" }) } });
    const progress = events.filter((e) => e.method === "notifications/progress");
    expect(progress.length).toBe(3);
    expect(progress.every((p) => p.params.progressToken === "tok")).toBe(true);
    expect(body.result.resultType).toBe("complete");
  });

  test("closing the answer stream cancels the call at the backend", async () => {
    const aborter = new AbortController();
    const pending = fetch(gw.url, {
      method: "POST",
      signal: aborter.signal,
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream", authorization: `Bearer ${KEYS.bob}`, "mcp-protocol-version": V, "mcp-method": "tools/call", "mcp-name": "echo__wait" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 77, method: "tools/call", params: { name: "echo__wait", arguments: { ms: 30_000 }, _meta: meta() } }),
    }).catch(() => null);
    await Bun.sleep(300);
    aborter.abort();
    await pending;
    const row = await eventually(async () => (await auditRows(configPath)).find((r) => r.target === "echo__wait" && r.identity === "bob"), 10_000);
    expect(row!.error).toBe("cancelled by client");
    expect((row as any).latency_us).toBeLessThan(20_000_000);
  });
});

test("stdio: notifications/cancelled withdraws a modern call; nothing more is sent for it", async () => {
  const raw = rawStdio(stdioPath);
  try {
    raw.write(JSON.stringify({ jsonrpc: "2.0", id: "w", method: "tools/call", params: { name: "echo__wait", arguments: { ms: 30_000 }, _meta: meta() } }) + "\n");
    // The call has reached the backend once a later call on the same connection has been answered.
    raw.write(JSON.stringify({ jsonrpc: "2.0", id: "e", method: "tools/call", params: { name: "echo__echo", arguments: { text: "x" }, _meta: meta() } }) + "\n");
    expect((await raw.next()).id).toBe("e");
    raw.write(JSON.stringify({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: "w", reason: "user" } }) + "\n");
    raw.write(JSON.stringify({ jsonrpc: "2.0", id: "after", method: "tools/list", params: { _meta: meta() } }) + "\n");
    const next = await raw.next();
    expect(next.id).toBe("after");
    const row = await eventually(async () => (await auditRows(stdioPath)).find((r) => r.target === "echo__wait"));
    expect(row!.error).toBe("cancelled by client");
  } finally {
    await raw.close();
  }
});

describe("subscriptions/listen", () => {
  test("http: acknowledged first, then list changes tagged with the listen id", async () => {
    const res = await fetch(gw.url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream", authorization: `Bearer ${KEYS.alice}`, "mcp-protocol-version": V, "mcp-method": "subscriptions/listen" },
      body: JSON.stringify({ jsonrpc: "2.0", id: "L1", method: "subscriptions/listen", params: { notifications: { toolsListChanged: true, taskIds: ["x"] }, _meta: meta() } }),
    });
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = "";
    const next = async (pattern: string) => {
      while (!text.includes(pattern)) {
        const { value, done } = await reader.read();
        if (done) throw new Error("stream ended");
        text += decoder.decode(value);
      }
    };
    await next("acknowledged");
    const ack = JSON.parse(text.split("\n").find((l) => l.includes("acknowledged"))!.slice(6));
    expect(ack.params).toEqual({ notifications: { toolsListChanged: true }, _meta: { "io.modelcontextprotocol/subscriptionId": "L1" } });
    await post({ id: 9, method: "tools/call", params: { name: "echo__grow", arguments: { tool: "fresh" }, _meta: meta() } });
    await next("tools/list_changed");
    const change = JSON.parse(text.split("\n").find((l) => l.includes("tools/list_changed"))!.slice(6));
    expect(change.params._meta["io.modelcontextprotocol/subscriptionId"]).toBe("L1");
    await reader.cancel();
    // Audited as the request it is, with what it was granted.
    const row = await eventually(async () => (await auditRows(configPath)).find((r) => r.method === "subscriptions/listen" && r.identity === "alice"));
    expect(row!.target).toBe("toolsListChanged");
  });

  test("http: a listen's resource subscriptions: granted for what the caller may read, updates tagged with its id", async () => {
    const res = await fetch(gw.url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream", authorization: `Bearer ${KEYS.bob}`, "mcp-protocol-version": V, "mcp-method": "subscriptions/listen" },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: "R",
        method: "subscriptions/listen",
        params: { notifications: { resourceSubscriptions: ["fixture://echo/info", "fixture://nowhere/x"] }, _meta: meta() },
      }),
    });
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = "";
    const next = async (pattern: string) => {
      while (!text.includes(pattern)) text += decoder.decode((await reader.read()).value);
    };
    await next("acknowledged");
    const ack = JSON.parse(text.split("\n").find((l) => l.includes("acknowledged"))!.slice(6));
    expect(ack.params.notifications).toEqual({ resourceSubscriptions: ["fixture://echo/info"] });
    await post({ id: 1, method: "tools/call", params: { name: "echo__touch", arguments: {}, _meta: meta() } }, "bob");
    await next("resources/updated");
    const update = JSON.parse(text.split("\n").find((l) => l.includes("resources/updated"))!.slice(6));
    expect(update.params).toMatchObject({ uri: "fixture://echo/info", _meta: { "io.modelcontextprotocol/subscriptionId": "R" } });
    await reader.cancel();
  });

  test("http: listens are capped per principal; shutting down ends one with its final result", async () => {
    const g = await startHttpGateway(
      writeConfig(tempDir(), { backends: { echo: stdioFixture("echo") }, identity: { anonymous: { roles: [] } }, modern: { maxListens: 1 } }),
    );
    const listen = (id: string) =>
      fetch(g.url, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-protocol-version": V, "mcp-method": "subscriptions/listen" },
        body: JSON.stringify({ jsonrpc: "2.0", id, method: "subscriptions/listen", params: { notifications: { toolsListChanged: true }, _meta: meta() } }),
      });
    const res = await listen("S");
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = "";
    while (!text.includes("acknowledged")) text += decoder.decode((await reader.read()).value);
    const second = await listen("S2");
    expect(second.status).toBe(503);
    expect(((await second.json()) as { id: string; error: { message: string } })).toMatchObject({ id: "S2", error: { message: expect.stringContaining("Too many open listens") } });
    const stopping = g.stop();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value);
    }
    await stopping;
    const final = text.split("\n").filter((l) => l.startsWith("data: ")).map((l) => JSON.parse(l.slice(6))).find((m) => m.id === "S");
    expect(final).toEqual({ jsonrpc: "2.0", id: "S", result: { resultType: "complete", _meta: { "io.modelcontextprotocol/subscriptionId": "S" } } });
  });

  test("stdio: listen, a change, then notifications/cancelled ends it", async () => {
    const raw = rawStdio(stdioPath);
    try {
      // Lists wait for the backends, so that their first appearance is not announced as a change.
      raw.write(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list", params: { _meta: meta() } }) + "\n");
      expect((await raw.next()).id).toBe(1);
      raw.write(JSON.stringify({ jsonrpc: "2.0", id: "L", method: "subscriptions/listen", params: { notifications: { toolsListChanged: true, promptsListChanged: true }, _meta: meta() } }) + "\n");
      const ack = await raw.next();
      expect(ack.method).toBe("notifications/subscriptions/acknowledged");
      expect(ack.params.notifications).toEqual({ toolsListChanged: true, promptsListChanged: true });
      raw.write(JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "echo__grow", arguments: { tool: "t2" }, _meta: meta() } }) + "\n");
      const seen: Record<string, any>[] = [];
      while (!seen.some((m) => m.method === "notifications/tools/list_changed")) seen.push(await raw.next());
      expect(seen.find((m) => m.method === "notifications/tools/list_changed")!.params._meta["io.modelcontextprotocol/subscriptionId"]).toBe("L");
      raw.write(JSON.stringify({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: "L" } }) + "\n");
      raw.write(JSON.stringify({ jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: "echo__grow", arguments: { tool: "t3" }, _meta: meta() } }) + "\n");
      const after: Record<string, any>[] = [];
      while (!after.some((m) => m.id === 3)) after.push(await raw.next());
      // Once a list shows the new tool, the rebuild (which announces changes as it happens) is over.
      for (let id = 4; ; id++) {
        raw.write(JSON.stringify({ jsonrpc: "2.0", id, method: "tools/list", params: { _meta: meta() } }) + "\n");
        let answer: Record<string, any>;
        do after.push((answer = await raw.next()));
        while (answer.id !== id);
        if (answer.result.tools.some((t: { name: string }) => t.name === "echo__t3")) break;
      }
      expect(after.filter((m) => m.method?.endsWith("list_changed"))).toEqual([]);
    } finally {
      await raw.close();
    }
  });
});
