// The floor a Bun gateway stands on: a relay that does nothing but move each
// message from its client to the backend and back, parsing and serialising it
// once per hop as any gateway must, with no auth, policy, audit or anything
// else. Compiled like Sentinel (bun build --compile), it shows what the runtime
// itself costs per call on each path. Run: bare-relay MODE [BACKEND...]
//   stdio-stdio CMD...   stdio front, stdio backend
//   http-stdio CMD...    Bun.serve front on a free port ("listening on URL" on stderr), stdio backend
//   http-http URL        Bun.serve front, fetch to the backend's URL
//   stdio-http URL       stdio front, fetch to the backend's URL

export {};

const [mode, ...backend] = process.argv.slice(2);
const JSON_HEADERS = { "content-type": "application/json" };

/** Calls `onLine` with each newline-terminated line of `stream`. */
async function lines(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void): Promise<void> {
  const decoder = new TextDecoder();
  let buf = "";
  for await (const chunk of stream) {
    buf += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buf.indexOf("\n")) !== -1) {
      onLine(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
  }
}

/** A stdio backend: messages out, answers matched to their requests by id. */
function stdioBackend(cmd: string[]) {
  const child = Bun.spawn(cmd, { stdin: "pipe", stdout: "pipe", stderr: "ignore" });
  const waiting = new Map<unknown, (m: object) => void>();
  let onOther: (m: object) => void = () => {};
  void lines(child.stdout, (line) => {
    const m = JSON.parse(line) as { id?: unknown };
    const w = m.id !== undefined ? waiting.get(m.id) : undefined;
    if (w) {
      waiting.delete(m.id);
      w(m);
    } else onOther(m);
  });
  return {
    send(m: object): void {
      child.stdin.write(JSON.stringify(m) + "\n");
      child.stdin.flush();
    },
    ask(m: { id: unknown }): Promise<object> {
      return new Promise((resolve) => {
        waiting.set(m.id, resolve);
        this.send(m);
      });
    },
    others(f: (m: object) => void) {
      onOther = f;
    },
  };
}

/** An HTTP backend: one POST per message, the session id kept; answers read from JSON or the SSE data line. */
function httpBackend(url: string) {
  let session: string | null = null;
  return async (m: object): Promise<{ status: number; body: object | null; session: string | null }> => {
    const headers: Record<string, string> = { ...JSON_HEADERS, accept: "application/json, text/event-stream" };
    if (session) headers["mcp-session-id"] = session;
    const res = await fetch(url, { method: "POST", headers, body: JSON.stringify(m) });
    session = res.headers.get("mcp-session-id") ?? session;
    const text = await res.text();
    if (!text) return { status: res.status, body: null, session };
    const data = (res.headers.get("content-type") ?? "").includes("event-stream") ? text.split("\n").find((l) => l.startsWith("data: "))!.slice(6) : text;
    return { status: res.status, body: JSON.parse(data), session };
  };
}

function stdioFront(handle: (m: { id?: unknown }) => void): { write(m: object): void; done: Promise<void> } {
  const out = Bun.stdout.writer();
  return {
    write(m) {
      out.write(JSON.stringify(m) + "\n");
      out.flush();
    },
    done: lines(Bun.stdin.stream(), (line) => handle(JSON.parse(line))),
  };
}

function httpFront(handle: (m: { id?: unknown }, req: Request) => Promise<Response>): void {
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: async (req) => handle((await req.json()) as { id?: unknown }, req) });
  console.error(`listening on http://127.0.0.1:${server.port}/mcp`);
}

if (mode === "stdio-stdio") {
  const b = stdioBackend(backend);
  const front = stdioFront((m) => (m.id !== undefined ? void b.ask(m as { id: unknown }).then((a) => front.write(a)) : b.send(m)));
  b.others((m) => front.write(m));
  await front.done;
  process.exit(0);
} else if (mode === "http-stdio") {
  const b = stdioBackend(backend);
  // One client session: the relay makes up its id, as a gateway owns its own.
  httpFront(async (m) => {
    if (m.id === undefined) return b.send(m), new Response(null, { status: 202 });
    return new Response(JSON.stringify(await b.ask(m as { id: unknown })), { headers: { ...JSON_HEADERS, "mcp-session-id": "relay" } });
  });
} else if (mode === "http-http") {
  const post = httpBackend(backend[0]!);
  httpFront(async (m) => {
    const a = await post(m);
    return new Response(a.body && JSON.stringify(a.body), { status: a.status, headers: { ...JSON_HEADERS, "mcp-session-id": "relay" } });
  });
} else if (mode === "stdio-http") {
  const post = httpBackend(backend[0]!);
  const front = stdioFront((m) => void post(m).then((a) => a.body && m.id !== undefined && front.write(a.body)));
  await front.done;
  process.exit(0);
} else {
  console.error("usage: bare-relay stdio-stdio|http-stdio CMD... | http-http|stdio-http URL");
  process.exit(2);
}
