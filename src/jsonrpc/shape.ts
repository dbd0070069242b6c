// Bounds on the shape of one JSON-RPC message (limits.client, limits.backend):
// nesting depth, array and object sizes, string lengths. Checked once where a
// message enters, so that nothing past the edge meets a value it cannot handle
// (JSON.stringify and the audit's redaction recurse: a 45,000-deep array used to
// end in "Maximum call stack size exceeded" at the backend). Both checks here are
// loops with their own stacks, never recursion: they survive any depth.

import type { JsonLimits } from "../config/load.ts";
import { LimitExceeded } from "../errors.ts";
import { parseJson } from "./message.ts";

export type ShapeLimit = "depth" | "arrayItems" | "objectKeys" | "stringLength";
/** Whose limits apply: limits.client or limits.backend. */
export type Scope = "client" | "backend";

const BROKEN: Record<ShapeLimit, (max: number) => string> = {
  depth: (max) => `nests deeper than ${max} levels`,
  arrayItems: (max) => `has an array longer than ${max} items`,
  objectKeys: (max) => `has an object with more than ${max} keys`,
  stringLength: (max) => `has a string longer than ${max} characters`,
};

// Below this length a text cannot nest deep enough to cost JSON.parse much
// (32,768 levels at most: ~5 ms and ~3 MB), so only longer ones are scanned first.
const SCAN_FROM = 64 * 1024;

/** The refusal for breaking `limit`, naming its config key: "nests deeper than 64 levels (limits.client.depth)". */
export function limitExceeded(limit: ShapeLimit, limits: JsonLimits, scope: Scope): LimitExceeded {
  return new LimitExceeded(`${BROKEN[limit](limits[limit])} (limits.${scope}.${limit})`);
}

/**
 * Parses one message's text (or a batch's): ParseError when it is not JSON,
 * LimitExceeded when a long text nests too deep to be worth building. A batch's
 * array is one level more than its messages.
 */
export function parseWithin(text: string, limits: JsonLimits, scope: Scope): unknown {
  if (text.length > SCAN_FROM && nestsDeeper(text, limits.depth + 1)) throw limitExceeded("depth", limits, scope);
  return parseJson(text);
}

/** Throws LimitExceeded when a parsed message breaks one of `limits`. */
export function checkShape(value: unknown, limits: JsonLimits, scope: Scope): void {
  const broken = brokenLimit(value, limits);
  if (broken) throw limitExceeded(broken, limits, scope);
}

/**
 * The first limit a parsed message breaks, or null. The message itself is depth
 * 1; string lengths are UTF-16 units, keys included. It runs on every message:
 * ~0.2 µs for a typical tools/call request or result (Bun 1.4; the last test
 * in test/unit/shape.test.ts prints both), against ~60 µs of gateway CPU per call.
 */
export function brokenLimit(value: unknown, limits: JsonLimits): ShapeLimit | null {
  const { depth: maxDepth, arrayItems, objectKeys, stringLength } = limits;
  if (typeof value === "string") return value.length > stringLength ? "stringLength" : null;
  if (typeof value !== "object" || value === null) return null;
  // Containers still to visit, with their depths, in two parallel stacks.
  const values: object[] = [value];
  const depths: number[] = [1];
  while (values.length > 0) {
    const node = values.pop()!;
    const depth = depths.pop()!;
    if (depth > maxDepth) return "depth";
    if (Array.isArray(node)) {
      if (node.length > arrayItems) return "arrayItems";
      for (let i = 0; i < node.length; i++) {
        const item: unknown = node[i];
        if (typeof item === "string") {
          if (item.length > stringLength) return "stringLength";
        } else if (typeof item === "object" && item !== null) {
          values.push(item);
          depths.push(depth + 1);
        }
      }
      continue;
    }
    let keys = 0;
    // for-in, not Object.keys: no array per object. JSON.parse makes plain
    // objects, so there are no inherited keys to skip.
    for (const key in node) {
      if (++keys > objectKeys) return "objectKeys";
      if (key.length > stringLength) return "stringLength";
      const item: unknown = (node as Record<string, unknown>)[key];
      if (typeof item === "string") {
        if (item.length > stringLength) return "stringLength";
      } else if (typeof item === "object" && item !== null) {
        values.push(item);
        depths.push(depth + 1);
      }
    }
  }
  return null;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

/**
 * Whether JSON text nests arrays and objects deeper than `max`, read without
 * parsing it (strings are skipped). JSON.parse itself never overflows, but it
 * builds every level it reads: a 10,000,000-deep array (20 MB) took 1.5 s and
 * 830 MB, a 64 MB one 5 s and 2.6 GB (measured, Bun 1.4). Long texts are scanned
 * first, so that such a message is refused before it is built.
 */
export function nestsDeeper(text: string, max: number): boolean {
  let depth = 0;
  const end = text.length;
  for (let i = 0; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      // Jump to the closing quote: one that follows an even run of backslashes.
      for (;;) {
        i = text.indexOf('"', i + 1);
        if (i === -1) return false; // unterminated: JSON.parse reports it
        let slashes = 0;
        while (text.charCodeAt(i - 1 - slashes) === BACKSLASH) slashes++;
        if (slashes % 2 === 0) break;
      }
    } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (++depth > max) return true;
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
      depth--;
    }
  }
  return false;
}
