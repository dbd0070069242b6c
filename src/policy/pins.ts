// Tool pinning, against rug pulls: the first definition a backend gives for a
// tool is remembered by hash, and a later, different one is held back (mode
// block) or let through with a warning (mode warn) until someone approves it.
// A first sight that already looks like an injection waits likewise.
//
// check() runs on every catalog rebuild, so the settled case is a hash and a
// map lookup; the database is read once per tool and written only when
// something new happens. Other processes (`sentinel tools approve`, another
// gateway on the same file) are noticed by refresh(), cheap enough for a timer.

import type { Database, Statement } from "bun:sqlite";
import { sha256Hex } from "../sha256.ts";
import type { Item } from "../backends/backend.ts";
import type { Config } from "../config/load.ts";
import { logger } from "../log.ts";
import { findInjection } from "./injection.ts";

const log = logger("pins");

export type PinMode = Config["pinning"]["mode"];
export type PinStatus = "approved" | "new" | "changed" | "suspicious";
export type PinCheck = { pass: boolean; status: PinStatus; reason?: string };

/** approved: in use as pinned; pending: a changed definition awaits approval; flagged: the first sight does. */
export type PinState = "approved" | "pending" | "flagged";

export type PinEvent = {
  kind: "tool_changed" | "tool_suspicious" | "tool_approved";
  backend: string;
  target: string;
  detail: Record<string, unknown>;
};

export type PinSummary = {
  backend: string;
  tool: string;
  state: PinState;
  /** Fields that differ between the pinned and the pending definition. */
  changed: Field[];
  flagged: string | null;
  firstSeen: number;
  updated: number;
};

export type PinDiff = {
  state: PinState;
  /** Of the definition awaiting approval (pending, else the flagged first sight). */
  hash: string;
  /** The pinned definition (for a flagged first sight: the one awaiting approval). */
  approved: Record<string, unknown>;
  pending: Record<string, unknown> | null;
  changed: Field[];
  flagged: string | null;
};

// Everything the model reads about a tool: the issue's four, plus title and
// outputSchema, which a rug pull could change just as well.
export const PINNED_FIELDS = ["name", "title", "description", "inputSchema", "outputSchema", "annotations"] as const;
const FIELDS = PINNED_FIELDS;
type Field = (typeof FIELDS)[number];

type PinRow = {
  backend: string;
  tool: string;
  hash: string;
  definition: string;
  pending_hash: string | null;
  pending_definition: string | null;
  flagged: string | null;
  approved: number;
  first_seen: number;
  updated: number;
};

/** What check() needs to answer without the database. */
type Known = { hash: string; approved: boolean; pendingHash: string | null; reason: string | null };

/** JSON with object keys sorted at every level, so equal definitions hash equally. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    const o = value as Record<string, unknown>;
    const keys = Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

export function definitionHash(tool: Item): { hash: string; canonical: string } {
  const canonical = canonicalJson(Object.fromEntries(FIELDS.map((f) => [f, tool[f]])));
  return { hash: sha256Hex(canonical), canonical };
}

export function changedFields(before: Record<string, unknown>, after: Record<string, unknown>): Field[] {
  return FIELDS.filter((f) => canonicalJson(before[f]) !== canonicalJson(after[f]));
}

export class Pins {
  private readonly known = new Map<string, Known>();
  private readonly select: Statement<PinRow, [string, string]>;
  private readonly selectAll: Statement<PinRow, []>;
  private readonly insert: Statement<unknown, [string, string, string, string, string | null, number, number, number]>;
  private readonly setPending: Statement<unknown, [string, string, string | null, number, string, string]>;
  private readonly setApproved: Statement<unknown, [string, string, number, string, string]>;
  private readonly insertEvent: Statement<unknown, [number, string, string, string, string]>;
  private readonly dataVersion: Statement<{ data_version: number }, []>;
  private readonly summary: Statement<{ n: number; u: number; a: number; p: number }, []>;
  private version: number;
  private signature: string;
  /** Another connection changed the pins; seen while writing, reported by refresh(). */
  private foreign = false;

  constructor(
    private readonly db: Database,
    public mode: PinMode = "block",
    /** Told of each security event once, after it is stored; by default it is logged. */
    private readonly onEvent?: (e: PinEvent) => void,
  ) {
    this.select = db.prepare("SELECT * FROM pins WHERE backend = ? AND tool = ?");
    this.selectAll = db.prepare("SELECT * FROM pins ORDER BY backend, tool");
    this.insert = db.prepare(
      "INSERT INTO pins (backend, tool, hash, definition, flagged, approved, first_seen, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    );
    this.setPending = db.prepare(
      "UPDATE pins SET pending_hash = ?, pending_definition = ?, flagged = ?, updated = ? WHERE backend = ? AND tool = ?",
    );
    this.setApproved = db.prepare(
      "UPDATE pins SET hash = ?, definition = ?, pending_hash = NULL, pending_definition = NULL, flagged = NULL, approved = 1, updated = ? WHERE backend = ? AND tool = ?",
    );
    this.insertEvent = db.prepare("INSERT INTO events (ts, kind, backend, target, detail) VALUES (?, ?, ?, ?, ?)");
    this.dataVersion = db.prepare("PRAGMA data_version");
    // Every write that matters to a gateway moves one of these: a new row, a new
    // or cleared pending definition, an approval, `updated`.
    this.summary = db.prepare("SELECT count(*) AS n, total(updated) AS u, total(approved) AS a, count(pending_hash) AS p FROM pins");
    this.version = this.dataVersion.get()!.data_version;
    this.signature = this.readSignature();
  }

  check(backend: string, tool: Item, now = Date.now()): PinCheck {
    if (this.mode === "off") return { pass: true, status: "approved" };
    const name = String(tool.name);
    const { hash, canonical } = definitionHash(tool);
    const known = this.known.get(key(backend, name)) ?? this.load(backend, name);
    if (known) {
      if (known.approved && known.hash === hash) return { pass: true, status: "approved" };
      const answered = this.answer(known, hash);
      if (answered) return answered;
    }
    const events: PinEvent[] = [];
    const result = this.write(() => this.record(backend, name, tool, hash, canonical, now, events));
    this.emit(events);
    return result;
  }

  /** For the catalog: why the tool is withheld, or null to offer it. */
  withholding(backend: string, tool: Item): string | null {
    const r = this.check(backend, tool);
    return r.pass ? null : (r.reason ?? r.status);
  }

  /**
   * Makes the pending definition, or a flagged first sight, the pinned one.
   * False when there is nothing to approve, or when `hash` (a prefix of the
   * definition's hash, as `diff` showed it) no longer names what awaits
   * approval: the backend changed it again after the review.
   */
  approve(backend: string, tool: string, opts: { hash?: string; now?: number } = {}): boolean {
    const now = opts.now ?? Date.now();
    const events: PinEvent[] = [];
    const done = this.write(() => {
      const row = this.select.get(backend, tool);
      if (!row) return false;
      if (opts.hash !== undefined && !(row.pending_hash ?? row.hash).startsWith(opts.hash)) return false;
      let detail: Record<string, unknown>;
      if (row.pending_hash !== null && row.pending_definition !== null) {
        const changed = changedFields(JSON.parse(row.definition), JSON.parse(row.pending_definition));
        this.setApproved.run(row.pending_hash, row.pending_definition, now, backend, tool);
        detail = { hash: row.pending_hash, previousHash: row.hash, changed, ...(row.flagged && { flagged: row.flagged }) };
      } else if (!row.approved) {
        this.setApproved.run(row.hash, row.definition, now, backend, tool);
        detail = { hash: row.hash, flagged: row.flagged };
      } else return false;
      this.event(now, { kind: "tool_approved", backend, target: tool, detail }, events);
      this.known.delete(key(backend, tool));
      return true;
    });
    this.emit(events);
    return done;
  }

  diff(backend: string, tool: string): PinDiff | null {
    const row = this.select.get(backend, tool);
    if (!row) return null;
    const approved = JSON.parse(row.definition) as Record<string, unknown>;
    const pending = row.pending_definition === null ? null : (JSON.parse(row.pending_definition) as Record<string, unknown>);
    return { state: state(row), hash: row.pending_hash ?? row.hash, approved, pending, changed: pending ? changedFields(approved, pending) : [], flagged: row.flagged };
  }

  list(): PinSummary[] {
    return this.selectAll.all().map((row) => ({
      backend: row.backend,
      tool: row.tool,
      state: state(row),
      changed: row.pending_definition === null ? [] : changedFields(JSON.parse(row.definition), JSON.parse(row.pending_definition)),
      flagged: row.flagged,
      firstSeen: row.first_seen,
      updated: row.updated,
    }));
  }

  /**
   * True when another connection changed the pins since the last call (an
   * approval, another gateway's first sight): the caller should run check()
   * over its catalog again. Costs one PRAGMA while nothing was written.
   */
  refresh(): boolean {
    const version = this.dataVersion.get()!.data_version;
    if (version !== this.version) {
      this.version = version;
      // Other writers to the file (the audit trail) move data_version too.
      const signature = this.readSignature();
      if (signature !== this.signature) {
        this.signature = signature;
        this.foreign = true;
      }
    }
    if (!this.foreign) return false;
    this.foreign = false;
    this.known.clear();
    return true;
  }

  /** The answer for a definition already on record, or null when it is news. */
  private answer(known: Known, hash: string): PinCheck | null {
    const pass = this.mode !== "block";
    const because = known.reason === null ? {} : { reason: known.reason };
    if (known.pendingHash === hash) return { pass, status: "changed", ...because };
    if (known.hash === hash && !known.approved) return { pass, status: "suspicious", ...because };
    return null;
  }

  private record(backend: string, tool: string, item: Item, hash: string, canonical: string, now: number, events: PinEvent[]): PinCheck {
    // Read again under the write lock: another gateway on this file may have got here first.
    const row = this.select.get(backend, tool);
    if (!row) {
      const flagged = findInjection(item);
      this.insert.run(backend, tool, hash, canonical, flagged, flagged ? 0 : 1, now, now);
      this.remember(this.select.get(backend, tool)!);
      if (!flagged) return { pass: true, status: "new" };
      this.event(now, { kind: "tool_suspicious", backend, target: tool, detail: { reason: flagged, hash } }, events);
      return { pass: this.mode !== "block", status: "suspicious", reason: flagged };
    }
    const known = this.remember(row);
    if (known.approved && known.hash === hash) return { pass: true, status: "approved" };
    const answered = this.answer(known, hash);
    if (answered) return answered;

    const changed = changedFields(JSON.parse(row.definition), JSON.parse(canonical));
    const suspicious = findInjection(item);
    // A first sight still awaiting approval keeps its own reason if the new one has none.
    const flagged = suspicious ?? (row.approved ? null : row.flagged);
    this.setPending.run(hash, canonical, flagged, now, backend, tool);
    const detail = { changed, hash, previousHash: row.hash, ...(suspicious && { suspicious }) };
    this.event(now, { kind: "tool_changed", backend, target: tool, detail }, events);
    const updated = this.remember(this.select.get(backend, tool)!);
    return { pass: this.mode !== "block", status: "changed", reason: updated.reason! };
  }

  /**
   * Runs `f` holding the write lock (so what it reads is what it overwrites)
   * and keeps refresh() from mistaking this process's writes for another's.
   */
  private write<T>(f: () => T): T {
    return this.db
      .transaction(() => {
        if (this.readSignature() !== this.signature) this.foreign = true;
        const result = f();
        this.signature = this.readSignature();
        return result;
      })
      .immediate();
  }

  private load(backend: string, tool: string): Known | undefined {
    const row = this.select.get(backend, tool);
    return row ? this.remember(row) : undefined;
  }

  private remember(row: PinRow): Known {
    let reason: string | null = null;
    if (row.pending_definition !== null) {
      const changed = changedFields(JSON.parse(row.definition), JSON.parse(row.pending_definition));
      const since = row.approved ? "since it was approved" : "since it was first seen";
      reason = `${changed.join(", ") || "definition"} changed ${since}${row.flagged ? `; ${row.flagged}` : ""}`;
    } else if (!row.approved) reason = row.flagged ?? "awaiting approval";
    const known = { hash: row.hash, approved: row.approved === 1, pendingHash: row.pending_hash, reason };
    this.known.set(key(row.backend, row.tool), known);
    return known;
  }

  private event(ts: number, e: PinEvent, out: PinEvent[]): void {
    this.insertEvent.run(ts, e.kind, e.backend, e.target, JSON.stringify(e.detail));
    out.push(e);
  }

  private emit(events: PinEvent[]): void {
    for (const e of events) {
      if (this.onEvent) this.onEvent(e);
      else logEvent(e, this.mode);
    }
  }

  private readSignature(): string {
    const s = this.summary.get()!;
    return `${s.n}/${s.u}/${s.a}/${s.p}`;
  }
}

function logEvent(e: PinEvent, mode: PinMode): void {
  const d = e.detail;
  const review = `review: sentinel tools diff ${e.backend}:${e.target}`;
  const outcome = mode === "block" ? "withheld until approved" : "still offered (pinning.mode: warn)";
  if (e.kind === "tool_changed") {
    const fields = Array.isArray(d.changed) ? d.changed.join(", ") : "definition";
    const suspicious = d.suspicious ? ` and looks like a prompt injection (${String(d.suspicious)})` : "";
    log.warn(`${e.backend}: tool ${e.target} changed its ${fields}${suspicious}; ${outcome}; ${review}`);
  } else if (e.kind === "tool_suspicious") {
    log.warn(`${e.backend}: tool ${e.target} looks like a prompt injection (${String(d.reason)}); ${outcome}; ${review}`);
  } else log.info(`${e.backend}: tool ${e.target} approved`);
}

function key(backend: string, tool: string): string {
  return `${backend}\u0000${tool}`;
}

function state(row: PinRow): PinState {
  if (row.pending_hash !== null) return "pending";
  return row.approved ? "approved" : "flagged";
}
