// Shared flag parsing for subcommands: node:util's parseArgs with our errors.

import { parseArgs, type ParseArgsConfig } from "node:util";

export class UsageError extends Error {}

export function parseFlags<T extends NonNullable<ParseArgsConfig["options"]>>(argv: string[], options: T) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}
