// `sentinel [serve] --config F [--http [--host H] [--port P]] [--demo]`:
// the gateway itself, on stdio (what Claude Code launches) or on HTTP.

import { setLogLevel, logger } from "../log.ts";
import { Gateway } from "../gateway.ts";
import { serveStdio, processIo } from "../front/stdio.ts";
import { startHttp, type HttpFront } from "../front/http.ts";
import { parseFlags, UsageError } from "./args.ts";
import { loadOrExit } from "./load.ts";

const log = logger("sentinel");

export const serveHelp = `Usage: sentinel [serve] --config FILE [--http [--host H] [--port P]] [--demo]

Runs the gateway. Without --http it speaks MCP on stdin/stdout (what Claude Code launches):
  claude mcp add sentinel -- sentinel --config /path/sentinel.yaml
With --http it serves Streamable HTTP at http://HOST:PORT/mcp (default 127.0.0.1:8787).

Options:
  -c, --config FILE   sentinel.yaml, sentinel.json or a Claude .mcp.json
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
    "log-level": { type: "string" },
  });
  const config = loadOrExit(values.config, values.demo);
  const level = values["log-level"] ?? config.server.logLevel;
  if (!["debug", "info", "warn", "error"].includes(level)) throw new UsageError(`--log-level: expected debug, info, warn or error`);
  setLogLevel(level as "info");
  const port = values.port === undefined ? config.http.port : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port: expected a port number, got ${values.port}`);

  const gateway = new Gateway(config);
  gateway.start();
  log.info(`sentinel ${config.backends.length} backend(s) from ${config.source}; audit ${config.audit.enabled ? config.audit.path : "off"}`);

  let front: HttpFront | null = null;
  let exiting = false;
  const shutdown = async (why: string) => {
    if (exiting) return;
    exiting = true;
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
    front = startHttp(gateway, { host: values.host ?? config.http.host, port });
    log.info(`listening on ${front.url}`);
    if (values.demo) process.stderr.write(demoHint(front.url));
    if (!config.identity.anonymous) log.info("anonymous HTTP access is off: requests without credentials get 401");
    return;
  }
  await serveStdio(gateway, config.identity.local, processIo());
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
