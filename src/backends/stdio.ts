// A backend MCP server that Sentinel launches: newline-delimited JSON-RPC on the
// child's stdin/stdout, its stderr copied into our log, and its whole process
// tree ended on close (a process group on POSIX, `taskkill /T` on Windows).

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
// Windows programs need more to start at all: without SYSTEMROOT, Node's networking and
// crypto fail; npx keeps its cache and prefix under LOCALAPPDATA and APPDATA; cmd.exe,
// which runs the `.cmd` shims (npx.cmd), needs COMSPEC and PATHEXT. The SDK's own
// Windows list, plus those last two.
const SAFE_ENV_WINDOWS = [
  "APPDATA", "COMSPEC", "HOMEDRIVE", "HOMEPATH", "LOCALAPPDATA", "PATH", "PATHEXT", "PROCESSOR_ARCHITECTURE",
  "PROGRAMFILES", "SYSTEMDRIVE", "SYSTEMROOT", "TEMP", "TMP", "USERNAME", "USERPROFILE",
];
const KILL_GRACE_MS = 2000;

type Child = Bun.Subprocess<"pipe", "pipe", "pipe">;

export function childEnv(
  cfg: StdioBackendConfig,
  parent: Record<string, string | undefined>,
  platform: NodeJS.Platform = process.platform,
): Record<string, string> {
  const env: Record<string, string> = {};
  if (platform === "win32") {
    // Windows names are case-insensitive and come as written ("Path", "SystemRoot"); a
    // configured PATH must replace the inherited Path, not sit beside it.
    const byUpper = new Map(Object.keys(parent).map((k) => [k.toUpperCase(), k]));
    const configured = new Set(Object.keys(cfg.env).map((k) => k.toUpperCase()));
    for (const key of [...SAFE_ENV_WINDOWS, ...cfg.inheritEnv]) {
      const actual = byUpper.get(key.toUpperCase());
      const value = actual === undefined ? undefined : parent[actual];
      if (actual !== undefined && value !== undefined && !configured.has(actual.toUpperCase())) env[actual] = value;
    }
  } else {
    for (const key of [...SAFE_ENV, ...cfg.inheritEnv]) {
      const value = parent[key];
      if (value !== undefined) env[key] = value;
    }
  }
  return { ...env, ...cfg.env };
}

/** The PATH a child searches: Windows spells the name as it likes. */
function pathOf(env: Record<string, string>): string {
  const key = Object.keys(env).find((k) => k.toUpperCase() === "PATH");
  return key === undefined ? "" : (env[key] ?? "");
}

/** How to end a child's whole tree by force: its process group on POSIX, taskkill on Windows. */
export function treeKill(pid: number, platform: NodeJS.Platform = process.platform): { group: number } | { argv: string[] } {
  return platform === "win32" ? { argv: ["taskkill", "/PID", String(pid), "/T", "/F"] } : { group: -pid };
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
    // On Windows Bun.which also tries .exe, .cmd and .bat, so `npx` finds npx.cmd (read in Bun's source; not run).
    const command = Bun.which(this.cfg.command, { PATH: pathOf(env), cwd: this.cfg.cwd ?? process.cwd() });
    if (!command) {
      this.log.error(`command not found: ${this.cfg.command} (PATH=${pathOf(env)})`);
      throw new BackendUnavailable(`Backend ${this.cfg.name}: command not found`);
    }
    const child = Bun.spawn([command, ...this.cfg.args], {
      cwd: this.cfg.cwd,
      env,
      stdin: "pipe",
      stdout: "pipe",
      stderr: this.quiet ? "ignore" : "pipe",
      // POSIX: its own process group, so that closing ends grandchildren too (npx, sh -c, ...).
      // Not on Windows, where detached means no console, and each console program the child
      // starts (node under npx.cmd) would open a window; there taskkill /T ends the tree.
      detached: process.platform !== "win32",
      windowsHide: true,
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
    if (process.platform === "win32") {
      // No SIGTERM for console programs: end of stdin is the polite request (the MCP
      // spec's first step), then the tree goes by force while its links still exist.
      const timer = setTimeout(() => killTree(child.pid), KILL_GRACE_MS);
      await child.exited;
      clearTimeout(timer);
      return;
    }
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

function killTree(pid: number): void {
  const how = treeKill(pid);
  if ("group" in how) return signalGroup(pid, "SIGKILL");
  try {
    Bun.spawn(how.argv, { stdin: "ignore", stdout: "ignore", stderr: "ignore", windowsHide: true });
  } catch {
    // taskkill missing: nothing better to try.
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}
