// Logging to stderr only: in stdio mode stdout belongs to JSON-RPC.
// Every line passes through the secret scrubber so that values resolved from
// ${env:...}/${file:...} never reach a log, whoever writes it.

import { REDACTED, redactValue } from "./secret-values.ts";

export type LogLevel = "debug" | "info" | "warn" | "error";

const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
let threshold = rank.info;
const secrets = new Set<string>();

export function setLogLevel(level: LogLevel): void {
  threshold = rank[level];
}

/** Registers a secret value; any log line containing it is masked. */
export function registerSecret(value: string): void {
  // Very short values would mask innocent text and protect nothing.
  if (value.length >= 4) secrets.add(value);
}

export function scrub(text: string): string {
  for (const s of secrets) if (text.includes(s)) text = text.replaceAll(s, REDACTED);
  return redactValue(text);
}

function write(level: LogLevel, scope: string, message: string): void {
  if (rank[level] < threshold) return;
  const line = `${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} [${scope}] ${message}\n`;
  writeStderr(scrub(line));
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

export type Logger = Record<LogLevel, (message: string) => void>;

export function logger(scope: string): Logger {
  return {
    debug: (m) => write("debug", scope, m),
    info: (m) => write("info", scope, m),
    warn: (m) => write("warn", scope, m),
    error: (m) => write("error", scope, m),
  };
}
