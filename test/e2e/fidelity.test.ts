// MCP passes through the gateway faithfully, for every backend, on both fronts,
// and one client never sees another's traffic: server-to-client requests,
// progress, logging, list changes, subscriptions, cancellation, pagination.

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  LoggingMessageNotificationSchema,
  ResourceUpdatedNotificationSchema,
  ToolListChangedNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  auditRows,
  connectStdio,
  eventually,
  INIT,
  nextLog,
  startFixture,
  startHttpGateway,
  stdioFixture,
  tappedFixture,
  tempDir,
  textOf,
  writeConfig,
  type HttpGateway,
  type Spawned,
} from "./harness.ts";

type Seen = { sampling: string[]; elicitation: string[]; roots: number; logs: string[]; updated: string[]; listChanged: number };

/** A client that can sample, elicit and list roots, answering with its own name. */
function capableClient(name: string, capabilities = true): { client: Client; seen: Seen; nextListChanged: () => Promise<void> } {
  const client = new Client(
    { name, version: "1.0.0" },
    { capabilities: capabilities ? { sampling: {}, elicitation: { form: {}, url: {} }, roots: { listChanged: true } } : {} },
  );
  const seen: Seen = { sampling: [], elicitation: [], roots: 0, logs: [], updated: [], listChanged: 0 };
  if (capabilities) {
    client.setRequestHandler(CreateMessageRequestSchema, (r) => {
      const c = r.params.messages[0]?.content;
      seen.sampling.push(c && "text" in c ? String(c.text) : "?");
      return { role: "assistant", content: { type: "text", text: `answer for ${name}` }, model: "test-model" };
    });
    client.setRequestHandler(ElicitRequestSchema, (r) => {
      seen.elicitation.push(r.params.message);
      return { action: "accept", content: r.params.mode === "url" ? undefined : { answer: name } } as never;
    });
    client.setRequestHandler(ListRootsRequestSchema, () => {
      seen.roots++;
      return { roots: [{ uri: `file:///${name}` }] };
    });
  }
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void seen.logs.push(String(n.params.data)));
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void seen.updated.push(n.params.uri));
  const listChanged: (() => void)[] = [];
  client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
    seen.listChanged++;
    for (const resolve of listChanged.splice(0)) resolve();
  });
  /** Resolves at the next tools/list_changed this client gets. */
  const nextListChanged = () => new Promise<void>((resolve) => listChanged.push(resolve));
  return { client, seen, nextListChanged };
}

let beta: Spawned;
let gw: HttpGateway;
let configPath: string;

beforeAll(async () => {
  beta = await startFixture("beta", "http");
  configPath = writeConfig(tempDir(), {
    identity: { anonymous: { roles: [] } },
    backends: {
      // Tapped: tests wait on "[alpha] received ..." for a call to be at the backend.
      alpha: tappedFixture("alpha"),
      beta: { url: beta.url },
      iso: stdioFixture("iso", { isolation: "session" }),
      slowpoke: stdioFixture("slowpoke", { timeout: "300ms" }),
    },
  });
  gw = await startHttpGateway(configPath);
});
afterAll(async () => {
  await gw?.stop();
  await beta?.stop();
});

async function httpClient(name: string, capabilities = true) {
  const c = capableClient(name, capabilities);
  await c.client.connect(new StreamableHTTPClientTransport(new URL(gw.url)));
  return c;
}

describe("server-to-client requests", () => {
  test("reach the stdio client and its answers reach the backend", async () => {
    const { client, seen } = capableClient("solo");
    const g = await connectStdio(configPath);
    await g.client.close();
    const { StdioClientTransport, getDefaultEnvironment } = await import("@modelcontextprotocol/sdk/client/stdio.js");
    const { BIN } = await import("./harness.ts");
    await client.connect(new StdioClientTransport({ command: BIN, args: ["--config", configPath], env: getDefaultEnvironment(), stderr: "ignore" }));
    try {
      expect(textOf(await client.callTool({ name: "alpha__ask_llm", arguments: { prompt: "2+2?" } }))).toBe("llm said: answer for solo");
      expect(seen.sampling).toEqual(["2+2?"]);
      expect(textOf(await client.callTool({ name: "alpha__ask_user", arguments: { question: "name?" } }))).toBe("user accept: solo");
      expect(textOf(await client.callTool({ name: "alpha__ask_url", arguments: {} }))).toBe("url elicitation accept");
      expect(textOf(await client.callTool({ name: "alpha__roots", arguments: {} }))).toBe("file:///solo");
    } finally {
      await client.close();
    }
  });

  test("two concurrent HTTP clients each get only their own, on shared and isolated backends", async () => {
    const a = await httpClient("A");
    const b = await httpClient("B");
    try {
      const run = (c: typeof a, who: string) =>
        Promise.all([
          c.client.callTool({ name: "beta__ask_llm", arguments: { prompt: `beta from ${who}` } }),
          c.client.callTool({ name: "beta__ask_user", arguments: { question: `beta q ${who}` } }),
          c.client.callTool({ name: "iso__ask_llm", arguments: { prompt: `iso from ${who}` } }),
          c.client.callTool({ name: "iso__ask_user", arguments: { question: `iso q ${who}` } }),
        ]);
      const [ra, rb] = await Promise.all([run(a, "A"), run(b, "B")]);
      expect(ra.map(textOf)).toEqual(["llm said: answer for A", "user accept: A", "llm said: answer for A", "user accept: A"]);
      expect(rb.map(textOf)).toEqual(["llm said: answer for B", "user accept: B", "llm said: answer for B", "user accept: B"]);
      expect(a.seen.sampling.sort()).toEqual(["beta from A", "iso from A"]);
      expect(b.seen.sampling.sort()).toEqual(["beta from B", "iso from B"]);
      expect(a.seen.elicitation.sort()).toEqual(["beta q A", "iso q A"]);
      expect(b.seen.elicitation.sort()).toEqual(["beta q B", "iso q B"]);
    } finally {
      await Promise.all([a.client.close(), b.client.close()]);
    }
  });

  test("a shared stdio backend's request that could mean two sessions is refused, not guessed", async () => {
    const a = await httpClient("A");
    const b = await httpClient("B");
    try {
      const atBackend = nextLog(gw.stderr, /\[alpha\] received tools\/call wait/);
      const busy = a.client.callTool({ name: "alpha__wait", arguments: { ms: 1500 } });
      await atBackend;
      const res = await b.client.callTool({ name: "alpha__ask_llm", arguments: { prompt: "whose?" } });
      expect(res.isError).toBe(true);
      expect(textOf(res)).toContain("isolation: session");
      expect(a.seen.sampling).toEqual([]);
      expect(b.seen.sampling).toEqual([]);
      // A backend's ping needs no client: Sentinel answers it.
      expect(textOf(await b.client.callTool({ name: "alpha__ping_client", arguments: {} }))).toBe("pong");
      await busy;
    } finally {
      await Promise.all([a.client.close(), b.client.close()]);
    }
  });

  test("a backend that withdraws its request has it cancelled at the client, under the client's id", async () => {
    const c = capableClient("W");
    let cancelledAtClient = false;
    c.client.setRequestHandler(ElicitRequestSchema, async (_r, extra) => {
      await new Promise<void>((resolve) => {
        extra.signal.addEventListener("abort", () => ((cancelledAtClient = true), resolve()));
        setTimeout(resolve, 3000);
      });
      return { action: "decline" };
    });
    await c.client.connect(new StreamableHTTPClientTransport(new URL(gw.url)));
    try {
      for (const tool of ["beta__ask_then_withdraw", "alpha__ask_then_withdraw"]) {
        cancelledAtClient = false;
        expect(textOf(await c.client.callTool({ name: tool, arguments: {} }))).toBe("withdrawn");
        await eventually(() => cancelledAtClient, 3000);
      }
    } finally {
      await c.client.close();
    }
  });

  test("a client that did not declare a capability is never asked; the backend gets an error", async () => {
    const c = await httpClient("plain", false);
    try {
      const res = await c.client.callTool({ name: "beta__ask_llm", arguments: { prompt: "x" } });
      expect(res.isError).toBe(true);
      expect(textOf(res)).toContain("sampling");
    } finally {
      await c.client.close();
    }
  });
});

describe("notifications", () => {
  test("progress reaches the right client under its own token, even when tokens collide", async () => {
    const a = await httpClient("A");
    const b = await httpClient("B");
    try {
      const got: Record<string, string[]> = { A: [], B: [] };
      const call = (c: typeof a, who: "A" | "B", tool: string) =>
        c.client.callTool({ name: tool, arguments: { steps: 3 } }, undefined, {
          onprogress: (p) => void got[who]!.push(`${p.progress}/${p.total} ${p.message}`),
        });
      await Promise.all([call(a, "A", "beta__progress"), call(b, "B", "alpha__progress")]);
      expect(got.A).toEqual(["1/3 beta step 1", "2/3 beta step 2", "3/3 beta step 3"]);
      expect(got.B).toEqual(["1/3 alpha step 1", "2/3 alpha step 2", "3/3 alpha step 3"]);
    } finally {
      await Promise.all([a.client.close(), b.client.close()]);
    }
  });

  test("log messages respect each session's logging/setLevel", async () => {
    const a = await httpClient("A");
    const b = await httpClient("B");
    try {
      await a.client.setLoggingLevel("error");
      await b.client.setLoggingLevel("debug");
      await a.client.callTool({ name: "beta__log", arguments: { level: "info", message: "info from A" } });
      await b.client.callTool({ name: "beta__log", arguments: { level: "info", message: "info from B" } });
      await a.client.callTool({ name: "alpha__log", arguments: { level: "error", message: "error from A" } });
      await eventually(() => a.seen.logs.length === 1 && b.seen.logs.length === 1);
      expect(a.seen.logs).toEqual(["error from A"]);
      expect(b.seen.logs).toEqual(["info from B"]);
    } finally {
      await Promise.all([a.client.close(), b.client.close()]);
    }
  });

  test("a backend's list change refreshes the catalog and tells every session", async () => {
    const a = await httpClient("A");
    const b = await httpClient("B");
    try {
      await a.client.callTool({ name: "alpha__grow", arguments: { tool: "fresh" } });
      await eventually(() => a.seen.listChanged > 0 && b.seen.listChanged > 0);
      const { tools } = await b.client.listTools();
      expect(tools.map((t) => t.name)).toContain("alpha__fresh");
      expect(textOf(await b.client.callTool({ name: "alpha__fresh", arguments: {} }))).toBe("fresh is new");
    } finally {
      await Promise.all([a.client.close(), b.client.close()]);
    }
  });

  test("resource updates go to subscribed sessions only; the backend is subscribed once", async () => {
    const a = await httpClient("A");
    const b = await httpClient("B");
    const c = await httpClient("C");
    const uri = "fixture://alpha/info";
    try {
      await a.client.subscribeResource({ uri });
      await b.client.subscribeResource({ uri });
      await a.client.callTool({ name: "alpha__touch", arguments: {} });
      await eventually(() => a.seen.updated.length === 1 && b.seen.updated.length === 1);
      expect(c.seen.updated).toEqual([]);
      expect(gw.stderr().match(/\[alpha\] subscribed fixture:\/\/alpha\/info/g)).toHaveLength(1);
      await a.client.unsubscribeResource({ uri });
      // Had the gateway unsubscribed alpha, alpha would have logged it before answering, so before it
      // receives this later call: its stderr is one ordered stream.
      const later = nextLog(gw.stderr, /\[alpha\] received tools\/call echo/);
      await a.client.callTool({ name: "alpha__echo", arguments: { text: "after A left" } });
      await later;
      expect(gw.stderr()).not.toContain("[alpha] unsubscribed");
      await b.client.unsubscribeResource({ uri });
      await eventually(() => gw.stderr().includes("[alpha] unsubscribed fixture://alpha/info"));
      await a.client.callTool({ name: "alpha__touch", arguments: {} });
      // A list change that alpha sends after the update reaches A on the same stream as the update
      // would have, so it arrives after it: once A has it, an update sent to A would be there.
      const listChanged = a.nextListChanged();
      await a.client.callTool({ name: "alpha__grow", arguments: { tool: "after_unsubscribe" } });
      await listChanged;
      expect(a.seen.updated).toHaveLength(1);
    } finally {
      await Promise.all([a.client.close(), b.client.close(), c.client.close()]);
    }
  });
});

describe("cancellation", () => {
  test("a client's notifications/cancelled cancels the backend request", async () => {
    const a = await httpClient("A");
    try {
      const before = (gw.stderr().match(/\[alpha\] wait cancelled/g) ?? []).length;
      const abort = new AbortController();
      const atBackend = nextLog(gw.stderr, /\[alpha\] received tools\/call wait/);
      const call = a.client.callTool({ name: "alpha__wait", arguments: { ms: 10_000 } }, undefined, { signal: abort.signal });
      await atBackend;
      abort.abort("user pressed stop");
      await expect(call).rejects.toThrow();
      await eventually(() => (gw.stderr().match(/\[alpha\] wait cancelled/g) ?? []).length === before + 1);
    } finally {
      await a.client.close();
    }
  });

  test("a call that times out at the gateway is cancelled at the backend", async () => {
    const a = await httpClient("A");
    try {
      await expect(a.client.callTool({ name: "slowpoke__wait", arguments: { ms: 10_000 } })).rejects.toThrow(/-32001/);
      await eventually(() => gw.stderr().includes("[slowpoke] wait cancelled"));
    } finally {
      await a.client.close();
    }
  });

  test("a 2025 HTTP client that disconnects has not cancelled: its call runs to its end (2025-11-25)", async () => {
    const before = (gw.stderr().match(/\[alpha\] wait cancelled/g) ?? []).length;
    const headers = { "content-type": "application/json", accept: "application/json, text/event-stream" };
    const init = await fetch(gw.url, { method: "POST", headers, body: JSON.stringify(INIT) });
    const sid = init.headers.get("mcp-session-id")!;
    await init.text();
    const abort = new AbortController();
    const atBackend = nextLog(gw.stderr, /\[alpha\] received tools\/call wait/);
    const pending = fetch(gw.url, {
      method: "POST",
      headers: { ...headers, "mcp-session-id": sid },
      body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "alpha__wait", arguments: { ms: 700 } } }),
      signal: abort.signal,
    }).catch(() => null);
    await atBackend;
    abort.abort();
    await pending;
    const row = await eventually(async () =>
      (await auditRows(configPath)).find((r) => r.session === sid && r.target === "alpha__wait"),
    );
    expect([row!.outcome, row!.error]).toEqual(["ok", null]);
    expect((row as any).latency_us).toBeGreaterThanOrEqual(600_000);
    expect((gw.stderr().match(/\[alpha\] wait cancelled/g) ?? []).length).toBe(before);
  });
});

describe("sessions and versions", () => {
  const post = (body: unknown, headers: Record<string, string> = {}) =>
    fetch(gw.url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers },
      body: JSON.stringify(body),
    });

  test("2025-11-25, 2025-06-18 and 2025-03-26 clients are answered in their version; others get the newest", async () => {
    for (const v of ["2025-11-25", "2025-06-18", "2025-03-26"]) {
      const res = await post({ ...INIT, params: { ...INIT.params, protocolVersion: v } });
      expect(((await res.json()) as any).result.protocolVersion).toBe(v);
    }
    const res = await post({ ...INIT, params: { ...INIT.params, protocolVersion: "2099-01-01" } });
    expect(((await res.json()) as any).result.protocolVersion).toBe("2025-11-25");
  });

  test("the GET stream resumes from Last-Event-ID with what was missed", async () => {
    const init = await post(INIT);
    const sid = init.headers.get("mcp-session-id")!;
    await init.text();
    await post({ jsonrpc: "2.0", method: "notifications/initialized" }, { "mcp-session-id": sid });
    const open = (last?: string) =>
      fetch(gw.url, { headers: { accept: "text/event-stream", "mcp-session-id": sid, ...(last && { "last-event-id": last }) } });
    const read = async (res: Response, until: RegExp) => {
      const reader = res.body!.getReader();
      let text = "";
      while (!until.test(text)) text += new TextDecoder().decode((await reader.read()).value);
      await reader.cancel();
      return text;
    };
    const first = await open();
    const grow = (tool: string) =>
      post({ jsonrpc: "2.0", id: tool, method: "tools/call", params: { name: "alpha__grow", arguments: { tool } } }, { "mcp-session-id": sid });
    await grow("g1");
    const seen = await read(first, /list_changed/);
    const lastId = /id: (\d+)/.exec(seen)![1]!;
    // A witness session with its stream open: the gateway announces a list change to every session
    // in one pass, so once the witness has it, the announcement is in this session's backlog.
    const witness = await post(INIT);
    const witnessId = witness.headers.get("mcp-session-id")!;
    await witness.text();
    await post({ jsonrpc: "2.0", method: "notifications/initialized" }, { "mcp-session-id": witnessId });
    const witnessStream = await fetch(gw.url, { headers: { accept: "text/event-stream", "mcp-session-id": witnessId } });
    await grow("g2"); // announced while no stream is open
    await read(witnessStream, /list_changed/);
    // The gateway may not have seen the first stream close yet (409 until it has).
    const resumed = await eventually(async () => {
      const res = await open(lastId);
      if (res.status === 200) return res;
      await res.text();
      return null;
    });
    const again = await read(resumed!, /list_changed/);
    expect(again).toContain("notifications/tools/list_changed");
    expect(Number(/id: (\d+)/.exec(again)![1])).toBeGreaterThan(Number(lastId));
  });
});

test("merged lists are paged with Sentinel's own cursors", async () => {
  const paged = await startHttpGateway(
    writeConfig(tempDir(), { server: { pageSize: 3 }, identity: { anonymous: { roles: [] } }, backends: { alpha: stdioFixture("alpha") } }),
  );
  const { client } = capableClient("pager");
  await client.connect(new StreamableHTTPClientTransport(new URL(paged.url)));
  try {
    const first = await client.listTools();
    expect(first.tools).toHaveLength(3);
    expect(first.nextCursor).toBeString();
    const names = first.tools.map((t) => t.name);
    let cursor = first.nextCursor;
    while (cursor) {
      const next = await client.listTools({ cursor });
      names.push(...next.tools.map((t) => t.name));
      cursor = next.nextCursor;
    }
    expect(new Set(names).size).toBe(names.length);
    expect(names).toContain("alpha__wait");
    await expect(client.listTools({ cursor: "bogus" })).rejects.toThrow(/-32602/);
  } finally {
    await client.close();
    await paged.stop();
  }
});

describe("tasks (2025-11-25)", () => {
  let tasksGw: HttpGateway;
  beforeAll(async () => {
    const { EVERYTHING, NODE } = await import("./harness.ts");
    tasksGw = await startHttpGateway(
      writeConfig(tempDir(), { identity: { anonymous: { roles: [] } }, backends: { everything: { command: NODE, args: [EVERYTHING, "stdio"] } } }),
    );
  });
  afterAll(() => tasksGw.stop());

  /** A raw JSON-RPC session on the HTTP front. */
  async function session() {
    const headers = { "content-type": "application/json", accept: "application/json, text/event-stream" };
    const init = await fetch(tasksGw.url, { method: "POST", headers, body: JSON.stringify(INIT) });
    const sid = init.headers.get("mcp-session-id")!;
    const capabilities = ((await init.json()) as any).result.capabilities;
    let id = 1;
    const rpc = async (method: string, params: object) => {
      const res = await fetch(tasksGw.url, {
        method: "POST",
        headers: { ...headers, "mcp-session-id": sid },
        body: JSON.stringify({ jsonrpc: "2.0", id: id++, method, params }),
      });
      return (await res.json()) as any;
    };
    return { rpc, capabilities };
  }

  test("are routed to the backend that created them and visible only to their session", async () => {
    const a = await session();
    const b = await session();
    expect(a.capabilities.tasks).toBeDefined();
    const created = await a.rpc("tools/call", { name: "everything__simulate-research-query", arguments: { topic: "gateways" }, task: { ttl: 60_000 } });
    const taskId = created.result.task.taskId as string;
    expect(taskId).toBeString();

    expect((await a.rpc("tasks/get", { taskId })).result).toMatchObject({ taskId, status: expect.stringMatching(/working|completed/) });
    expect((await b.rpc("tasks/get", { taskId })).error).toMatchObject({ code: -32602 });
    expect((await b.rpc("tasks/result", { taskId })).error).toMatchObject({ code: -32602 });
    expect((await a.rpc("tasks/list", {})).result.tasks.map((t: any) => t.taskId)).toContain(taskId);
    expect((await b.rpc("tasks/list", {})).result.tasks).toEqual([]);

    const result = await a.rpc("tasks/result", { taskId });
    expect(JSON.stringify(result.result.content)).toContain("gateways");
  }, 20_000);
});
