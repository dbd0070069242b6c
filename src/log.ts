// Logging to stderr only: in stdio mode stdout belongs to JSON-RPC.
// Every line passes through the secret scrubber so that values resolved from
// ${env:...}/${file:...} never reach a log, whoever writes it.

import { REDACTED, redactValue } from "./secret-values.ts";

export type LogLevel = "debug" | "info" | "warn" | "error";

const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
let threshold = rank.info;
const secrets = new Set<string>();

export type LogFormat = "text" | "json";
let format: LogFormat = "text";

export function setLogLevel(level: LogLevel): void {
  threshold = rank[level];
}

/** Whether lines at `level` are written: a caller skips building one that would not be. */
export function logs(level: LogLevel): boolean {
  return rank[level] >= threshold;
}

/** text: one readable line per event; json: one JSON object per line, for log pipelines. */
export function setLogFormat(f: LogFormat): void {
  format = f;
}

/** What a line may say besides its message: the request it is about (joins with its audit row), its backend. */
export type LogFields = { requestId?: string; backend?: string; [key: string]: string | number | boolean | undefined };

/** Registers a secret value; any log line containing it is masked. */
export function registerSecret(value: string): void {
  // Very short values would mask innocent text and protect nothing.
  if (value.length >= 4) secrets.add(value);
}

export function scrub(text: string): string {
  for (const s of secrets) if (text.includes(s)) text = text.replaceAll(s, REDACTED);
  return redactValue(text);
}

function write(level: LogLevel, scope: string, message: string, fields?: LogFields): void {
  if (rank[level] < threshold) return;
  const time = new Date().toISOString();
  if (format === "json") {
    // The whole line is scrubbed after it is made, so a secret in any field is masked too.
    writeStderr(scrub(JSON.stringify({ time, level, component: scope, ...fields, message })) + "\n");
    return;
  }
  let extra = "";
  if (fields) for (const [k, v] of Object.entries(fields)) if (v !== undefined) extra += ` ${k}=${v}`;
  writeStderr(scrub(`${time} ${level.toUpperCase().padEnd(5)} [${scope}] ${message}${extra}\n`));
}

// Bun's native stderr sink: process.stderr (a Node stream) costs ~7 MB of idle
// memory (measured on the compiled binary), and a closed stderr must not take
// the gateway down with it.
let sink: ReturnType<typeof Bun.stderr.writer> | null = null;

/** Writes to stderr now; ignores a stderr that has gone away. */
export function writeStderr(text: string): void {
  try {
    sink ??= Bun.stderr.writer();
    sink.write(text);
    sink.flush();
  } catch {
    // Nobody is reading our stderr any more; the audit trail still records everything.
  }
}

export type Logger = Record<LogLevel, (message: string, fields?: LogFields) => void>;

export function logger(scope: string): Logger {
  return {
    debug: (m, f) => write("debug", scope, m, f),
    info: (m, f) => write("info", scope, m, f),
    warn: (m, f) => write("warn", scope, m, f),
    error: (m, f) => write("error", scope, m, f),
  };
}
