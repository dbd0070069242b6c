// What a client must never read in an error: where backends live (URLs,
// hosts), where Sentinel's files are, and how code failed (stack frames).
// Clients know a backend only by its configured name. The config loader
// registers the values; errors.ts passes every client-facing message through
// here, so a new error path cannot leak what an old one kept back.

import { scrub } from "./log.ts";

export const INTERNAL = "[internal]";

const values = new Set<string>();
let longestFirst: string[] = [];

// A JavaScript stack frame ("    at fn (file:line:col)"), on its own line or run into the message.
const STACK_FRAME = /\s*\n\s*at [^\n]*|\s+at (?:async )?\S+ \((?:\/|file:|node:|[A-Za-z]:\\)[^)]*\)/g;

/** Registers a value that clients must not see (backend URLs and hosts, file paths). */
export function registerInternal(value: string): void {
  // Very short values would mask innocent text and protect nothing.
  if (value.length < 4 || values.has(value)) return;
  values.add(value);
  // The longest first, so that a URL is masked whole before its host is.
  longestFirst = [...values].sort((a, b) => b.length - a.length);
}

/** A backend's URL and the parts of it that name where it runs. */
export function registerBackendUrl(url: string): void {
  registerInternal(url);
  try {
    const u = new URL(url);
    registerInternal(u.origin);
    registerInternal(u.host);
    registerInternal(u.hostname);
    if (u.pathname.length > 1) registerInternal(`${u.host}${u.pathname}`);
  } catch {
    // Not a URL: the value itself is masked.
  }
}

/** `text` as a client may read it: internal values, stack frames and secrets masked. */
export function forClient(text: string): string {
  for (const v of longestFirst) if (text.includes(v)) text = text.replaceAll(v, INTERNAL);
  if (text.includes(" at ")) text = text.replace(STACK_FRAME, "");
  return scrub(text);
}

/** The same for structured error data: every string in it, at any depth (bounded). */
export function dataForClient(data: unknown, depth = 0): unknown {
  if (typeof data === "string") return forClient(data);
  if (depth > 8 || typeof data !== "object" || data === null) return data;
  if (Array.isArray(data)) return data.map((d) => dataForClient(d, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(data)) {
    // Stack traces are for Sentinel's log; a client can do nothing with one.
    if (k === "stack") continue;
    out[k] = dataForClient(v, depth + 1);
  }
  return out;
}
