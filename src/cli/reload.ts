// Reloading a running gateway's config, on SIGHUP and when the file changes:
// the new file is read and validated in full; a bad one is reported as
// `sentinel check` reports it, and the running config stays.

import { watchFile } from "../config/watch.ts";
import { readConfigFile, type Config } from "../config/load.ts";
import { ConfigError } from "../errors.ts";
import type { Gateway } from "../gateway.ts";
import { logger, setLogFormat, setLogLevel } from "../log.ts";

const log = logger("sentinel");

export type Reloader = { reload(why: string): Promise<boolean>; stop(): void };

/**
 * `applied` runs after the gateway took the new config (the caller swaps what
 * it built from the old one: the authenticator). No file (the demo): SIGHUP only.
 */
export function reloader(gateway: Gateway, applied: (next: Config) => Promise<void>): Reloader {
  const path = gateway.config.source;
  const fromFile = !path.startsWith("<");
  let running: Promise<boolean> | null = null;

  const reload = async (why: string): Promise<boolean> => {
    if (!fromFile) {
      log.warn(`${why}: the demo config has no file to reload`);
      return false;
    }
    let next: Config;
    try {
      next = await readConfigFile(path);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      log.error(`${why}: the changed config is not valid; still serving the previous one:\n${err.issues.map((i) => `  - ${i}`).join("\n")}`);
      return false;
    }
    try {
      const changes = gateway.reload(next);
      if (changes.needRestart.length) log.warn(`restart to apply: ${changes.needRestart.join(", ")}`);
      setLogLevel(next.server.logLevel);
      setLogFormat(next.server.logFormat);
      await applied(next);
      return true;
    } catch (err) {
      log.error(`${why}: the reload failed: ${(err as Error).message}`);
      return false;
    }
  };

  // One reload at a time; a signal during one is served by it.
  const once = (why: string) => (running ??= reload(why).finally(() => (running = null)).then((ok) => (watch(), ok)));
  const onHup = () => void once("SIGHUP");
  process.on("SIGHUP", onHup);
  // Watching follows server.watchConfig of the config in force.
  let unwatch: (() => void) | null = null;
  const watch = () => {
    const wanted = fromFile && gateway.config.server.watchConfig;
    if (wanted && !unwatch) unwatch = watchFile(path, () => void once("config file changed"));
    if (!wanted && unwatch) {
      unwatch();
      unwatch = null;
    }
  };
  watch();
  return {
    reload: once,
    stop() {
      unwatch?.();
      process.off("SIGHUP", onHup);
    },
  };
}
