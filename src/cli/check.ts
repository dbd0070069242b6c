// `sentinel check --config F`: validates a config without starting anything.

import { scrub } from "../log.ts";
import { parseFlags } from "./args.ts";
import { loadOrExit } from "./load.ts";

export const checkHelp = `Usage: sentinel check --config FILE

Validates the config and lists its backends; exit code 2 and every problem listed if it is invalid.`;

export async function check(argv: string[]): Promise<void> {
  const { values } = parseFlags(argv, { config: { type: "string", short: "c" }, demo: { type: "boolean" } });
  const config = await loadOrExit(values.config, values.demo);
  const lines = config.backends.map((b) => {
    const where = b.transport === "stdio" ? `${b.command} ${b.args.join(" ")}`.trim() : b.url;
    return `  ${b.name.padEnd(16)} ${b.transport.padEnd(5)} prefix "${b.prefix}"${b.disabled ? " (disabled)" : ""}  ${where}`;
  });
  // A URL or command line may carry a resolved secret.
  process.stdout.write(scrub(`${config.source}: OK, ${config.backends.length} backend(s)\n${lines.join("\n")}\n`));
}
