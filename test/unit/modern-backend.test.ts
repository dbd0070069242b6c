// The modern (2026-07-28) side of src/backends: what decides an era, the envelope and headers, the
// verdict store on a real SQLite file, and a Backend against a real stdio server that answers era errors
// and input_required on demand (modern-backend-server.ts).
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Backend, type BackendEvents } from "../../src/backends/backend.ts";
import { eraKey, eraOfError, eraOfResult, probeEra } from "../../src/backends/era-probe.ts";
import { relayableCapabilities, withEnvelope } from "../../src/backends/modern-envelope.ts";
import { META } from "../../src/jsonrpc/mcp-meta.ts";
import { encodeHeaderValue, modernHeaders, scanParamHeaders } from "../../src/backends/modern-headers.ts";
import { CancelSignal, type RequestOptions, type Result } from "../../src/backends/request.ts";
import { parseConfig } from "../../src/config/load.ts";
import type { JsonRpcErrorObject } from "../../src/errors.ts";
import type { Request } from "../../src/jsonrpc/message.ts";
import { openDatabase } from "../../src/store/database.ts";
import { EraVerdicts } from "../../src/store/era-verdicts.ts";

const dir = mkdtempSync(join(tmpdir(), "sentinel-modern-backend-"));

/** Polls until `check` holds (the server logs what it reads at its own pace), or 3 s pass. */
async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 150 && !check(); i++) await Bun.sleep(20);
}
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("era evidence", () => {
  test("a DiscoverResult offering 2026-07-28 is modern; anything else is legacy", () => {
    expect(eraOfResult({ supportedVersions: ["2026-07-28"], capabilities: {} })).toBe("modern");
    expect(eraOfResult({ supportedVersions: ["2027-01-01"], capabilities: {} })).toBe("legacy");
    expect(eraOfResult({ protocolVersion: "2025-11-25" })).toBe("legacy");
  });

  test("only -32022 naming a modern revision is modern; every other error is legacy", () => {
    expect(eraOfError({ code: -32022, data: { supported: ["2026-07-28"] } })).toBe("modern");
    expect(eraOfError({ code: -32022, data: { supported: ["2025-11-25"] } })).toBe("legacy");
    expect(eraOfError({ code: -32022 })).toBe("legacy");
    for (const code of [-32601, -32602, -32000, -32020, -32021, -32001]) expect(eraOfError({ code })).toBe("legacy");
  });

  test("the verdict key is what starts or locates the server", () => {
    const base = { name: "a", transport: "stdio", command: "bun", args: ["x.ts"], env: {}, inheritEnv: [] } as never;
    expect(eraKey(base)).toBe(eraKey({ ...(base as object), name: "b", prefix: "other" } as never));
    expect(eraKey(base)).not.toBe(eraKey({ ...(base as object), args: ["y.ts"] } as never));
    expect(eraKey(base)).not.toBe(eraKey({ ...(base as object), env: { K: "v" } } as never));
    expect(eraKey({ transport: "http", url: "http://a/mcp" } as never)).not.toBe(eraKey({ transport: "http", url: "http://b/mcp" } as never));
  });
});

describe("probing over HTTP", () => {
  // A server per answer: what a 2025 server, a 2026 one, an auth wall or a broken proxy says to server/discover.
  const answers: Record<string, () => Response | Promise<Response>> = {
    modern: () => Response.json({ jsonrpc: "2.0", id: "sentinel-era-probe", result: { supportedVersions: ["2026-07-28"], capabilities: {} } }),
    corrective: () => Response.json({ jsonrpc: "2.0", id: 1, error: { code: -32022, message: "v", data: { supported: ["2026-07-28"] } } }, { status: 400 }),
    "no-session": () => Response.json({ jsonrpc: "2.0", id: null, error: { code: -32000, message: "Bad Request: No valid session ID provided" } }, { status: 400 }),
    "not-found": () => new Response("not found", { status: 404 }),
    "no-get": () => new Response(null, { status: 405 }),
    unauthorized: () => new Response("who are you", { status: 401 }),
    forbidden: () => new Response(null, { status: 403 }),
    broken: () => Response.json({ jsonrpc: "2.0", id: 1, error: { code: -32022, message: "v", data: { supported: ["2026-07-28"] } } }, { status: 502 }),
    silent: () => new Promise<Response>(() => {}),
  };
  const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: (req) => answers[new URL(req.url).pathname.slice(1)]!() });
  afterAll(() => server.stop(true));
  const probe = (path: string) => {
    const limits = parseConfig("{}", "<test>", {}).limits.backend;
    return probeEra({ name: "p", transport: "http", url: `http://127.0.0.1:${server.port}/${path}`, headers: {} } as never, limits, 300);
  };

  test("a DiscoverResult or a modern error is modern; a 2025 server's refusal is legacy", async () => {
    expect(await probe("modern")).toBe("modern");
    expect(await probe("corrective")).toBe("modern");
    for (const path of ["no-session", "not-found", "no-get"]) expect(await probe(path)).toBe("legacy");
  });

  test("silence, 401, 403 and 5xx are no evidence: the probe fails as an outage", async () => {
    for (const path of ["unauthorized", "forbidden", "broken", "silent"]) await expect(probe(path)).rejects.toThrow(/Backend p/);
  });
});

describe("envelope", () => {
  test("relays only what Sentinel can carry back: sampling, elicitation form/url, roots", () => {
    expect(relayableCapabilities({ sampling: { tools: {} }, elicitation: {}, roots: { listChanged: true }, tasks: {}, extensions: { x: {} } })).toEqual({
      sampling: { tools: {} },
      elicitation: { form: {} },
      roots: {},
    });
    expect(relayableCapabilities({ elicitation: { url: {} } })).toEqual({ elicitation: { url: {} } });
    expect(relayableCapabilities(undefined)).toEqual({});
  });

  test("stamps version, capabilities, clientInfo and logLevel; keeps the caller's other _meta", () => {
    const p = withEnvelope({ name: "t", _meta: { progressToken: 3, [META.protocolVersion]: "1999-01-01", [META.logLevel]: "debug" } }, { clientCapabilities: { roots: {} } });
    const meta = p._meta as Record<string, unknown>;
    expect(p.name).toBe("t");
    expect(meta.progressToken).toBe(3);
    expect(meta[META.protocolVersion]).toBe("2026-07-28");
    expect(meta[META.clientCapabilities]).toEqual({ roots: {} });
    expect(meta[META.clientInfo]).toMatchObject({ name: "sentinel" });
    expect(META.logLevel in meta).toBe(false);
    expect((withEnvelope(undefined, { logLevel: "info" })._meta as Record<string, unknown>)[META.logLevel]).toBe("info");
  });
});

describe("headers", () => {
  const req = (method: string, params: Record<string, unknown>): Request => ({ jsonrpc: "2.0", id: 1, method, params });

  test("Mcp-Method and Mcp-Name for what each method names", () => {
    expect(modernHeaders(req("tools/call", { name: "t" }), undefined)).toEqual({ "mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call", "mcp-name": "t" });
    expect(modernHeaders(req("resources/read", { uri: "file:///a" }), undefined)["mcp-name"]).toBe("file:///a");
    expect(modernHeaders(req("tasks/get", { taskId: "k" }), undefined)["mcp-name"]).toBe("k");
    expect(modernHeaders(req("tools/list", {}), undefined)["mcp-name"]).toBeUndefined();
  });

  test("values that are not plain ASCII, or look encoded, are base64", () => {
    expect(encodeHeaderValue("eu-west 1")).toBe("eu-west 1");
    expect(encodeHeaderValue("zürich")).toBe(`=?base64?${Buffer.from("zürich").toString("base64")}?=`);
    expect(encodeHeaderValue(" padded")).toStartWith("=?base64?");
    expect(encodeHeaderValue("=?base64?abc?=")).toBe(`=?base64?${btoa("=?base64?abc?=")}?=`);
    expect(encodeHeaderValue("")).toBe("=?base64??=");
  });

  test("x-mcp-header: mirrored from primitive properties, invalid annotations reported", () => {
    const schema = {
      type: "object",
      properties: { region: { type: "string", "x-mcp-header": "Region" }, opts: { type: "object", properties: { n: { type: "integer", "x-mcp-header": "N" } } } },
    };
    const scan = scanParamHeaders(schema);
    expect(scan).toEqual({ valid: true, params: [{ path: ["region"], header: "mcp-param-Region" }, { path: ["opts", "n"], header: "mcp-param-N" }] });
    const h = modernHeaders(req("tools/call", { name: "t", arguments: { region: "ü", opts: { n: 7 } } }), scan.valid ? scan.params : []);
    expect(h["mcp-param-Region"]).toBe(`=?base64?${Buffer.from("ü").toString("base64")}?=`);
    expect(h["mcp-param-N"]).toBe("7");
    const invalid = (properties: unknown) => scanParamHeaders({ type: "object", properties }).valid;
    expect(invalid({ r: { type: "number", "x-mcp-header": "R" } })).toBe(false);
    expect(invalid({ r: { type: "array", items: { type: "string", "x-mcp-header": "R" } } })).toBe(false);
    expect(invalid({ a: { type: "string", "x-mcp-header": "Dup" }, b: { type: "string", "x-mcp-header": "dup" } })).toBe(false);
    expect(invalid({ a: { type: "string", "x-mcp-header": "no spaces" } })).toBe(false);
    expect(scanParamHeaders({ type: "object" })).toEqual({ valid: true, params: [] });
  });
});

describe("EraVerdicts", () => {
  test("kept in the database, shared by whoever opens it", () => {
    const path = join(dir, "verdicts.db");
    const a = openDatabase(path);
    const b = openDatabase(path);
    new EraVerdicts(() => a).put("k", "modern", 1234);
    expect(new EraVerdicts(() => b).get("k")).toEqual({ era: "modern", probedAt: 1234 });
    new EraVerdicts(() => b).put("k", "legacy", 99);
    expect(new EraVerdicts(() => a).get("k")).toEqual({ era: "legacy", probedAt: 99 });
    new EraVerdicts(() => a).forget("k");
    expect(new EraVerdicts(() => b).get("k")).toBeNull();
    a.close();
    // A closed database, or none yet, costs a probe, not an error.
    expect(new EraVerdicts(() => a).get("k")).toBeNull();
    expect(new EraVerdicts(() => null).get("k")).toBeNull();
    b.close();
  });
});

describe("Backend against a modern stdio server", () => {
  const log = join(dir, "received.jsonl");
  const config = parseConfig(
    JSON.stringify({ backends: { raw: { command: process.execPath, args: [join(import.meta.dir, "modern-backend-server.ts"), log], era: "modern" } } }),
    "<test>",
    {},
  );
  const events: BackendEvents = { changed() {}, notification() {}, request: () => Promise.reject(new Error("unexpected")) };
  const backend = new Backend(config.backends[0]!, config.limits.backend, 5000, events);
  const received = () => readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Request);
  const call = (name: string, options?: RequestOptions) => backend.request("tools/call", { name, arguments: {} }, options);
  const failure = async (p: Promise<unknown>): Promise<JsonRpcErrorObject & { rpcCode: number }> => {
    try {
      await p;
    } catch (err) {
      return err as never;
    }
    throw new Error("expected a failure");
  };
  afterAll(() => backend.stop());

  test("connects without initialize: discover, a listen, the catalog", async () => {
    backend.start();
    await backend.settled;
    expect(backend.state).toBe("ready");
    expect(backend.era).toBe("modern");
    expect(backend.serverInfo).toEqual({ name: "raw", version: "1" });
    expect(backend.catalog.tools.map((t) => t.name)).toContain("ask");
    expect(received().map((m) => m.method)).toEqual(["server/discover", "subscriptions/listen", "tools/list"]);
    expect(received()[1]!.params!.notifications).toEqual({ toolsListChanged: true });
    expect(backend.inFlight).toBe(0); // the listen is no caller's
  });

  test("no ping, logging/setLevel or notifications; the envelope on every request", async () => {
    expect(await backend.request("logging/setLevel", { level: "debug" })).toEqual({});
    expect(await backend.request("ping", undefined)).toEqual({});
    backend.notify("notifications/roots/list_changed");
    await call("version_once", { logLevel: "warning", clientCapabilities: { sampling: {} } });
    const all = received();
    expect(all.map((m) => m.method)).not.toContainAnyValues(["initialize", "ping", "logging/setLevel", "notifications/initialized", "notifications/roots/list_changed"]);
    for (const m of all) expect((m.params!._meta as Record<string, unknown>)[META.protocolVersion]).toBe("2026-07-28");
    const last = all.at(-1)!.params!._meta as Record<string, unknown>;
    expect(last[META.logLevel]).toBe("warning");
    expect(last[META.clientCapabilities]).toEqual({ sampling: {} });
  });

  test("-32022 that lists 2026-07-28 was retried once, under a new id", () => {
    const tries = received().filter((m) => m.params?.name === "version_once");
    expect(tries.length).toBe(2);
    expect(tries[0]!.id).not.toBe(tries[1]!.id);
  });

  test("era errors are Sentinel's: -32603 saying the backend refused, without the backend's detail", async () => {
    const mismatch = await failure(call("mismatch", { clientCapabilities: {} }));
    expect(mismatch.rpcCode).toBe(-32603);
    expect(mismatch.message).toBe("Backend raw refused Sentinel's request (header mismatch)");
    expect((await failure(call("gone", { clientCapabilities: {} }))).message).toBe("Backend raw refused Sentinel's request (method not found)");
  });

  test("-32021: the caller's own shortfall is the caller's; one of Sentinel's making is contained", async () => {
    const legacy = (await call("needs_sampling", { clientCapabilities: {} })) as Result;
    expect(legacy).toMatchObject({ isError: true, content: [{ text: "Missing required client capabilities: sampling" }] });
    expect((await failure(call("needs_sampling", { clientCapabilities: {}, takesInputRequired: true }))).rpcCode).toBe(-32021);
    expect((await failure(call("needs_sampling", { clientCapabilities: { sampling: {} } }))).rpcCode).toBe(-32603);
    expect((await failure(call("needs_sampling"))).rpcCode).toBe(-32603);
  });

  test("input_required: asked through onRequest and retried with the answers and the exact requestState", async () => {
    const asked: Request[] = [];
    const onRequest = (r: Request) => (asked.push(r), Promise.resolve({ action: "accept", content: { a: 1 } }));
    const result = await call("ask", { clientCapabilities: { elicitation: {} }, onRequest });
    expect(result).toMatchObject({ content: [{ text: 'got {"action":"accept","content":{"a":1}}' }] });
    expect(asked.map((r) => r.method)).toEqual(["elicitation/create"]);
    const retry = received().filter((m) => m.params?.name === "ask").at(-1)!;
    expect(retry.params!.requestState).toBe("s1");
    expect(retry.params!.inputResponses).toEqual({ q: { action: "accept", content: { a: 1 } } });
  });

  test("input_required goes as it is to a caller that takes it", async () => {
    expect(await call("ask", { takesInputRequired: true })).toMatchObject({ resultType: "input_required", requestState: "s1" });
  });

  test("input that cannot be had ends tools/call as an isError result, never hangs", async () => {
    const noClient = await call("ask", { clientCapabilities: {} });
    expect(noClient).toMatchObject({ isError: true, content: [{ text: "Fulfilling input required by tools/call failed: no client is there to answer it" }] });
    const refused = await call("ask", { onRequest: () => Promise.reject(new Error("the client said no")) });
    expect(refused).toMatchObject({ isError: true, content: [{ text: "Fulfilling input required by tools/call failed: the client said no" }] });
    const endless = await call("ask_forever", { onRequest: () => Promise.resolve({ action: "decline" }) });
    expect(endless).toMatchObject({ isError: true, content: [{ text: "Fulfilling input required by tools/call failed: it still required input after 8 rounds" }] });
    expect(received().filter((m) => m.params?.name === "ask_forever").length).toBe(1 + 8); // the call, then 8 retries
  });

  test("a cancelled request is cancelled at the backend (stdio: notifications/cancelled)", async () => {
    const cancel = new CancelSignal();
    const pending = call("slow", { cancel });
    await until(() => received().some((m) => m.params?.name === "slow"));
    cancel.cancel("enough");
    await expect(pending).rejects.toThrow(/cancelled/);
    const slow = received().find((m) => m.params?.name === "slow")!;
    const told = () => received().some((m) => m.method === "notifications/cancelled" && m.params?.requestId === slow.id);
    await until(told);
    expect(told()).toBe(true);
  });

  test("a resource subscription opens a new listen, acknowledged before the old one is closed", async () => {
    const before = received().filter((m) => m.method === "subscriptions/listen");
    expect(await backend.request("resources/subscribe", { uri: "a://1" })).toEqual({});
    const old = before.at(-1)!;
    const closing = (m: Request) => m.method === "notifications/cancelled" && m.params?.requestId === old.id;
    await until(() => received().some(closing));
    const all = received();
    const fresh = all.filter((m) => m.method === "subscriptions/listen").at(-1)!;
    expect(fresh.params!.notifications).toEqual({ toolsListChanged: true, resourceSubscriptions: ["a://1"] });
    const closedAt = all.findIndex(closing);
    expect(closedAt).toBeGreaterThan(all.indexOf(fresh));
    expect(await backend.request("resources/unsubscribe", { uri: "a://1" })).toEqual({});
    expect(received().filter((m) => m.method === "subscriptions/listen").at(-1)!.params!.notifications).toEqual({ toolsListChanged: true });
  });

  test("a listen the backend ends is opened again, after a backoff", async () => {
    const listens = () => received().filter((m) => m.method === "subscriptions/listen").length;
    const n = listens();
    const ended = Date.now();
    await call("end_listen");
    await until(() => listens() > n);
    expect(listens()).toBe(n + 1);
    expect(Date.now() - ended).toBeGreaterThanOrEqual(900);
  });

  test("a stopped backend does not listen again", async () => {
    const listens = () => received().filter((m) => m.method === "subscriptions/listen").length;
    const n = listens();
    await backend.stop();
    await Bun.sleep(1500); // past the first reopen delay
    expect(listens()).toBe(n);
    expect(backend.state).toBe("stopped");
  });
});
