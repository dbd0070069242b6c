// `sentinel schema`: prints the config's JSON Schema, for editors and CI.

import { parseFlags, UsageError } from "./args.ts";

export const schemaHelp = `Usage: sentinel schema

Prints the config file's JSON Schema (draft-07), generated from the schema Sentinel validates with.
  sentinel schema > sentinel.schema.json
then, in a YAML config, a first line: # yaml-language-server: $schema=./sentinel.schema.json`;

export async function schema(argv: string[]): Promise<void> {
  const { positionals } = parseFlags(argv, {});
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  process.stdout.write(`${await schemaText()}\n`);
}

/** The schema as a file holds it; also what `sentinel init` writes. Loaded on demand: only these commands need the converter. */
export async function schemaText(): Promise<string> {
  const { configJsonSchema } = await import("../config/json-schema.ts");
  return JSON.stringify(configJsonSchema(), null, 2);
}
