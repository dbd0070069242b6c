// `sentinel tools --config F`: connects to every backend once and prints the
// names clients will see, each with the backend and original name behind it.

import { delay, Gateway } from "../gateway.ts";
import { setLogLevel } from "../log.ts";
import { parseFlags } from "./args.ts";
import { loadOrExit } from "./load.ts";

export const toolsHelp = `Usage: sentinel tools --config FILE [--json]

Starts every backend, lists the tools and prompts as clients see them (exposed
name -> backend and original name, including shortened names), then exits.`;

export async function tools(argv: string[]): Promise<void> {
  const { values } = parseFlags(argv, { config: { type: "string", short: "c" }, demo: { type: "boolean" }, json: { type: "boolean" } });
  const config = await loadOrExit(values.config, values.demo);
  setLogLevel("warn");
  // Listing needs no audit trail.
  const gateway = new Gateway({ ...config, audit: { ...config.audit, enabled: false } });
  gateway.start();
  await Promise.race([Promise.all(gateway.backends.map((b) => b.settled)), delay(config.server.startupTimeoutMs)]);
  const rows = [
    ...[...gateway.catalog.tools].map(([exposed, e]) => ({ kind: "tool", exposed, backend: e.backend.name, name: e.name })),
    ...[...gateway.catalog.prompts].map(([exposed, e]) => ({ kind: "prompt", exposed, backend: e.backend.name, name: e.name })),
  ];
  const down = gateway.backends.filter((b) => b.state !== "ready").map((b) => ({ backend: b.name, error: b.lastError ?? b.state }));
  if (values.json) {
    const withheld = [...gateway.catalog.withheld].map(([name, w]) => ({ name, backend: w.backend.name, reason: w.reason }));
    process.stdout.write(JSON.stringify({ entries: rows, collisions: gateway.catalog.collisions, withheld, unavailable: down }, null, 2) + "\n");
  } else {
    const width = Math.max(4, ...rows.map((r) => r.exposed.length));
    for (const r of rows) {
      const renamed = r.exposed === `${r.backend}${config.names.separator}${r.name}` ? "" : "  (renamed)";
      process.stdout.write(`${r.kind.padEnd(7)}${r.exposed.padEnd(width)}  <- ${r.backend}: ${r.name}${renamed}\n`);
    }
    for (const c of gateway.catalog.collisions) process.stdout.write(`collision: ${c.exposed} from ${c.dropped} hidden by ${c.kept}\n`);
    for (const [name, w] of gateway.catalog.withheld) process.stdout.write(`withheld: ${name} (${w.reason}); see: sentinel tools diff ${name}\n`);
    for (const d of down) process.stdout.write(`unavailable: ${d.backend}: ${d.error}\n`);
  }
  await gateway.stop();
}
