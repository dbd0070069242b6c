// Lean JSON-RPC clients: raw line-delimited stdio and fetch over HTTP (keep-alive),
// so that client overhead does not blur the gateway's figures.

export type Answer = { id?: number; result?: any; error?: unknown };

export type Rpc = {
  call(method: string, params?: object, modern?: boolean): Promise<Answer>;
  notify(method: string, params?: object): Promise<void>;
  close(): void;
};

export const INIT = { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "bench", version: "1" } };

// A 2026-07-28 request carries its envelope in _meta (and, over HTTP, headers mirroring the body).
const MODERN_META = {
  "io.modelcontextprotocol/protocolVersion": "2026-07-28",
  "io.modelcontextprotocol/clientCapabilities": {},
  "io.modelcontextprotocol/clientInfo": { name: "bench", version: "1" },
};
const withEnvelope = (params: object | undefined, modern?: boolean) => (modern ? { ...params, _meta: MODERN_META } : params);

/** Calls `onLine` per newline-delimited line; searches only the new chunk, so a 20 MiB line stays linear. */
export async function lines(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void): Promise<void> {
  const decoder = new TextDecoder();
  const parts: string[] = [];
  for await (const chunk of stream) {
    let text = decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = text.indexOf("\n")) !== -1) {
      parts.push(text.slice(0, nl));
      const line = parts.join("");
      parts.length = 0;
      text = text.slice(nl + 1);
      if (line.trim()) onLine(line);
    }
    if (text) parts.push(text);
  }
}

/** Resolves with the first match, and keeps draining so the child never blocks or gets EPIPE. */
export function waitLine(stream: ReadableStream<Uint8Array>, re: RegExp, ms = 15_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let found = false;
    const timer = setTimeout(() => reject(new Error(`never saw ${re} within ${ms} ms`)), ms);
    void lines(stream, (line) => {
      const m = found ? null : re.exec(line);
      if (m) (found = true), clearTimeout(timer), resolve(m[1]!);
    }).then(() => found || (clearTimeout(timer), reject(new Error(`stream ended before ${re}`))));
  });
}

export type StdioProcess = { rpc: Rpc; proc: Bun.Subprocess<"pipe", "pipe", "ignore"> };

/** Spawns `cmd` and speaks line-delimited JSON-RPC on its stdin/stdout. */
export function stdioClient(cmd: string[], env: Record<string, string | undefined> = {}): StdioProcess {
  const proc = Bun.spawn(cmd, { stdin: "pipe", stdout: "pipe", stderr: "ignore", env: { ...process.env, ...env } });
  const pending = new Map<number, (a: Answer) => void>();
  let id = 0;
  void lines(proc.stdout, (line) => {
    const msg = JSON.parse(line) as Answer;
    if (typeof msg.id === "number") pending.get(msg.id)?.(msg), pending.delete(msg.id);
  });
  const send = (msg: object) => {
    proc.stdin.write(JSON.stringify(msg) + "\n");
    proc.stdin.flush();
  };
  const rpc: Rpc = {
    call(method, params, modern) {
      const n = ++id;
      return new Promise((r) => {
        pending.set(n, r);
        send({ jsonrpc: "2.0", id: n, method, params: withEnvelope(params, modern) });
      });
    },
    async notify(method, params) {
      send({ jsonrpc: "2.0", method, params });
    },
    // Closing stdin lets a gateway shut down cleanly (and write a profile, if asked).
    close: () => void proc.stdin.end(),
  };
  return { rpc, proc };
}

/** Streamable HTTP: a 2025 session (mcp-session-id) for legacy calls, sessionless headers for 2026-07-28 ones. */
export function httpClient(url: string, token?: string): Rpc {
  let id = 0;
  let session: string | null = null;
  const headersFor = (method: string, params: object | undefined, modern?: boolean) => {
    const headers: Record<string, string> = { "content-type": "application/json", accept: "application/json, text/event-stream" };
    if (modern) {
      headers["mcp-protocol-version"] = "2026-07-28";
      headers["mcp-method"] = method;
      const name = (params as { name?: string } | undefined)?.name;
      if (name) headers["mcp-name"] = name;
    } else if (session) headers["mcp-session-id"] = session;
    if (token) headers.authorization = `Bearer ${token}`;
    return headers;
  };
  return {
    async call(method, params, modern) {
      const body = JSON.stringify({ jsonrpc: "2.0", id: ++id, method, params: withEnvelope(params, modern) });
      const res = await fetch(url, { method: "POST", headers: headersFor(method, params, modern), body });
      if (!modern) session ??= res.headers.get("mcp-session-id");
      const text = await res.text();
      if (!(res.headers.get("content-type") ?? "").includes("event-stream")) return JSON.parse(text);
      // The answer is the last non-empty data line (mcp-proxy sends an empty priming event first).
      const data = text.split("\n").filter((l) => l.startsWith("data: ") && l.length > 6);
      if (!data.length) throw new Error(`no data in ${res.status} ${text.slice(0, 200)}`);
      return JSON.parse(data.at(-1)!.slice(6));
    },
    async notify(method, params) {
      const res = await fetch(url, { method: "POST", headers: headersFor(method, params), body: JSON.stringify({ jsonrpc: "2.0", method, params }) });
      await res.arrayBuffer();
    },
    close() {},
  };
}

/** initialize + notifications/initialized, as a real client opens a session; throws on an error answer. */
export async function open(rpc: Rpc): Promise<void> {
  const a = await rpc.call("initialize", INIT);
  if (!a.result) throw new Error(`initialize failed: ${JSON.stringify(a).slice(0, 300)}`);
  await rpc.notify("notifications/initialized");
}

/** Retries `open` until an HTTP server that gives no ready line accepts it. */
export async function openWhenUp(url: string, token?: string, ms = 20_000): Promise<Rpc> {
  const until = Date.now() + ms;
  for (;;) {
    const rpc = httpClient(url, token);
    try {
      await open(rpc);
      return rpc;
    } catch (err) {
      if (Date.now() > until) throw err;
      await Bun.sleep(5);
    }
  }
}
