// Loads the config named on the command line, or the embedded demo, and turns
// a bad one into the listed problems and exit code 2.

import { readConfigFile, type Config } from "../config/load.ts";
import { ConfigError } from "../errors.ts";
import { writeStderr } from "../log.ts";
import { demoConfig } from "../demo/config.ts";

export const EXIT_CONFIG = 2;

export async function loadOrExit(path: string | undefined, demo = false): Promise<Config> {
  try {
    if (demo) return demoConfig();
    if (!path) throw new ConfigError(["no config given: pass --config FILE (YAML or JSON), or --demo"]);
    return await readConfigFile(path);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    writeStderr(`sentinel: ${err.message}\n`);
    process.exit(EXIT_CONFIG);
  }
}

