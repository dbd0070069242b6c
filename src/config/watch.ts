// Noticing that the config file changed: its modification time and size,
// polled twice a second (no watcher module to load, the same on every OS, and
// an editor's save in several writes is seen once it has settled).

const EVERY_MS = 500;

/** Calls `changed` once the file has changed and then stayed the same for a poll; returns a stop function. */
export function watchFile(path: string, changed: () => void, everyMs = EVERY_MS): () => void {
  const stamp = () => {
    const f = Bun.file(path);
    try {
      return `${f.lastModified}:${f.size}`;
    } catch {
      return "missing";
    }
  };
  let seen = stamp();
  let pending: string | null = null;
  const timer = setInterval(() => {
    const now = stamp();
    if (pending !== null) {
      // Settled since the last poll: one reload for the whole save.
      if (now === pending) {
        pending = null;
        seen = now;
        changed();
      } else pending = now;
      return;
    }
    if (now !== seen) pending = now;
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
