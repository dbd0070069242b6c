// A backend MCP server that Sentinel launches: newline-delimited JSON-RPC on the
// child's stdin/stdout, its stderr copied into our log, and its whole process
// group ended on close.

import type { StdioBackendConfig, JsonLimits } from "../config/load.ts";
import { BackendUnavailable } from "../errors.ts";
import { LineDecoder } from "../jsonrpc/lines.ts";
import { RAW_FROM } from "../jsonrpc/raw-result.ts";
import { failure, idFromEdges, type Message } from "../jsonrpc/message.ts";
import { logger, type Logger } from "../log.ts";
import { Intake } from "./intake.ts";
import type { Transport } from "./transport.ts";

// What the MCP SDK passes to children by default: enough to run, nothing secret.
const SAFE_ENV = ["HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER", "LANG", "TMPDIR"];
const KILL_GRACE_MS = 2000;

type Child = Bun.Subprocess<"pipe", "pipe", "pipe">;

export function childEnv(cfg: StdioBackendConfig, parent: Record<string, string | undefined>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of [...SAFE_ENV, ...cfg.inheritEnv]) {
    const value = parent[key];
    if (value !== undefined) env[key] = value;
  }
  return { ...env, ...cfg.env };
}

export class StdioTransport implements Transport {
  onmessage: (message: Message) => void = () => {};
  onclose: (reason: string) => void = () => {};
  private child: Child | null = null;
  private readonly log: Logger;
  private closing = false;

  constructor(
    private readonly cfg: StdioBackendConfig,
    private readonly limits: JsonLimits,
    /** A throwaway process (the era probe): its stderr and its exit are not news. */
    private readonly quiet = false,
  ) {
    this.log = logger(cfg.name);
  }

  async start(): Promise<void> {
    const env = childEnv(this.cfg, process.env);
    const command = Bun.which(this.cfg.command, { PATH: env.PATH ?? "", cwd: this.cfg.cwd ?? process.cwd() });
    if (!command) {
      this.log.error(`command not found: ${this.cfg.command} (PATH=${env.PATH ?? ""})`);
      throw new BackendUnavailable(`Backend ${this.cfg.name}: command not found`);
    }
    const child = Bun.spawn([command, ...this.cfg.args], {
      cwd: this.cfg.cwd,
      env,
      stdin: "pipe",
      stdout: "pipe",
      stderr: this.quiet ? "ignore" : "pipe",
      // Its own process group, so that closing ends grandchildren too (npx, sh -c, ...).
      detached: true,
    }) as Child; // stderr is "ignore" only when quiet, and then never read
    this.child = child;
    void this.pumpStdout(child);
    if (!this.quiet) void this.pumpStderr(child);
    void child.exited.then((code) => {
      this.child = null;
      const why = child.signalCode ? `was killed by ${child.signalCode}` : `exited with code ${code}`;
      if (!this.closing && !this.quiet) this.log.warn(`process ${why}`);
      this.onclose(`backend ${this.cfg.name} ${why}`);
    });
  }

  send(message: Message): void {
    const child = this.child;
    if (!child) return;
    try {
      child.stdin.write(JSON.stringify(message) + "\n");
      child.stdin.flush();
    } catch {
      // The exit handler reports the loss; a write to a dead pipe adds nothing.
    }
  }

  async close(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.closing = true;
    try {
      child.stdin.end();
    } catch {}
    signalGroup(child.pid, "SIGTERM");
    const timer = setTimeout(() => signalGroup(child.pid, "SIGKILL"), KILL_GRACE_MS);
    await child.exited;
    clearTimeout(timer);
    // Grandchildren may outlive the leader; the group is ours to clean.
    signalGroup(child.pid, "SIGKILL");
  }

  private async pumpStdout(child: Child): Promise<void> {
    const intake = new Intake(this.cfg.name, this.limits, this.log, (m) => this.onmessage(m), (m) => this.send(m));
    const decoder = new LineDecoder(this.limits.messageBytes, {
      line: (text) => intake.text(text),
      large: (parts, size) => intake.bytes(parts, size),
      oversized: (bytes, head, tail) => {
        this.log.warn(`dropped a ${bytes}-byte message over the ${this.limits.messageBytes}-byte limit (limits.backend.messageBytes)`);
        // Answer the call it was for, rather than leave it to time out.
        const id = idFromEdges(head, tail);
        if (id !== null) {
          this.onmessage(
            failure(id, { code: -32000, message: `Backend ${this.cfg.name} answered with ${bytes} bytes, over the ${this.limits.messageBytes}-byte limit (limits.backend.messageBytes)` }),
          );
        }
      },
    }, RAW_FROM, true); // Bun's reads of a child's stdout are fresh arrays: long lines are kept as views.
    try {
      for await (const chunk of child.stdout) decoder.push(chunk);
      decoder.end();
    } catch {}
  }

  private async pumpStderr(child: Child): Promise<void> {
    const decoder = new LineDecoder(64 * 1024, {
      line: (text) => this.log.info(text),
      oversized: () => {},
    });
    try {
      for await (const chunk of child.stderr) decoder.push(chunk);
      decoder.end();
    } catch {}
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}
