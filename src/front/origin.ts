// DNS-rebinding protection: a browser page from another origin must not reach
// a gateway bound to loopback. Loopback origins pass; others only if configured.
// On a loopback bind the Host header must name loopback too: a rebound name
// (evil.example -> 127.0.0.1) arrives with its own Host, even on same-origin GETs.

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]", "::1"]);

export function checkOrigin(origin: string, allowed: string[]): boolean {
  if (allowed.includes("*") || allowed.includes(origin)) return true;
  try {
    return LOOPBACK.has(new URL(origin).hostname);
  } catch {
    return false;
  }
}

export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host) || host.startsWith("127.");
}

/** Whether a Host header is acceptable for a gateway bound to loopback. */
export function checkHost(host: string | null, allowedOrigins: string[]): boolean {
  if (host === null) return true; // HTTP/1.0 clients; Origin still applies
  const name = host.startsWith("[") ? host.slice(0, host.indexOf("]") + 1) : host.split(":")[0]!;
  if (isLoopback(name)) return true;
  return allowedOrigins.some((o) => {
    try {
      return o === "*" || new URL(o).hostname === name;
    } catch {
      return false;
    }
  });
}
