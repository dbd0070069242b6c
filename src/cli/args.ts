// Flag parsing for subcommands: --name value, --name=value, -n value, boolean
// switches, repeatable flags, positionals after them or after "--". Written
// here rather than using node:util's parseArgs, which costs ~6 MB of idle
// memory in the compiled gateway (measured).

export class UsageError extends Error {}

export type FlagSpec = { type: "string" | "boolean"; short?: string; multiple?: boolean };

type Values<T extends Record<string, FlagSpec>> = {
  [K in keyof T]?: T[K]["type"] extends "boolean" ? boolean : T[K]["multiple"] extends true ? string[] : string;
};

export function parseFlags<const T extends Record<string, FlagSpec>>(argv: string[], options: T): { values: Values<T>; positionals: string[] } {
  const values: Record<string, unknown> = {};
  const positionals: string[] = [];
  const byShort = new Map(Object.entries(options).flatMap(([name, s]) => (s.short ? [[s.short, name] as const] : [])));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const raw = arg.startsWith("--") ? arg.slice(2, eq === -1 ? undefined : eq) : arg.slice(1);
    const name = arg.startsWith("--") ? raw : byShort.get(raw);
    const spec = name === undefined ? undefined : options[name];
    if (!name || !spec) throw new UsageError(`Unknown option '${arg.slice(0, eq === -1 ? undefined : eq)}'`);
    if (spec.type === "boolean") {
      if (eq !== -1) throw new UsageError(`Option '--${name}' does not take a value`);
      values[name] = true;
      continue;
    }
    const value = eq !== -1 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new UsageError(`Option '--${name}' needs a value`);
    values[name] = spec.multiple ? [...((values[name] as string[] | undefined) ?? []), value] : value;
  }
  return { values: values as Values<T>, positionals };
}
