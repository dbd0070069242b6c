// Builds dist/sentinel: one self-contained executable (no Bun or Node needed to
// run it). Assets such as the SQL schema and the demo config are embedded by
// their `with { type: "text" }` imports.

import { $ } from "bun";

const outfile = process.argv[2] ?? "dist/sentinel";
const started = performance.now();
// A gateway must not pick up a stray .env or bunfig.toml from whatever directory
// it is started in: config comes only from --config.
await $`bun build --compile --minify --sourcemap=none --no-compile-autoload-dotenv --no-compile-autoload-bunfig src/main.ts --outfile ${outfile}`.quiet();
const size = Bun.file(outfile).size;
console.log(`built ${outfile}: ${(size / 1024 / 1024).toFixed(1)} MB in ${Math.round(performance.now() - started)} ms`);
