// Replaced at build time by scripts/build.ts; read from package.json when run from source.
import pkg from "../package.json" with { type: "json" };

export const VERSION: string = pkg.version;
