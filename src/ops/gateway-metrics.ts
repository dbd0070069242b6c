// What GET /metrics shows: the call counts (call-metrics.ts), the gateway's
// state read at each scrape (backends, sessions, listens, calls in flight,
// the audit queue) and the process_* metrics. Built by the gateway when
// metrics are enabled; reads only the shapes below, not the Gateway class.

import type { Era } from "../backends/era-probe.ts";
import type { BackendState } from "../backends/backend.ts";
import type { CircuitState } from "../backends/breaker.ts";
import type { Front } from "../session/session.ts";
import { CallMetrics, type Names } from "./call-metrics.ts";
import { num, Registry } from "./metrics.ts";
import { processMetrics } from "./process-metrics.ts";

const STATES = ["starting", "ready", "degraded", "open-circuit", "down", "stopped"] as const satisfies readonly BackendState[];
// Fails to compile when a state is added to BackendState but not here.
const everyState: [Exclude<BackendState, (typeof STATES)[number]>] extends [never] ? true : never = true;
void everyState;
const CIRCUITS = ["closed", "open", "half-open"] as const satisfies readonly CircuitState[];
const ERAS = ["legacy", "modern", "unknown"] as const satisfies readonly (Era | "unknown")[];
const FRONTS = ["stdio", "http"] as const satisfies readonly Front[];

export type WatchedBackend = { readonly name: string; readonly state: BackendState; readonly era: Era | null; readonly restarts: number; readonly inFlight: number;
  readonly breaker: { readonly state: CircuitState };
};
type WatchedSession = { readonly front: Front; readonly protocolVersion: string | null; readonly closed: boolean };

/** The audit store's figures (audit/store.ts). */
export type WatchedAudit = { readonly queued: number; readonly written: number; readonly batches: number; readonly batchSeconds: number };

/** What a scrape reads of a started gateway. */
export type LiveGateway = {
  readonly inflight: number;
  readonly listens: Iterable<{ readonly session: { readonly front: Front } }>;
  /** Where principals' 2026-07-28 calls over HTTP run. */
  readonly principalSessions: Iterable<WatchedSession>;
  readonly audit: WatchedAudit | null;
};

export type MetricsSource = {
  readonly backends: readonly WatchedBackend[];
  readonly catalog: Names;
  /** Sessions opened by a front: 2025 sessions, and the stdio front's one (modern until a 2025 initialize). */
  readonly sessions: Iterable<WatchedSession>;
  /** null before start(). */
  readonly live: LiveGateway | null;
};

export class Metrics {
  private readonly registry = new Registry();
  readonly calls: CallMetrics;

  constructor(private readonly source: MetricsSource) {
    const r = this.registry;
    this.calls = new CallMetrics(r, source.catalog);
    r.collect("sentinel_calls_in_flight", "Client requests being handled now.", "gauge", [], (emit) => {
      if (source.live) emit(source.live.inflight);
    });
    r.collect("sentinel_backend_state", "Each backend's state: 1 for the one it is in.", "gauge", ["backend", "state"], (emit) => {
      for (const b of source.backends) for (const s of STATES) emit(b.state === s ? 1 : 0, b.name, s);
    });
    r.collect("sentinel_backend_circuit_state", "Each backend's circuit breaker: 1 for the state it is in.", "gauge", ["backend", "state"], (emit) => {
      for (const b of source.backends) for (const s of CIRCUITS) emit(b.breaker.state === s ? 1 : 0, b.name, s);
    });
    r.collect("sentinel_backend_era", "The MCP revision each backend speaks (legacy: 2025-11-25, modern: 2026-07-28): 1 for its own.", "gauge", ["backend", "era"], (emit) => {
      for (const b of source.backends) for (const e of ERAS) emit((b.era ?? "unknown") === e ? 1 : 0, b.name, e);
    });
    r.collect("sentinel_backend_restarts_total", "Times a backend's lost connection was retried.", "counter", ["backend"], (emit) => {
      for (const b of source.backends) emit(b.restarts, b.name);
    });
    r.collect("sentinel_backend_calls_in_flight", "Requests waiting for each backend's answer.", "gauge", ["backend"], (emit) => {
      for (const b of source.backends) emit(b.inFlight, b.name);
    });
    r.collect("sentinel_sessions", "Open client sessions by front and era (legacy: 2025-11-25 sessions, modern: 2026-07-28 callers).", "gauge", ["front", "era"], (emit) => {
      const counts = { stdio: [0, 0], http: [0, 0] };
      const add = (s: WatchedSession) => {
        if (!s.closed) counts[s.front][s.protocolVersion === null ? 1 : 0]!++;
      };
      for (const s of source.sessions) add(s);
      for (const s of source.live?.principalSessions ?? []) add(s);
      for (const f of FRONTS) emit(counts[f][0]!, f, "legacy"), emit(counts[f][1]!, f, "modern");
    });
    r.collect("sentinel_listens", "Open 2026-07-28 subscriptions/listen streams by front.", "gauge", ["front"], (emit) => {
      const counts = { stdio: 0, http: 0 };
      for (const l of source.live?.listens ?? []) counts[l.session.front]++;
      for (const f of FRONTS) emit(counts[f], f);
    });
    r.collect("sentinel_audit_queue_rows", "Audit rows journaled but not yet written to the database.", "gauge", [], (emit) => {
      const a = source.live?.audit;
      if (a) emit(a.queued);
    });
    r.collect("sentinel_audit_rows_written_total", "Audit rows written to the database.", "counter", [], (emit) => {
      const a = source.live?.audit;
      if (a) emit(a.written);
    });
    r.custom("sentinel_audit_write_seconds", "Time each batch of audit rows took to write (one transaction).", "summary", (out) => {
      const a = source.live?.audit;
      if (a) out.push(`sentinel_audit_write_seconds_sum ${num(a.batchSeconds)}`, `sentinel_audit_write_seconds_count ${num(a.batches)}`);
    });
    processMetrics(r);
  }

  /** The text a scrape gets. */
  render(): string {
    return this.registry.render();
  }
}
