// Entry point of the compiled binary: picks a subcommand and runs it.

import { VERSION } from "./version.ts";
import { UsageError } from "./cli/args.ts";
import { ConfigError } from "./errors.ts";
import { writeStderr } from "./log.ts";

const HELP = `sentinel ${VERSION}: an MCP gateway in one binary (auth, routing, audit)

Usage:
  sentinel [serve] --config FILE            serve MCP on stdio (for Claude Code)
  sentinel serve --http --config FILE       serve Streamable HTTP on 127.0.0.1:8787/mcp
  sentinel serve --http --demo              try it: the embedded demo config
  sentinel check --config FILE              validate a config and exit
  sentinel tools --config FILE              list the tool names clients will see
  sentinel tools diff|approve|disable|enable|pins NAME --config FILE
                                            pinned definitions and kill switches
  sentinel approvals list|approve|deny [ID] --config FILE
                                            calls waiting for an approver (config approvals)
  sentinel status --config FILE [--url URL] each backend's state (readiness, circuit, last error)
  sentinel token issue|hash|new-key         mint a JWT, hash an API key for the config
  sentinel audit [--config FILE] [filters]  show the audit trail (--help for filters)
  sentinel init [--path FILE]               write a commented starter config (and its schema)
  sentinel import [FILE] [--out F] [--dry-run]
                                            turn Claude Code / Desktop MCP servers into a config
  sentinel schema                           print the config's JSON Schema
  sentinel --version | --help

Run "sentinel COMMAND --help" for a command's options.`;

async function main(argv: string[]): Promise<void> {
  const [first, ...rest] = argv;
  if (first === "--version" || first === "-v" || first === "version") return void console.log(VERSION);
  if (first === "--help" || first === "-h" || first === "help") return void console.log(HELP);
  const wantsHelp = rest.includes("--help") || rest.includes("-h");
  switch (first) {
    case "check": {
      const m = await import("./cli/check.ts");
      return wantsHelp ? void console.log(m.checkHelp) : m.check(rest);
    }
    case "audit": {
      const m = await import("./cli/audit.ts");
      return wantsHelp ? void console.log(m.auditHelp) : m.audit(rest);
    }
    case "tools": {
      const [sub, ...more] = rest;
      if (sub && !sub.startsWith("-")) {
        const m = await import("./cli/tools-admin.ts");
        return wantsHelp ? void console.log(m.toolsAdminHelp) : m.toolsAdmin(sub, more);
      }
      const m = await import("./cli/tools.ts");
      return wantsHelp ? void console.log(m.toolsHelp) : m.tools(rest);
    }
    case "approvals": {
      const m = await import("./cli/approvals.ts");
      return wantsHelp ? void console.log(m.approvalsHelp) : m.approvals(rest);
    }
    case "status": {
      const m = await import("./cli/status.ts");
      return wantsHelp ? void console.log(m.statusHelp) : m.status(rest);
    }
    case "token": {
      const m = await import("./cli/token.ts");
      return wantsHelp ? void console.log(m.tokenHelp) : m.token(rest);
    }
    case "schema": {
      const m = await import("./cli/schema.ts");
      return wantsHelp ? void console.log(m.schemaHelp) : m.schema(rest);
    }
    case "import": {
      const m = await import("./cli/import.ts");
      return wantsHelp ? void console.log(m.importHelp) : m.importConfig(rest);
    }
    case "init": {
      const m = await import("./cli/init.ts");
      return wantsHelp ? void console.log(m.initHelp) : m.init(rest);
    }
    case "demo-backend":
      return (await import("./demo/backend.ts")).runDemoBackend();
    case "serve": {
      const m = await import("./cli/serve.ts");
      return wantsHelp ? void console.log(m.serveHelp) : m.serve(rest);
    }
    default: {
      if (first !== undefined && !first.startsWith("-")) throw new UsageError(`unknown command "${first}"`);
      // No subcommand: serve on stdio, as `claude mcp add sentinel -- sentinel --config F` runs it.
      return (await import("./cli/serve.ts")).serve(argv);
    }
  }
}

main(process.argv.slice(2)).catch((err) => {
  // Problems found while building from a valid-looking config (keys, JWKS files): exit 2 like config errors.
  if (err instanceof ConfigError) {
    writeStderr(`sentinel: ${err.message}\n`);
    process.exit(2);
  }
  if (err instanceof UsageError) {
    writeStderr(`sentinel: ${err.message}\nRun "sentinel --help" for usage.\n`);
    process.exit(64);
  }
  writeStderr(`sentinel: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
