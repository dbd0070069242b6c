// What /readyz answers and `sentinel status` prints: whether the gateway is
// ready (every backend not marked `optional` is), and each backend's state.
// Nothing secret leaves here: a backend is known by its configured name, and
// its last error passes forClient (no URL, path, stack or secret).

import type { Backend } from "../backends/backend.ts";
import type { CircuitState } from "../backends/breaker.ts";
import { forClient } from "../internal-values.ts";

export type BackendStatus = {
  name: string;
  state: string;
  era: string | null;
  transport: string;
  optional: boolean;
  lastError: string | null;
  restarts: number;
  inFlight: number;
  circuit: { state: CircuitState; retryAfterMs?: number };
};

export type Readiness = { ready: boolean; backends: BackendStatus[] };

export function backendStatus(b: Backend): BackendStatus {
  const circuit = b.breaker.state;
  const retryAfterMs = b.breaker.retryAfterMs;
  return {
    name: b.name,
    state: b.state,
    era: b.era,
    transport: b.config.transport,
    optional: b.config.optional,
    lastError: b.lastError === undefined ? null : forClient(b.lastError),
    restarts: b.restarts,
    inFlight: b.inFlight,
    circuit: circuit === "open" ? { state: circuit, retryAfterMs: Math.ceil(retryAfterMs) } : { state: circuit },
  };
}

/** Ready when every required backend is: degraded, open-circuit, starting and down are not. */
export function readiness(backends: readonly Backend[]): Readiness {
  const list = backends.map(backendStatus);
  return { ready: list.every((b) => b.optional || b.state === "ready"), backends: list };
}

/**
 * GET /readyz: 200 when ready, else 503. `gateway` is the HTTP front's; its
 * backends are read where it has them (the front's gateway type names only
 * what the MCP routes need).
 */
export function readyRoute(gateway: object) {
  const backends = "backends" in gateway ? (gateway.backends as readonly Backend[]) : [];
  return function readyz(): Response {
    const report = readiness(backends);
    return Response.json(report, { status: report.ready ? 200 : 503, headers: { "cache-control": "no-store" } });
  };
}

/** The report as a table, for a person. */
export function statusTable(report: Readiness): string {
  const head = ["BACKEND", "STATE", "ERA", "TRANSPORT", "IN FLIGHT", "RESTARTS", "CIRCUIT", "LAST ERROR"];
  const rows = report.backends.map((b) => [
    b.optional ? `${b.name} (optional)` : b.name,
    b.state,
    b.era ?? "-",
    b.transport,
    String(b.inFlight),
    String(b.restarts),
    b.circuit.retryAfterMs !== undefined ? `${b.circuit.state} (${Math.ceil(b.circuit.retryAfterMs / 1000)}s)` : b.circuit.state,
    b.lastError ?? "",
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("  ").trimEnd();
  return [`sentinel is ${report.ready ? "ready" : "not ready"}`, line(head), ...rows.map(line)].join("\n") + "\n";
}
