// The pooled HTTP/1.1 client of HTTP backends, against real sockets: a raw TCP
// server that answers as scripted (framings, splits, closes), and Bun.serve.
import { afterAll, describe, expect, test } from "bun:test";
import type { Socket, TCPSocketListener } from "bun";
import { post } from "../../src/backends/http1.ts";

type Script = (request: string, socket: Socket<{ buf: string }>) => void;

/** A TCP server answering each complete request (head + content-length body) with `script`. */
function rawServer(script: Script): { url: string; connections: () => number; server: TCPSocketListener<{ buf: string }> } {
  let connections = 0;
  const server = Bun.listen<{ buf: string }>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(s) {
        connections++;
        s.data = { buf: "" };
      },
      data(s, chunk) {
        s.data.buf += chunk.toString("latin1");
        for (;;) {
          const end = s.data.buf.indexOf("\r\n\r\n");
          if (end < 0) return;
          const length = Number(/content-length: (\d+)/i.exec(s.data.buf.slice(0, end))?.[1] ?? 0);
          if (s.data.buf.length < end + 4 + length) return;
          const request = s.data.buf.slice(0, end + 4 + length);
          s.data.buf = s.data.buf.slice(end + 4 + length);
          script(request, s);
        }
      },
    },
  });
  return { url: `http://127.0.0.1:${server.port}/mcp?x=1`, connections: () => connections, server };
}

const servers: { stop(force?: boolean): void }[] = [];
afterAll(() => servers.forEach((s) => s.stop(true)));
const init = (body = "{}") => ({ headers: { "content-type": "application/json" }, body });

/** Writes `parts` one event-loop turn apart, so the client sees them as separate chunks. */
async function dribble(s: Socket<{ buf: string }>, parts: string[]): Promise<void> {
  for (const p of parts) {
    s.write(p);
    s.flush();
    await Bun.sleep(5);
  }
}

describe("http1 post", () => {
  test("keeps one connection alive across sequential posts, sends the request as given", async () => {
    const seen: string[] = [];
    const srv = rawServer((req, s) => {
      seen.push(req);
      // The request as bytes (latin1 keeps them): echoed back as they came.
      const body = req.slice(req.indexOf("\r\n\r\n") + 4);
      s.write(Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nMcp-Session-Id: abc\r\nContent-Length: ${body.length}\r\n\r\n${body}`, "latin1"));
    });
    servers.push(srv.server);
    for (let i = 0; i < 20; i++) {
      const res = await post(srv.url, init(`{"n":${i},"é":"ü"}`));
      expect(res.status).toBe(200);
      expect(res.ok).toBe(true);
      expect(res.headers.get("mcp-session-id")).toBe("abc");
      expect(res.headers.get("Content-Type")).toBe("application/json");
      expect(await res.text()).toBe(`{"n":${i},"é":"ü"}`);
    }
    expect(srv.connections()).toBe(1);
    expect(seen[0]).toStartWith("POST /mcp?x=1 HTTP/1.1\r\nhost: 127.0.0.1:");
    expect(seen[0]).toContain("content-type: application/json\r\n");
    expect(seen[0]).toContain(`content-length: ${Buffer.byteLength('{"n":0,"é":"ü"}')}\r\n`);
  });

  test("chunked bodies split anywhere, trailers, and SSE read as it arrives", async () => {
    const pieces = ["event: mes", "sage\ndata", ": {}\n\n"];
    const wire =
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n" +
      pieces.map((p, i) => `${p.length.toString(16)}${i === 1 ? ";ext=1" : ""}\r\n${p}\r\n`).join("") +
      "0\r\nX-Trailer: 1\r\n\r\n";
    // Split every 7 bytes: through sizes, CRLFs and data alike.
    const srv = rawServer((_req, s) => void dribble(s, wire.match(/[^]{1,7}/g)!));
    servers.push(srv.server);
    for (let round = 0; round < 2; round++) {
      const res = await post(srv.url, init());
      const chunks: string[] = [];
      for await (const c of res.body!) chunks.push(Buffer.from(c).toString());
      expect(chunks.join("")).toBe("event: message\ndata: {}\n\n");
      expect(chunks.length).toBeGreaterThan(1);
    }
    expect(srv.connections()).toBe(1);
  });

  test("a body read until the connection closes; Connection: close is not reused", async () => {
    const srv = rawServer((req, s) => {
      if (req.includes('"close"')) s.end("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{\"until\":\"close\"}");
      else s.write("HTTP/1.1 202 Accepted\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    });
    servers.push(srv.server);
    expect(await (await post(srv.url, init('"close"'))).text()).toBe('{"until":"close"}');
    const accepted = await post(srv.url, init());
    expect(accepted.status).toBe(202);
    expect(await accepted.text()).toBe("");
    await post(srv.url, init());
    expect(srv.connections()).toBe(3);
  });

  test("an interim 100 Continue is skipped; error statuses are answers, not failures", async () => {
    const srv = rawServer((_req, s) => {
      void dribble(s, ["HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 4", '04 Not Found\r\nContent-Length: 9\r\n\r\n{"e":404}']);
    });
    servers.push(srv.server);
    const res = await post(srv.url, init());
    expect(res.status).toBe(404);
    expect(res.ok).toBe(false);
    expect(await res.text()).toBe('{"e":404}');
  });

  test("a pooled connection the server closed meanwhile is replaced, once", async () => {
    let n = 0;
    const srv = rawServer((_req, s) => {
      n++;
      // The first connection is closed as soon as it has answered, without saying so.
      s.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}');
      if (n === 1) setTimeout(() => s.end(), 1);
    });
    servers.push(srv.server);
    await (await post(srv.url, init())).text();
    await Bun.sleep(20);
    expect(await (await post(srv.url, init())).text()).toBe("{}");
    expect(srv.connections()).toBe(2);
  });

  test("a connection lost mid-answer fails the read; a refused connection fails the post", async () => {
    const srv = rawServer((_req, s) => void dribble(s, ["HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"partial", ""]).then(() => s.end()));
    servers.push(srv.server);
    const res = await post(srv.url, init());
    expect(res.text()).rejects.toThrow("mid-answer");
    const closed = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const port = closed.port;
    closed.stop(true);
    expect(post(`http://127.0.0.1:${port}/mcp`, init())).rejects.toThrow();
  });

  test("garbage, a bad content-length and oversized headers are errors, not hangs", async () => {
    const answers = ["SSH-2.0-OpenSSH\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n{}", `HTTP/1.1 200 OK\r\nX-Big: ${"a".repeat(70 * 1024)}`];
    let i = 0;
    const srv = rawServer((_req, s) => void s.write(answers[i++]!));
    servers.push(srv.server);
    expect(post(srv.url, init())).rejects.toThrow("other than HTTP");
    expect(post(srv.url, init())).rejects.toThrow("content-length");
    expect(post(srv.url, init())).rejects.toThrow("too large");
  });

  test("aborting ends the exchange, and the socket is not reused", async () => {
    const srv = rawServer((req, s) => {
      if (req.includes("slow")) return void s.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n{\r\n");
      s.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}");
    });
    servers.push(srv.server);
    const aborter = new AbortController();
    const res = await post(srv.url, { ...init('"slow"'), signal: aborter.signal });
    const reading = res.text();
    aborter.abort();
    expect(reading).rejects.toThrow("aborted");
    expect(post(srv.url, { ...init(), signal: aborter.signal })).rejects.toThrow("aborted");
    expect(await (await post(srv.url, init())).text()).toBe("{}");
    expect(srv.connections()).toBe(2);
  });

  test("configured framing headers (host, content-length, ...) are not sent twice", async () => {
    let seen = "";
    const srv = rawServer((req, s) => {
      seen = req;
      s.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}");
    });
    servers.push(srv.server);
    await (await post(srv.url, { headers: { Host: "evil.example", "Content-Length": "9999", "x-api-key": "k" }, body: "{}" })).text();
    expect(seen.match(/^host:/gim)).toHaveLength(1);
    expect(seen).not.toContain("evil.example");
    expect(seen.match(/^content-length:/gim)).toEqual(["content-length:"]);
    expect(seen).toContain("content-length: 2\r\n");
    expect(seen).toContain("x-api-key: k\r\n");
  });

  test("header values with line breaks are refused before anything is sent", async () => {
    const srv = rawServer(() => {});
    servers.push(srv.server);
    expect(() => post(srv.url, { headers: { "x-a": "1\r\nx-injected: 2" }, body: "{}" })).toThrow("invalid value");
  });

  test("a 4 MiB request body goes out whole; concurrent posts use their own connections", async () => {
    const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: async (req) => new Response(String((await req.text()).length)) });
    servers.push(server);
    const url = `http://127.0.0.1:${server.port}/mcp`;
    const big = "x".repeat(4 * 1024 * 1024);
    const answers = await Promise.all([post(url, init(big)), post(url, init("ab")), post(url, init("abc"))]);
    expect(await Promise.all(answers.map((a) => a.text()))).toEqual([String(big.length), "2", "3"]);
  });

  test("https URLs go through fetch", async () => {
    // Nothing listens on this port: fetch's own error, from its TLS/connect path.
    expect(post("https://127.0.0.1:1/mcp", init())).rejects.toThrow();
  });
});
