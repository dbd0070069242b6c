// The embedded demo config: examples/demo.yaml, with its backend pointed at
// this very executable (the compiled binary, or bun + src/main.ts from source).

import { parseConfig, type Config } from "../config/load.ts";
import demoYaml from "../../examples/demo.yaml" with { type: "text" };

export function selfCommand(): string[] {
  // A compiled binary's entry lives in Bun's embedded filesystem.
  const compiled = Bun.main.startsWith("/$bunfs/") || Bun.main.startsWith("B:/~BUN/");
  return compiled ? [process.execPath] : [process.execPath, Bun.main];
}

export function demoConfig(): Config {
  const config = parseConfig(demoYaml, "<demo>");
  const [command, ...pre] = selfCommand();
  for (const b of config.backends) {
    if (b.transport === "stdio" && b.command === "sentinel") {
      b.command = command!;
      b.args = [...pre, ...b.args];
    }
  }
  return config;
}
