// Preloaded into a fixture by modern-backend.test.ts: appends a line to $SPAWN_LOG when the process starts,
// so that a test can count spawns (an era probe on stdio is one), and with EXIT_ON_DISCOVER=1 exits on a
// server/discover request, as servers do that take nothing before initialize (rmcp). Like request-tap.ts,
// it wraps stdin's emit rather than listening, so that nothing is read before the fixture's transport is.
import { appendFileSync } from "node:fs";

if (process.env.SPAWN_LOG) appendFileSync(process.env.SPAWN_LOG, `${process.pid}\n`);
if (process.env.EXIT_ON_DISCOVER === "1") {
  const emit = process.stdin.emit;
  process.stdin.emit = function (this: unknown, event: string, ...args: unknown[]) {
    if (event === "data" && String(args[0]).includes('"server/discover"')) process.exit(1);
    return emit.call(this, event, ...args);
  } as typeof process.stdin.emit;
}
