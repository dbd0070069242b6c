// DNS-rebinding protection: a browser page from another origin must not reach
// a gateway bound to loopback. Loopback origins pass; others only if configured.

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]", "::1"]);

export function checkOrigin(origin: string, allowed: string[]): boolean {
  if (allowed.includes("*") || allowed.includes(origin)) return true;
  try {
    return LOOPBACK.has(new URL(origin).hostname);
  } catch {
    return false;
  }
}
