// Approval before risky calls, through the binary: the caller approves through
// its own client (an elicitation to a 2025 client, input_required to a
// 2026-07-28 one), on both fronts; a decline, a client that cannot be asked and
// a timeout refuse the call with -32033 before it reaches the backend.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { getDefaultEnvironment, StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ElicitRequestSchema, type ElicitRequest, type ElicitResult } from "@modelcontextprotocol/sdk/types.js";
import { Client as V2Client, StreamableHTTPClientTransport as V2HttpTransport } from "@modelcontextprotocol/client";
import { StdioClientTransport as V2StdioTransport } from "@modelcontextprotocol/client/stdio";
import { auditRows, BIN, eventually, nextLog, runCli, startHttpGateway, tappedFixture, tempDir, textOf, writeConfig, type HttpGateway } from "./harness.ts";

let configPath: string;
let gw: HttpGateway;

beforeAll(async () => {
  configPath = writeConfig(tempDir(), {
    backends: { echo: tappedFixture("echo") },
    identity: { anonymous: {} },
    approvals: [
      // Only arguments that look dangerous need approval.
      { tools: "echo__echo", args: { text: { pattern: "^danger" } }, timeout: "5s" },
      { tools: "echo__whoami", timeout: "400ms" },
      // Approved by an admin from the CLI while the caller waits.
      { tools: "echo__env", approver: "admin", timeout: "20s" },
    ],
  });
  gw = await startHttpGateway(configPath);
});

afterAll(async () => {
  await gw?.stop();
});

type Answer = (r: ElicitRequest["params"]) => ElicitResult | Promise<ElicitResult>;

/** A 2025 SDK client on stdio; with `answer`, it declares elicitation and answers with it. */
async function stdioClient(answer?: Answer) {
  const transport = new StdioClientTransport({ command: BIN, args: ["--config", configPath], env: getDefaultEnvironment(), stderr: "pipe" });
  let stderr = "";
  transport.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  const client = new Client({ name: "approvals-e2e", version: "1.0.0" }, answer ? { capabilities: { elicitation: {} } } : {});
  if (answer) client.setRequestHandler(ElicitRequestSchema, (r) => answer(r.params));
  await client.connect(transport);
  return { client, stderr: () => stderr };
}

const approve: Answer = () => ({ action: "accept", content: { approve: true } });

async function refusal(p: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await p;
  } catch (err) {
    return err as { code: number; message: string };
  }
  throw new Error("the call was not refused");
}

const received = (stderr: string) => stderr.match(/received tools\/call echo\b/g)?.length ?? 0;

describe("the caller approves (stdio, 2025 client)", () => {
  test("accepting lets the call through; the question shows the tool and the arguments", async () => {
    const asked: ElicitRequest["params"][] = [];
    const { client, stderr } = await stdioClient((p) => (asked.push(p), { action: "accept", content: { approve: true } }));
    try {
      const reached = nextLog(stderr, /received tools\/call echo\b/);
      expect(textOf(await client.callTool({ name: "echo__echo", arguments: { text: "danger: rm -rf" } }))).toBe("danger: rm -rf");
      await reached;
      expect(asked).toHaveLength(1);
      const q = asked[0] as Record<string, any>;
      expect(q.mode ?? "form").toBe("form");
      expect(q.message).toContain("echo__echo");
      expect(q.message).toContain(`{"text":"danger: rm -rf"}`);
      expect(q.requestedSchema).toEqual({
        type: "object",
        properties: { approve: { type: "boolean", title: "Run echo__echo with these arguments?" } },
        required: ["approve"],
      });
    } finally {
      await client.close();
    }
  });

  test("arguments outside the rule's args need no approval", async () => {
    let asked = 0;
    const { client } = await stdioClient(() => (asked++, { action: "decline" }));
    try {
      expect(textOf(await client.callTool({ name: "echo__echo", arguments: { text: "hello" } }))).toBe("hello");
      expect(asked).toBe(0);
    } finally {
      await client.close();
    }
  });

  test("declining, cancelling or approve: false refuse with -32033, and the backend never gets the call", async () => {
    const answers: ElicitResult[] = [{ action: "decline" }, { action: "cancel" }, { action: "accept", content: { approve: false } }];
    const { client, stderr } = await stdioClient(() => answers.shift()!);
    try {
      for (let i = 0; i < 3; i++) {
        const err = await refusal(client.callTool({ name: "echo__echo", arguments: { text: "danger one" } }));
        expect(err.code).toBe(-32033);
        expect(err.message).toContain("Approval declined");
        expect(err.message).toContain("approvals[0]");
        expect(err.message).toContain("echo__echo");
        expect(err.message).not.toContain("danger one");
      }
      // A call that needs no approval reaches the backend: the refused ones, sent before it, did not.
      const reached = nextLog(stderr, /received tools\/call echo\b/);
      await client.callTool({ name: "echo__echo", arguments: { text: "fine" } });
      await reached;
      expect(received(stderr())).toBe(1);
    } finally {
      await client.close();
    }
  });

  test("a client without elicitation is refused: approval required", async () => {
    const { client, stderr } = await stdioClient();
    try {
      const err = await refusal(client.callTool({ name: "echo__echo", arguments: { text: "danger two" } }));
      expect(err.code).toBe(-32033);
      expect(err.message).toContain("Approval required");
      expect(err.message).toContain("did not declare elicitation");
      expect(received(stderr())).toBe(0);
    } finally {
      await client.close();
    }
  });

  test("no answer within the rule's timeout refuses the call", async () => {
    const { client } = await stdioClient(() => new Promise(() => {}));
    try {
      const err = await refusal(client.callTool({ name: "echo__whoami", arguments: {} }));
      expect(err.code).toBe(-32033);
      expect(err.message).toContain("approvals[1]");
      expect(err.message).toContain("no answer came");
    } finally {
      await client.close();
    }
  });

  test("an approval is single use: the same call asks again", async () => {
    let asked = 0;
    const { client } = await stdioClient(() => (asked++, { action: "accept", content: { approve: true } }));
    try {
      await client.callTool({ name: "echo__echo", arguments: { text: "danger again" } });
      await client.callTool({ name: "echo__echo", arguments: { text: "danger again" } });
      expect(asked).toBe(2);
    } finally {
      await client.close();
    }
  });
});

describe("the caller approves (HTTP)", () => {
  test("a 2025 client approves through an elicitation on its session", async () => {
    const client = new Client({ name: "approvals-http", version: "1.0.0" }, { capabilities: { elicitation: {} } });
    client.setRequestHandler(ElicitRequestSchema, () => approve({} as never));
    await client.connect(new StreamableHTTPClientTransport(new URL(gw.url)));
    try {
      expect(textOf(await client.callTool({ name: "echo__echo", arguments: { text: "danger over http" } }))).toBe("danger over http");
    } finally {
      await client.close();
    }
  });

  test("a 2025 client that declines is refused", async () => {
    const client = new Client({ name: "approvals-http", version: "1.0.0" }, { capabilities: { elicitation: {} } });
    client.setRequestHandler(ElicitRequestSchema, () => ({ action: "decline" }));
    await client.connect(new StreamableHTTPClientTransport(new URL(gw.url)));
    try {
      const err = await refusal(client.callTool({ name: "echo__echo", arguments: { text: "danger declined over http" } }));
      expect(err.code).toBe(-32033);
    } finally {
      await client.close();
    }
  });

  test("a 2026-07-28 client approves through input_required", async () => {
    const asked: string[] = [];
    const client = new V2Client({ name: "approvals-v2", version: "1.0.0" }, { versionNegotiation: { mode: "auto" }, capabilities: { elicitation: { form: {} } } });
    client.setRequestHandler("elicitation/create", (req) => (asked.push(String(req.params.message)), { action: "accept", content: { approve: true } }));
    await client.connect(new V2HttpTransport(new URL(gw.url)));
    try {
      expect(client.getProtocolEra()).toBe("modern");
      expect(textOf(await client.callTool({ name: "echo__echo", arguments: { text: "danger modern" } }))).toBe("danger modern");
      expect(asked).toHaveLength(1);
      expect(asked[0]).toContain(`{"text":"danger modern"}`);
    } finally {
      await client.close();
    }
  });
});

test("a 2026-07-28 client on stdio approves through input_required, and a decline refuses", async () => {
  const answers = [{ action: "accept", content: { approve: true } }, { action: "decline" }];
  const client = new V2Client({ name: "approvals-v2", version: "1.0.0" }, { versionNegotiation: { mode: "auto" }, capabilities: { elicitation: { form: {} } } });
  client.setRequestHandler("elicitation/create", () => answers.shift() as never);
  await client.connect(new V2StdioTransport({ command: BIN, args: ["--config", configPath], stderr: "ignore" }));
  try {
    expect(client.getProtocolEra()).toBe("modern");
    expect(textOf(await client.callTool({ name: "echo__echo", arguments: { text: "danger modern stdio" } }))).toBe("danger modern stdio");
    const err = await refusal(client.callTool({ name: "echo__echo", arguments: { text: "danger modern stdio" } }));
    expect(err.code).toBe(-32033);
  } finally {
    await client.close();
  }
});

/** The call waiting for an approver, once the CLI lists it. */
async function waiting(tool: string, seen: Set<string>): Promise<{ id: string; tool: string; identity: string; args: string }> {
  return eventually(async () => {
    const { stdout } = await runCli(["approvals", "list", "--json", "--config", configPath]);
    const rows = stdout.trim() ? stdout.trim().split("\n").map((l) => JSON.parse(l)) : [];
    const row = rows.find((r: { id: string; tool: string }) => r.tool === tool && !seen.has(r.id));
    if (row) seen.add(row.id);
    return row;
  });
}

describe("an approver approves from the CLI", () => {
  const seen = new Set<string>();

  test("stdio: the caller waits, with progress, until sentinel approvals approve; deny refuses", async () => {
    let asked = 0;
    const { client, stderr } = await stdioClient(() => (asked++, approve({} as never)));
    try {
      const progress: string[] = [];
      const call = client.callTool({ name: "echo__env", arguments: { name: "HOME" } }, undefined, {
        onprogress: (p) => progress.push(String(p.message)),
        timeout: 30_000,
      });
      const row = await waiting("echo__env", seen);
      expect(row).toMatchObject({ tool: "echo__env", approver: "admin", args: JSON.stringify({ name: "HOME" }) });
      expect(received(stderr())).toBe(0);
      const ok = await runCli(["approvals", "approve", row.id, "--as", "ops-alice", "--config", configPath]);
      expect(ok).toMatchObject({ code: 0, stdout: `approved ${row.id} as ops-alice\n` });
      await call;
      expect(asked).toBe(0); // the approver's, not the caller's
      expect(progress.some((m) => m.includes(row.id))).toBe(true);
      // Single use: answering again finds nothing.
      expect((await runCli(["approvals", "approve", row.id, "--config", configPath])).code).toBe(1);

      const denied = refusal(client.callTool({ name: "echo__env", arguments: { name: "PATH" } }, undefined, { timeout: 30_000 }));
      const second = await waiting("echo__env", seen);
      expect((await runCli(["approvals", "deny", second.id, "--as", "ops-bob", "--config", configPath])).code).toBe(0);
      const err = await denied;
      expect(err.code).toBe(-32033);
      expect(err.message).toContain("denied by the approver ops-bob");
    } finally {
      await client.close();
    }
  });

  test("HTTP: the same call waits and goes through once approved", async () => {
    const client = new Client({ name: "approvals-http", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(gw.url)));
    try {
      const call = client.callTool({ name: "echo__env", arguments: { name: "HOME" } }, undefined, { timeout: 30_000 });
      const row = await waiting("echo__env", seen);
      expect((await runCli(["approvals", "approve", row.id, "--config", configPath])).code).toBe(0);
      await call;
    } finally {
      await client.close();
    }
  });
});

test("the audit rows and events record the request, the answer, who gave it and the arguments", async () => {
  const rows = await eventually(async () => {
    const r = (await auditRows(configPath)).filter((x) => x.method === "tools/call" && x.decision !== "allowed");
    return r.length >= 10 ? r : null;
  });
  const approved = rows!.find((r) => r.decision === "approved")!;
  expect(approved).toMatchObject({ rule: "approvals[0]", outcome: "ok", target: "echo__echo" });
  const declined = rows!.find((r) => r.decision === "declined")!;
  expect(declined).toMatchObject({ outcome: "error", error_code: -32033 });

  const { code, stdout } = await runCli(["audit", "--config", configPath, "--events", "--json", "--limit", "1000"]);
  expect(code).toBe(0);
  const events = stdout.trim().split("\n").map((l) => JSON.parse(l)) as { kind: string; detail: string }[];
  const of = (kind: string) => events.filter((e) => e.kind === kind).map((e) => JSON.parse(e.detail));
  const requested = of("approval_requested");
  expect(requested.find((d) => d.arguments?.text === "danger: rm -rf")).toMatchObject({ rule: "approvals[0]", tool: "echo__echo", backend: "echo", via: "elicitation" });
  expect(requested.some((d) => d.via === "input_required")).toBe(true);
  expect(of("approval_granted").find((d) => d.arguments?.text === "danger: rm -rf")).toMatchObject({ answer: "accept", by: expect.any(String) });
  const answers = of("approval_declined").map((d) => d.answer);
  expect(answers).toEqual(expect.arrayContaining(["decline", "cancel", "accept, approve false", "unsupported", "timeout", "deny"]));
  expect(of("approval_granted").find((d) => d.by === "ops-alice")).toMatchObject({ via: "approver", approver: "admin", tool: "echo__env", arguments: { name: "HOME" } });
  expect(of("approval_declined").find((d) => d.answer === "deny")).toMatchObject({ by: "ops-bob", via: "approver" });
});
