// What Sentinel does differently on Windows and macOS, tested here on Linux by
// passing the platform in: data paths, Windows path forms, the environment a
// stdio child gets, how a child's tree is ended, and CRLF on stdio.

import { describe, expect, test } from "bun:test";
import type { StdioBackendConfig } from "../../src/config/load.ts";
import { defaultAuditPath, defaultDataDir, dirnameOf, expandHome, resolvePath } from "../../src/config/paths.ts";
import { childEnv, treeKill } from "../../src/backends/stdio.ts";
import { LineDecoder } from "../../src/jsonrpc/lines.ts";

describe("default data dir per OS", () => {
  test("Linux: XDG_DATA_HOME, else ~/.local/share", () => {
    expect(defaultDataDir({ HOME: "/home/ada" }, "linux")).toBe("/home/ada/.local/share/sentinel");
    expect(defaultDataDir({ HOME: "/home/ada", XDG_DATA_HOME: "/data" }, "linux")).toBe("/data/sentinel");
    expect(defaultAuditPath({ HOME: "/home/ada" }, "linux")).toBe("/home/ada/.local/share/sentinel/audit.db");
  });

  test("macOS: ~/Library/Application Support, unless XDG_DATA_HOME is set", () => {
    expect(defaultAuditPath({ HOME: "/Users/ada" }, "darwin")).toBe("/Users/ada/Library/Application Support/sentinel/audit.db");
    expect(defaultDataDir({ HOME: "/Users/ada", XDG_DATA_HOME: "/Users/ada/.data" }, "darwin")).toBe("/Users/ada/.data/sentinel");
  });

  test("Windows: %LOCALAPPDATA%, else %USERPROFILE%\\AppData\\Local", () => {
    expect(defaultAuditPath({ LOCALAPPDATA: "C:\\Users\\ada\\AppData\\Local" }, "win32")).toBe("C:/Users/ada/AppData/Local/sentinel/audit.db");
    expect(defaultDataDir({ USERPROFILE: "C:\\Users\\ada" }, "win32")).toBe("C:/Users/ada/AppData/Local/sentinel");
  });
});

describe("Windows path forms", () => {
  test("drive and UNC paths are absolute; relative ones resolve against the config's folder", () => {
    expect(resolvePath("C:\\work", "D:\\audit\\a.db", "win32")).toBe("D:/audit/a.db");
    expect(resolvePath("C:\\work\\cfg", "..\\data\\a.db", "win32")).toBe("C:/work/data/a.db");
    expect(resolvePath("C:/x", "\\\\srv\\share\\a.db", "win32")).toBe("//srv/share/a.db");
    expect(resolvePath("cfg", "a.db", "win32", "C:\\Users\\ada")).toBe("C:/Users/ada/cfg/a.db");
    expect(resolvePath("C:\\", "..\\..\\a.db", "win32")).toBe("C:/a.db");
  });

  test("dirnameOf keeps the root", () => {
    expect(dirnameOf("C:\\Users\\ada\\sentinel.yaml", "win32")).toBe("C:/Users/ada");
    expect(dirnameOf("C:\\sentinel.yaml", "win32")).toBe("C:/");
    expect(dirnameOf("//srv/share/s.yaml", "win32")).toBe("//srv/share/");
    expect(dirnameOf("/etc/sentinel.yaml", "linux")).toBe("/etc");
    expect(dirnameOf("/s.yaml", "linux")).toBe("/");
    expect(dirnameOf("s.yaml", "linux")).toBe(".");
  });

  test("a backslash is a file name character on POSIX, not a separator", () => {
    expect(resolvePath("/srv", "a\\b.db", "linux")).toBe("/srv/a\\b.db");
  });

  test("~ is USERPROFILE on Windows when HOME is unset", () => {
    expect(expandHome("~\\s.yaml", { USERPROFILE: "C:\\Users\\ada" }, "win32")).toBe("C:/Users/ada/s.yaml");
    expect(expandHome("~/s.yaml", { HOME: "/home/ada" }, "linux")).toBe("/home/ada/s.yaml");
    expect(expandHome("~\\s.yaml", { HOME: "/home/ada" }, "linux")).toBe("~\\s.yaml");
  });
});

function stdioConfig(extra: Partial<StdioBackendConfig> = {}): StdioBackendConfig {
  return { name: "b", transport: "stdio", command: "npx", args: [], env: {}, inheritEnv: [], ...extra } as unknown as StdioBackendConfig;
}

describe("a stdio child's environment", () => {
  const windows = {
    Path: "C:\\Windows\\system32;C:\\Program Files\\nodejs",
    SystemRoot: "C:\\Windows",
    APPDATA: "C:\\Users\\ada\\AppData\\Roaming",
    LOCALAPPDATA: "C:\\Users\\ada\\AppData\\Local",
    USERPROFILE: "C:\\Users\\ada",
    ComSpec: "C:\\Windows\\system32\\cmd.exe",
    PATHEXT: ".COM;.EXE;.BAT;.CMD",
    TEMP: "C:\\Temp",
    GITHUB_TOKEN: "secret",
  };

  test("Windows: what npx.cmd and node need, found whatever the case, and no secrets", () => {
    const env = childEnv(stdioConfig(), windows, "win32");
    expect(env).toEqual({
      Path: windows.Path,
      SystemRoot: windows.SystemRoot,
      APPDATA: windows.APPDATA,
      LOCALAPPDATA: windows.LOCALAPPDATA,
      USERPROFILE: windows.USERPROFILE,
      ComSpec: windows.ComSpec,
      PATHEXT: windows.PATHEXT,
      TEMP: windows.TEMP,
    });
  });

  test("Windows: inheritEnv matches case-insensitively; env entries win", () => {
    const env = childEnv(stdioConfig({ inheritEnv: ["github_token"], env: { TEMP: "D:\\t" } }), windows, "win32");
    expect(env.GITHUB_TOKEN).toBe("secret");
    expect(env.TEMP).toBe("D:\\t");
    const path = childEnv(stdioConfig({ env: { PATH: "D:\\bin" } }), windows, "win32");
    expect(Object.keys(path).filter((k) => k.toUpperCase() === "PATH")).toEqual(["PATH"]);
  });

  test("POSIX: the SDK's list only, exact names", () => {
    const env = childEnv(stdioConfig(), { PATH: "/usr/bin", HOME: "/home/ada", Path: "x", SystemRoot: "y", AWS_SECRET_ACCESS_KEY: "z" }, "linux");
    expect(env).toEqual({ PATH: "/usr/bin", HOME: "/home/ada" });
  });
});

describe("ending a child's tree", () => {
  test("POSIX signals the process group; Windows runs taskkill /T /F", () => {
    expect(treeKill(4242, "linux")).toEqual({ group: -4242 });
    expect(treeKill(4242, "darwin")).toEqual({ group: -4242 });
    expect(treeKill(4242, "win32")).toEqual({ argv: ["taskkill", "/PID", "4242", "/T", "/F"] });
  });
});

describe("CRLF on stdio (what Windows programs may write)", () => {
  const enc = new TextEncoder();

  test("CR and LF in different reads still end one line", () => {
    const lines: string[] = [];
    const decoder = new LineDecoder(1024, { line: (t) => lines.push(t), oversized: () => {} });
    decoder.push(enc.encode('{"id":1}\r'));
    decoder.push(enc.encode('\n{"id":2}\r\n'));
    expect(lines).toEqual(['{"id":1}', '{"id":2}']);
  });

  test("a large line relayed as bytes loses its CR too", () => {
    const large: string[] = [];
    const decoder = new LineDecoder(1 << 20, { line: () => {}, large: (parts) => large.push(parts.map((p) => new TextDecoder().decode(p)).join("")), oversized: () => {} }, 16);
    const msg = JSON.stringify({ id: 3, result: { text: "x".repeat(100) } });
    decoder.push(enc.encode(msg.slice(0, 50)));
    decoder.push(enc.encode(`${msg.slice(50)}\r`));
    decoder.push(enc.encode("\n"));
    expect(large).toEqual([msg]);
  });
});
