// Once a client has seen an answer, its audit row survives kill -9 of the
// gateway: the next gateway on the database folds the dead one's journal, and
// never writes a row twice. Drives dist/sentinel over stdio; real SQLite.

import { describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { auditRows, eventually, INIT, stdioFixture, stdioRpc, tempDir, writeConfig, type StdioRpc } from "./harness.ts";

const IN_FLIGHT = 8;

/** Keeps IN_FLIGHT echo calls going until the gateway dies; `answered` holds the texts whose answers came back. */
function load(g: StdioRpc, prefix: string) {
  const answered: string[] = [];
  let n = 0;
  let dead = false;
  const worker = async () => {
    while (!dead) {
      const text = `${prefix}-${n++}`;
      const res = await g.call("tools/call", { name: "echo__echo", arguments: { text } });
      if (res === null) dead = true;
      else if (res.result && !res.result.isError) answered.push(text);
      else throw new Error(`call failed: ${JSON.stringify(res)}`);
    }
  };
  const done = Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  return { answered, done };
}

async function started(config: string): Promise<StdioRpc> {
  const g = stdioRpc(config);
  const init = await g.call("initialize", INIT.params);
  if (!init?.result) throw new Error(`initialize: ${JSON.stringify(init)}; stderr: ${g.stderr()}`);
  g.notify("notifications/initialized");
  return g;
}

async function killed(g: StdioRpc, work: { done: Promise<unknown> }): Promise<void> {
  g.proc.kill("SIGKILL");
  expect(await g.proc.exited).not.toBe(0);
  await work.done;
}

/** How many rows each echoed text has. */
function rowsByText(db: string): Map<string, number> {
  const d = new Database(db, { readonly: true });
  try {
    const rows = d.query("SELECT args FROM calls WHERE method = 'tools/call'").all() as { args: string }[];
    const count = new Map<string, number>();
    for (const r of rows) {
      const text = JSON.parse(r.args).text as string;
      count.set(text, (count.get(text) ?? 0) + 1);
    }
    return count;
  } finally {
    d.close();
  }
}

function journals(db: string): { files: string[]; registered: number } {
  const d = new Database(db, { readonly: true });
  try {
    const registered = (d.query("SELECT count(*) AS n FROM journals").get() as { n: number }).n;
    return { files: existsSync(`${db}.journal`) ? readdirSync(`${db}.journal`) : [], registered };
  } finally {
    d.close();
  }
}

function expectExactlyOnce(count: Map<string, number>, answered: string[]): void {
  expect(answered.filter((t) => count.get(t) !== 1)).toEqual([]);
  expect([...count].filter(([, n]) => n > 1)).toEqual([]);
}

describe("audit rows survive kill -9", () => {
  test("under load: every answered call has exactly one row after restarts, killed again right after one", async () => {
    const dir = tempDir();
    const db = join(dir, "audit.db");
    const config = writeConfig(dir, { backends: { echo: stdioFixture("echo") } });

    const first = await started(config);
    const a = load(first, "a");
    await eventually(() => a.answered.length >= 3000, 30_000, 20);
    await killed(first, a);
    expect(journals(db).files.length).toBe(1); // what the batches had not written yet is in there

    // The next gateway folds the dead one's journal before it serves; killed again right away, under load.
    const second = await started(config);
    expectExactlyOnce(rowsByText(db), a.answered);
    const b = load(second, "b");
    await eventually(() => b.answered.length >= 200, 30_000, 5);
    await killed(second, b);

    const third = await started(config);
    const all = [...a.answered, ...b.answered];
    expectExactlyOnce(rowsByText(db), all);
    expect(await third.close()).toBe(0);
    // Folding again finds nothing: the rows are still there once each, and the journals are gone.
    expectExactlyOnce(rowsByText(db), all);
    expect(journals(db)).toEqual({ files: [], registered: 0 });
  }, 90_000);

  test("`sentinel audit` right after a kill -9 shows the killed gateway's last rows", async () => {
    const dir = tempDir();
    const config = writeConfig(dir, { backends: { echo: stdioFixture("echo") } });
    const g = await started(config);
    const w = load(g, "cli");
    await eventually(() => w.answered.length >= 500, 30_000, 5);
    await killed(g, w);
    const rows = await auditRows(config, ["--method", "tools/call", "--limit", "100000"]);
    const seen = new Set(rows.map((r) => JSON.parse(r.args!).text as string));
    expect(w.answered.filter((t) => !seen.has(t))).toEqual([]);
    expect(rows.length).toBe(seen.size);
  }, 60_000);

  test("a clean shutdown writes every row and removes the gateway's journal", async () => {
    const dir = tempDir();
    const db = join(dir, "audit.db");
    const config = writeConfig(dir, { backends: { echo: stdioFixture("echo") } });
    const g = await started(config);
    const texts = Array.from({ length: 50 }, (_, i) => `clean-${i}`);
    await Promise.all(texts.map((text) => g.call("tools/call", { name: "echo__echo", arguments: { text } })));
    expect(journals(db).files).toEqual([expect.stringMatching(new RegExp(`^${g.proc.pid}-[0-9a-f]+\\.jsonl$`))]);
    expect(await g.close()).toBe(0);
    expectExactlyOnce(rowsByText(db), texts);
    expect(journals(db)).toEqual({ files: [], registered: 0 });
  }, 30_000);

  test("audit.enabled: false keeps no journal", async () => {
    const dir = tempDir();
    const db = join(dir, "audit.db");
    const config = writeConfig(dir, { audit: { path: db, enabled: false }, backends: { echo: stdioFixture("echo") } });
    const g = await started(config);
    const res = await g.call("tools/call", { name: "echo__echo", arguments: { text: "unaudited" } });
    expect(res?.result?.isError).toBeFalsy();
    expect(existsSync(`${db}.journal`)).toBe(false);
    g.proc.kill("SIGKILL");
    await g.proc.exited;
    expect(rowsByText(db).size).toBe(0);
  }, 30_000);
});
