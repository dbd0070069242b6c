// Builds dist/sentinel: one self-contained executable (no Bun or Node needed to
// run it). Assets such as the SQL schema and the demo config are embedded by
// their `with { type: "text" }` imports. The flags, and the start-up profile the
// bytecode is laid out by, are in compile-flags.ts.

import { resolve } from "node:path";
import { compile, profileStartup } from "./compile-flags.ts";

const outfile = resolve(process.argv[2] ?? "dist/sentinel");
const started = performance.now();
const root = resolve(import.meta.dir, "..");
const profile = await profileStartup(root);
try {
  await compile(root, outfile, profile);
} finally {
  profile.remove();
}
const size = Bun.file(outfile).size;
console.log(`built ${outfile}: ${(size / 1024 / 1024).toFixed(1)} MB in ${Math.round(performance.now() - started)} ms`);
