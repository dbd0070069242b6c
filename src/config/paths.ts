// File paths for config: "~" expansion, the default data dir (per OS convention), and
// the few path operations the loader needs. Written here instead of importing
// node:path and node:os, which cost ~4 MB of the gateway's idle memory (measured on
// the compiled binary) for these few functions. Windows paths ("C:\x", "\\server\share")
// are read with either slash and written with "/", which every Windows file API accepts.

type Env = Record<string, string | undefined>;
type Platform = NodeJS.Platform;

export function expandHome(path: string, env: Env = process.env, platform: Platform = process.platform): string {
  // Windows sets USERPROFILE; HOME only under Git Bash and the like.
  const home = env.HOME ?? (platform === "win32" ? env.USERPROFILE : undefined) ?? "/";
  if (path === "~") return home;
  const rest = path.startsWith("~/") || (platform === "win32" && path.startsWith("~\\")) ? path.slice(2) : null;
  return rest === null ? path : join(platform, [home, rest]);
}

/**
 * Where Sentinel keeps its data when the config says nothing: XDG_DATA_HOME when set
 * (on any OS: the user asked for it), else ~/Library/Application Support on macOS,
 * %LOCALAPPDATA% on Windows (machine-local, not roaming: an audit database is per
 * machine), and ~/.local/share elsewhere.
 */
export function defaultDataDir(env: Env, platform: Platform = process.platform): string {
  if (env.XDG_DATA_HOME) return join(platform, [env.XDG_DATA_HOME, "sentinel"]);
  if (platform === "darwin") return join(platform, [env.HOME ?? "/", "Library", "Application Support", "sentinel"]);
  if (platform === "win32") {
    if (env.LOCALAPPDATA) return join(platform, [env.LOCALAPPDATA, "sentinel"]);
    return join(platform, [env.USERPROFILE ?? env.HOME ?? "/", "AppData", "Local", "sentinel"]);
  }
  return join(platform, [env.HOME ?? "/", ".local", "share", "sentinel"]);
}

/** The audit database when the config names none; also what `sentinel audit` reads without --config. */
export function defaultAuditPath(env: Env, platform: Platform = process.platform): string {
  return join(platform, [defaultDataDir(env, platform), "audit.db"]);
}

export function joinPath(...parts: string[]): string {
  return join(process.platform, parts);
}

/** `path` made absolute against `base` (itself absolute, or taken from the working directory). */
export function resolvePath(base: string, path: string, platform: Platform = process.platform, cwd = process.cwd()): string {
  if (rootOf(path, platform) !== "") return normalize(path, platform);
  const from = rootOf(base, platform) !== "" ? base : join(platform, [cwd, base]);
  return normalize(`${from}/${path}`, platform);
}

export function dirnameOf(path: string, platform: Platform = process.platform): string {
  const p = normalize(path, platform);
  const root = rootOf(p, platform);
  const i = p.lastIndexOf("/");
  return i < root.length ? root || "." : p.slice(0, i);
}

function join(platform: Platform, parts: string[]): string {
  return normalize(parts.filter(Boolean).join("/"), platform);
}

/** The absolute prefix of a path, written with "/": "/", "C:/", "//server/share/", or "" when relative. */
function rootOf(path: string, platform: Platform): string {
  if (platform !== "win32") return path.startsWith("/") ? "/" : "";
  const p = path.replaceAll("\\", "/");
  const unc = /^\/\/[^/]+\/[^/]+\/?/.exec(p);
  if (unc) return unc[0].endsWith("/") ? unc[0] : `${unc[0]}/`;
  const drive = /^[A-Za-z]:\//.exec(p);
  if (drive) return drive[0];
  return p.startsWith("/") ? "/" : "";
}

function normalize(path: string, platform: Platform): string {
  const p = platform === "win32" ? path.replaceAll("\\", "/") : path;
  const root = rootOf(p, platform);
  const out: string[] = [];
  for (const seg of p.slice(root.length).split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") {
      if (out.length > 0 && out.at(-1) !== "..") out.pop();
      else if (!root) out.push("..");
    } else out.push(seg);
  }
  const joined = out.join("/");
  return root ? `${root}${joined}` : joined || ".";
}
