// `sentinel tools pins|diff|approve|disable|enable`: reviews tool pins and
// flips kill switches in the database FILE configures. Running gateways on
// that database notice within their refresh period; nothing needs a restart.

import type { Database } from "bun:sqlite";
import { existsSync } from "node:fs";
import type { Config } from "../config/load.ts";
import { exposedName } from "../dispatch/names.ts";
import { compileGlobs } from "../policy/glob.ts";
import { PINNED_FIELDS, Pins, type PinDiff, type PinSummary } from "../policy/pins.ts";
import { Switches } from "../policy/switches.ts";
import { openDatabase } from "../store/database.ts";
import { parseFlags, UsageError } from "./args.ts";
import { loadOrExit } from "./load.ts";

export const TOOLS_ADMIN_COMMANDS = ["pins", "diff", "approve", "disable", "enable"] as const;
export type ToolsAdminCommand = (typeof TOOLS_ADMIN_COMMANDS)[number];

export const toolsAdminHelp = `Usage:
  sentinel tools pins --config FILE [--json]        pinned tools: approved, pending (changed) or flagged
  sentinel tools diff NAME --config FILE            what changed since the definition was approved
  sentinel tools approve NAME [--hash H] --config FILE
                                                    accept the pending (or flagged) definition;
                                                    with --hash (from diff), only the one reviewed
  sentinel tools disable NAME [--reason R] --config FILE
                                                    refuse a tool to everyone, on every gateway
  sentinel tools enable NAME --config FILE          lift a kill switch

NAME is a tool as clients see it (n8n__run_flow) or BACKEND:TOOL (n8n:run_flow).
disable and enable also take a glob ("n8n__delete_*") or backend:BACKEND for
every tool of a backend. Gateways using the same database apply approvals and
switches while running.`;

export function isToolsAdminCommand(sub: string | undefined): sub is ToolsAdminCommand {
  return (TOOLS_ADMIN_COMMANDS as readonly (string | undefined)[]).includes(sub);
}

export async function toolsAdmin(sub: string, argv: string[]): Promise<void> {
  const { values, positionals } = parseFlags(argv, {
    config: { type: "string", short: "c" },
    reason: { type: "string" },
    hash: { type: "string" },
    json: { type: "boolean" },
  });
  if (!isToolsAdminCommand(sub)) throw new UsageError(`unknown tools command "${sub}"`);
  const wantsName = sub !== "pins";
  if (wantsName && positionals.length !== 1) throw new UsageError(`tools ${sub}: expected one tool NAME`);
  if (!wantsName && positionals.length > 0) throw new UsageError("tools pins: takes no NAME");
  if (values.reason !== undefined && sub !== "disable") throw new UsageError("--reason: only for tools disable");
  if (values.hash !== undefined && sub !== "approve") throw new UsageError("--hash: only for tools approve");
  if (values.hash !== undefined && !/^[0-9a-f]{8,64}$/.test(values.hash)) throw new UsageError("--hash: expected at least 8 hex digits, as tools diff prints them");
  const config = await loadOrExit(values.config);
  const name = positionals[0] ?? "";
  const path = config.audit.path;
  // Reviewing needs pins a gateway wrote; a switch may be set before any gateway ran.
  if ((sub === "pins" || sub === "diff" || sub === "approve") && !existsSync(path)) {
    fail(`no database at ${path} yet: tools are pinned when a gateway first lists them`);
  }
  const db = openDatabase(path);
  try {
    const admin = new Admin(config, db);
    if (sub === "pins") admin.pins(values.json ?? false);
    else if (sub === "diff") admin.diff(name);
    else if (sub === "approve") admin.approve(name, values.hash);
    else if (sub === "disable") admin.disable(name, values.reason);
    else admin.enable(name);
  } finally {
    db.close();
  }
}

class Admin {
  private readonly pinStore: Pins;
  private readonly switches: Switches;

  constructor(
    private readonly config: Config,
    db: Database,
  ) {
    // Events are in the database; this command reports for itself.
    this.pinStore = new Pins(db, config.pinning.mode, () => {});
    this.switches = new Switches(db);
  }

  pins(json: boolean): void {
    const rows = this.pinStore.list().map((p) => ({ exposed: this.exposed(p), ...p }));
    const switches = this.switches.list();
    if (json) {
      process.stdout.write(`${JSON.stringify({ pins: rows, disabled: switches }, null, 2)}\n`);
      return;
    }
    if (rows.length === 0) print("no tools pinned yet");
    const width = Math.max(4, ...rows.map((r) => r.exposed.length));
    const origin = Math.max(4, ...rows.map((r) => r.backend.length + r.tool.length + 1));
    for (const r of rows) {
      const note = r.state === "pending" ? `${r.changed.join(", ")} changed` : "";
      const flag = r.flagged ? `flagged: ${r.flagged}` : "";
      const tail = [note, flag].filter(Boolean).join("; ");
      print(`${r.state.padEnd(9)}${r.exposed.padEnd(width)}  ${`${r.backend}:${r.tool}`.padEnd(origin)}  ${time(r.updated)}${tail ? `  ${tail}` : ""}`);
    }
    if (switches.length) print("\ndisabled:");
    const named = Math.max(0, ...switches.map((s) => s.name.length));
    for (const s of switches) print(`  ${s.name.padEnd(named)}  since ${time(s.disabledAt)}${s.reason ? `  (${s.reason})` : ""}`);
  }

  diff(name: string): void {
    const pin = this.resolve(name);
    const d = this.pinStore.diff(pin.backend, pin.tool)!;
    const label = `${this.exposed(pin)} (${pin.backend}:${pin.tool})`;
    if (d.state === "approved") {
      print(`${label} is approved; nothing pending.`);
      return;
    }
    print(`${label}: ${d.state === "pending" ? "changed" : "awaiting approval"}, first seen ${time(pin.firstSeen)}, last update ${time(pin.updated)}`);
    if (d.flagged) print(`flagged: ${d.flagged}`);
    print("");
    print(renderDiff(d));
    print(`\nTo accept: sentinel tools approve ${this.exposed(pin)} --hash ${d.hash.slice(0, 12)} --config ${this.config.source}`);
  }

  approve(name: string, hash: string | undefined): void {
    const pin = this.resolve(name);
    const label = `${this.exposed(pin)} (${pin.backend}:${pin.tool})`;
    if (!this.pinStore.approve(pin.backend, pin.tool, hash === undefined ? {} : { hash })) {
      if (pin.state === "approved") return print(`${label} is already approved; nothing pending.`);
      fail(`${label} changed again since the review (its pending definition is no longer ${hash}); run tools diff again`);
    }
    const what = pin.state === "pending" ? `the new definition (${pin.changed.join(", ")} changed)` : "its first definition";
    print(`approved ${what} of ${label}; running gateways offer it again within their refresh period.`);
  }

  disable(name: string, reason: string | undefined): void {
    const target = this.switchName(name);
    this.switches.disable(target, reason);
    print(`disabled ${target}${target === name ? "" : ` (${name})`}${reason ? `: ${reason}` : ""}`);
    if (!this.matchesSomething(target)) {
      process.stderr.write(`note: ${visible(target)} matches no tool seen so far; it applies as soon as one appears\n`);
    }
  }

  enable(name: string): void {
    const target = this.switchName(name);
    if (this.switches.enable(target)) return print(`enabled ${target}`);
    const current = this.switches.list().map((s) => s.name);
    fail(`${target} is not disabled${current.length ? ` (disabled: ${current.join(", ")})` : ""}`);
  }

  /** The pin NAME means, as clients see it or as BACKEND:TOOL; exits when there is none. */
  private resolve(name: string): PinSummary {
    const pins = this.pinStore.list();
    const pin = pins.find((p) => `${p.backend}:${p.tool}` === name || this.exposed(p) === name);
    if (pin) return pin;
    const near = pins.filter((p) => this.exposed(p).includes(name) || p.tool.includes(name)).map((p) => this.exposed(p));
    fail(`unknown tool ${name}: no pin for it${near.length ? ` (did you mean ${near.slice(0, 5).join(", ")}?)` : ""}`);
  }

  /** The name clients see, or BACKEND:TOOL for a backend no longer configured. */
  private exposed(p: { backend: string; tool: string }): string {
    const b = this.config.backends.find((b) => b.name === p.backend);
    return b ? exposedName(b.prefix, p.tool, this.config.names.maxLength) : `${p.backend}:${p.tool}`;
  }

  /** Switches hold exposed names; BACKEND:TOOL is translated, backend:BACKEND kept. */
  private switchName(name: string): string {
    if (name.trim() === "" || /\s/.test(name)) throw new UsageError(`invalid tool name ${JSON.stringify(name)}`);
    if (name.startsWith("backend:")) return name;
    const colon = name.indexOf(":");
    if (colon < 0) return name;
    const b = this.config.backends.find((b) => b.name === name.slice(0, colon));
    if (!b) fail(`unknown tool ${name}: no backend named ${name.slice(0, colon)} (for a whole backend write backend:NAME)`);
    return exposedName(b.prefix, name.slice(colon + 1), this.config.names.maxLength);
  }

  private matchesSomething(target: string): boolean {
    if (target.startsWith("backend:")) {
      const match = compileGlobs([target.slice("backend:".length)]);
      return this.config.backends.some((b) => match(b.name));
    }
    const match = compileGlobs([target]);
    return this.pinStore.list().some((p) => match(this.exposed(p)));
  }
}

const FIELDS = PINNED_FIELDS;

function renderDiff(d: PinDiff): string {
  const blocks: string[] = [];
  if (!d.pending) {
    // A flagged first sight: nothing to compare it with, so show all of it.
    for (const field of FIELDS) {
      if (d.approved[field] !== undefined) blocks.push(`${field}:\n${indent(fieldLines(d.approved[field]), "    ")}`);
    }
    return blocks.join("\n");
  }
  for (const field of d.changed) {
    const lines = lineDiff(fieldLines(d.approved[field]), fieldLines(d.pending[field]));
    blocks.push(`${field}:\n${lines.join("\n")}`);
  }
  return blocks.join("\n");
}

function fieldLines(value: unknown): string[] {
  if (value === undefined) return ["(absent)"];
  const text = typeof value === "string" ? value : JSON.stringify(value, null, 2);
  return text.split("\n");
}

function indent(lines: string[], by: string): string {
  return lines.map((l) => by + l).join("\n");
}

const MAX_DIFF_CELLS = 4_000_000;

/** A line diff by longest common subsequence: "  " kept, "- " old, "+ " new. */
export function lineDiff(a: string[], b: string[]): string[] {
  if (a.length * b.length > MAX_DIFF_CELLS) return [...a.map((l) => `  - ${l}`), ...b.map((l) => `  + ${l}`)];
  const width = b.length + 1;
  const lcs = new Uint32Array((a.length + 1) * width);
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lcs[i * width + j] = a[i] === b[j] ? lcs[(i + 1) * width + j + 1]! + 1 : Math.max(lcs[(i + 1) * width + j]!, lcs[i * width + j + 1]!);
    }
  }
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      out.push(`    ${a[i++]}`);
      j++;
    } else if (i < a.length && (j === b.length || lcs[(i + 1) * width + j]! >= lcs[i * width + j + 1]!)) {
      out.push(`  - ${a[i++]}`);
    } else {
      out.push(`  + ${b[j++]}`);
    }
  }
  return out;
}

// Characters a terminal would hide or obey: shown as escapes, so a poisoned
// description can neither hide text from the reviewer nor drive the terminal.
const HIDDEN = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u00AD\u200B-\u200F\u202A-\u202E\u2060-\u2064\uFEFF\u{E0000}-\u{E007F}]/gu;

export function visible(text: string): string {
  return text.replace(HIDDEN, (c) => `\\u{${c.codePointAt(0)!.toString(16).toUpperCase()}}`);
}

function time(ms: number): string {
  return new Date(ms).toISOString().replace("T", " ").slice(0, 19);
}

/** Everything shown to the reviewer passes here, as it may hold a backend's text. */
function print(line: string): void {
  process.stdout.write(`${visible(line)}\n`);
}

function fail(message: string): never {
  process.stderr.write(`sentinel tools: ${visible(message)}\n`);
  process.exit(1);
}
