// `sentinel tools --config F [--view V]`: connects to every backend once and
// prints the names clients will see, each with the backend and original name
// behind it, and what the tool list costs a model's context (in a view and in full).

import type { Item } from "../backends/backend.ts";
import { exposedName } from "../dispatch/names.ts";
import { delay, Gateway } from "../gateway.ts";
import { setLogLevel, writeStderr } from "../log.ts";
import { Policy } from "../pipeline/policy.ts";
import { parseFlags } from "./args.ts";
import { EXIT_CONFIG, loadOrExit } from "./load.ts";

export const toolsHelp = `Usage: sentinel tools --config FILE [--view VIEW] [--json]

Starts every backend, lists the tools and prompts as clients see them (exposed
name -> backend and original name, including shortened names), then exits.
With --view, only what that view lets through (RBAC may hide more from a caller).
Either way it prints the size of the tools/list result a client reads: its JSON
in characters and estimated tokens (characters / 4), in the view and in full.`;

/** What a tools/list result of these tools costs: its JSON, and a rough token count (4 characters a token). */
function sizeOf(items: Item[]): { tools: number; chars: number; tokens: number } {
  const chars = JSON.stringify({ tools: items }).length;
  return { tools: items.length, chars, tokens: Math.ceil(chars / 4) };
}

export async function tools(argv: string[]): Promise<void> {
  const { values } = parseFlags(argv, {
    config: { type: "string", short: "c" },
    demo: { type: "boolean" },
    json: { type: "boolean" },
    view: { type: "string" },
  });
  const config = await loadOrExit(values.config, values.demo);
  const view = values.view ?? null;
  if (view !== null && !Object.hasOwn(config.views, view)) {
    const known = Object.keys(config.views);
    writeStderr(`sentinel tools: --view ${view}: no such view in ${config.source} (${known.length ? `configured: ${known.join(", ")}` : "no views are configured"})\n`);
    process.exit(EXIT_CONFIG);
  }
  // Only the view's filter: no caller, so no RBAC.
  const rules = new Policy(config, null);
  setLogLevel("warn");
  // Listing needs no audit trail.
  const gateway = new Gateway({ ...config, audit: { ...config.audit, enabled: false } });
  gateway.start();
  await Promise.race([Promise.all(gateway.backends.map((b) => b.settled)), delay(config.server.startupTimeoutMs)]);
  const shown = <E extends { backend: { name: string } }>(kind: "tool" | "prompt", entries: Iterable<[string, E]>) =>
    [...entries].filter(([exposed, e]) => rules.inView(view, kind, exposed, e.backend.name));
  const inView = shown("tool", gateway.catalog.tools);
  type Row = { kind: string; exposed: string; backend: string; name: string; shaped?: string[] };
  const rows: Row[] = [
    ...inView.map(([exposed, e]) => ({ kind: "tool", exposed, backend: e.backend.name, name: e.name, ...(e.shaped && { shaped: e.shaped }) })),
    ...shown("prompt", gateway.catalog.prompts).map(([exposed, e]) => ({ kind: "prompt", exposed, backend: e.backend.name, name: e.name })),
  ];
  const full = sizeOf([...gateway.catalog.tools].map(([, e]) => e.item));
  const size = view === null ? { full } : { view: { name: view, ...sizeOf(inView.map(([, e]) => e.item)) }, full };
  const down = gateway.backends.filter((b) => b.state !== "ready").map((b) => ({ backend: b.name, error: b.lastError ?? b.state }));
  if (values.json) {
    const withheld = [...gateway.catalog.withheld].map(([name, w]) => ({ name, backend: w.backend.name, reason: w.reason }));
    const hidden = [...gateway.catalog.hidden].map(([name, h]) => ({ name, backend: h.backend.name, original: h.name }));
    process.stdout.write(JSON.stringify({ entries: rows, collisions: gateway.catalog.collisions, withheld, hidden, unavailable: down, size }, null, 2) + "\n");
  } else {
    const width = Math.max(4, ...rows.map((r) => r.exposed.length));
    for (const r of rows) {
      const shaped = r.shaped;
      const renamed = r.exposed === `${r.backend}${config.names.separator}${r.name}` || shaped?.includes("renamed") ? "" : "  (renamed)";
      const marks = shaped?.length ? `  (shaped: ${shaped.join(", ")})` : "";
      process.stdout.write(`${r.kind.padEnd(7)}${r.exposed.padEnd(width)}  <- ${r.backend}: ${r.name}${renamed}${marks}\n`);
    }
    for (const [name, h] of gateway.catalog.hidden) process.stdout.write(`hidden: ${name} <- ${h.backend.name}: ${h.name} (shaping)\n`);
    for (const c of gateway.catalog.collisions) process.stdout.write(`collision: ${c.exposed} from ${c.dropped} hidden by ${c.kept}\n`);
    for (const [name, w] of gateway.catalog.withheld) {
      // Pins know a tool by its unshaped name; a renamed one is named BACKEND:TOOL.
      const pin = name === exposedName(w.backend.config.prefix, w.name, config.names.maxLength) ? name : `${w.backend.name}:${w.name}`;
      process.stdout.write(`withheld: ${name} (${w.reason}); see: sentinel tools diff ${pin}\n`);
    }
    for (const d of down) process.stdout.write(`unavailable: ${d.backend}: ${d.error}\n`);
    const line = (what: string, s: ReturnType<typeof sizeOf>) =>
      `${what}: ${s.tools} tools, tools/list ${s.chars} chars, ~${s.tokens} tokens\n`;
    if ("view" in size && size.view) {
      process.stdout.write(line(`view ${view}`, size.view));
      const saved = full.chars === 0 ? 0 : Math.round((1 - size.view.chars / full.chars) * 100);
      process.stdout.write(line("full", full).replace(/\n$/, `  (the view saves ${saved}%)\n`));
    } else process.stdout.write(line("full", full));
  }
  await gateway.stop();
}
