// `sentinel [serve] --config F [--view V] [--http [--host H] [--port P]] [--demo]`:
// the gateway itself, on stdio (what Claude Code launches) or on HTTP.

import { logger, setLogFormat, setLogLevel, writeStderr } from "../log.ts";
import { Gateway } from "../gateway.ts";
import type { HttpFront } from "../front/http.ts";
import { parseFlags, UsageError } from "./args.ts";
import { EXIT_CONFIG, loadOrExit } from "./load.ts";
import { Authenticator } from "../auth/authenticator.ts";
import { reloader } from "./reload.ts";
import type { Principal } from "../auth/principal.ts";
import type { Config } from "../config/load.ts";

const log = logger("sentinel");

export const serveHelp = `Usage: sentinel [serve] --config FILE [--view VIEW] [--http [--host H] [--port P]] [--demo]

Runs the gateway. Without --http it speaks MCP on stdin/stdout (what Claude Code launches):
  claude mcp add sentinel -- sentinel --config /path/sentinel.yaml
With --http it serves Streamable HTTP at http://HOST:PORT/mcp (default 127.0.0.1:8787),
and each configured view at /mcp/<view>.

Options:
  -c, --config FILE   sentinel.yaml, sentinel.json or a Claude .mcp.json
      --view VIEW     on stdio, serve only what the view (config views.VIEW) lets through:
                        claude mcp add research -- sentinel --view research --config F
      --http          serve HTTP instead of stdio
      --host HOST     HTTP bind address (overrides http.host)
      --port PORT     HTTP port, 0 for any free one (overrides http.port)
      --demo          use the embedded demo config (a bundled example backend)
      --log-level L   debug | info | warn | error`;

export async function serve(argv: string[]): Promise<void> {
  const { values } = parseFlags(argv, {
    config: { type: "string", short: "c" },
    http: { type: "boolean" },
    host: { type: "string" },
    port: { type: "string" },
    demo: { type: "boolean" },
    view: { type: "string" },
    "log-level": { type: "string" },
  });
  const config = await loadOrExit(values.config, values.demo);
  const level = values["log-level"] ?? config.server.logLevel;
  if (!["debug", "info", "warn", "error"].includes(level)) throw new UsageError(`--log-level: expected debug, info, warn or error`);
  setLogLevel(level as "info");
  setLogFormat(config.server.logFormat);
  const port = values.port === undefined ? config.http.port : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port: expected a port number, got ${values.port}`);

  const view = values.view ?? null;
  if (view !== null && values.http) throw new UsageError("--view is for stdio; over HTTP each view is served at /mcp/<view>");
  if (view !== null && !Object.hasOwn(config.views, view)) {
    const known = Object.keys(config.views);
    writeStderr(`sentinel: --view ${view}: no such view in ${config.source} (${known.length ? `configured: ${known.join(", ")}` : "no views are configured"})\n`);
    process.exit(EXIT_CONFIG);
  }

  let auth = await Authenticator.create(config.auth);
  // What the HTTP front verifies tokens with: the authenticator of the config in force (a reload replaces it).
  const verifier = {
    get enabled() { return auth.enabled; },
    verify: (token: string) => auth.verify(token),
    known: (token: string) => auth.known(token),
  };
  // The stdio caller is known before anything starts: a bad token fails fast.
  const stdioCaller = values.http ? null : await stdioPrincipal(config, auth);
  const gateway = new Gateway(config);
  gateway.start();
  log.info(`sentinel ${config.backends.length} backend(s) from ${config.source}; audit ${config.audit.enabled ? config.audit.path : "off"}`);
  // SIGHUP and a changed file reload the config; keys, tokens and secrets are read again with it.
  const reloads = reloader(gateway, async (next) => {
    auth = await Authenticator.create(next.auth);
  });

  let front: HttpFront | null = null;
  let exiting = false;
  const shutdown = async (why: string) => {
    if (exiting) return;
    exiting = true;
    reloads.stop();
    log.info(`${why}: draining and shutting down`);
    // Stop taking connections, let in-flight calls finish (bounded), then close the rest.
    const closing = front?.close();
    await gateway.stop();
    await Promise.race([closing, Bun.sleep(1000)]);
    await front?.stop();
    process.exit(0);
  };
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("SIGTERM", () => void shutdown("SIGTERM"));

  if (values.http) {
    // Each front is loaded only when used: Hono is not needed on stdio, where Claude Code runs us.
    const { startHttp } = await import("../front/http.ts");
    front = startHttp(gateway, verifier, { host: values.host ?? config.http.host, port });
    log.info(`listening on ${front.url}`);
    if (values.demo) writeStderr(demoHint(front.url));
    if (!config.identity.anonymous) log.info("anonymous HTTP access is off: requests without credentials get 401");
    if (!config.identity.anonymous && !auth.enabled) log.warn("no auth is configured and anonymous access is off: every HTTP request will get 401");
    return;
  }
  const { serveStdio, processIo } = await import("../front/stdio.ts");
  await serveStdio(gateway, stdioCaller!, processIo(), view);
  await shutdown("stdin closed");
}

function demoHint(url: string): string {
  return `
  Sentinel demo is up: MCP over Streamable HTTP at ${url}
  Connect Claude Code:   claude mcp add --transport http sentinel-demo ${url}
  Or talk to it by hand:
    curl -s -D - -H 'content-type: application/json' -H 'accept: application/json, text/event-stream' \\
      -d '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}' ${url}
  See every call:        ./dist/sentinel audit --follow      (Ctrl-C stops the demo)

`;
}

/** SENTINEL_TOKEN if given (verified like an HTTP token), else the configured local identity. */
async function stdioPrincipal(config: Config, auth: Authenticator): Promise<Principal> {
  const token = config.identity.stdioToken;
  if (token) {
    try {
      return await auth.verify(token);
    } catch (err) {
      writeStderr(`sentinel: SENTINEL_TOKEN was refused: ${(err as Error).message}\n`);
      process.exit(EXIT_CONFIG);
    }
  }
  if (config.identity.local) return { ...config.identity.local, via: "local", expiresAt: null };
  writeStderr(
    "sentinel: this gateway requires authentication: set SENTINEL_TOKEN to a token from your administrator " +
      "(for example: claude mcp add sentinel -e SENTINEL_TOKEN=... -- sentinel --config F), or configure identity.local\n",
  );
  process.exit(EXIT_CONFIG);
}
