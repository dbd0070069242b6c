// Finished spans out over OTLP/HTTP with the JSON encoding
// (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding): an
// ExportTraceServiceRequest POSTed as application/json, ids in hex, times as
// decimal strings of nanoseconds. Batched (a full batch or a second, whichever
// comes first) from a bounded queue: when the collector is slow or away, spans
// are dropped and counted, never held against a call, and failures are logged
// once a minute at most.

import { logger } from "../log.ts";
import { VERSION } from "../version.ts";

export type AttributeValue = string | number | boolean;

/** A span as the tracer hands it over: finished, times already in nanoseconds. */
export type SpanRecord = {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  traceState?: string;
  name: string;
  /** OTLP SpanKind: 2 SERVER, 3 CLIENT. */
  kind: 2 | 3;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: Record<string, AttributeValue | undefined>;
  /** OTLP StatusCode: 0 UNSET, 2 ERROR (Sentinel never claims OK). */
  status: { code: 0 | 2; message?: string };
  /** OTLP SpanFlags: the W3C trace flags, and whether the parent is known to be remote (and is). */
  flags: number;
};

export type ExporterConfig = { endpoint: string; headers: Record<string, string>; serviceName: string };

export type ExporterOptions = {
  maxQueue?: number;
  maxBatch?: number;
  intervalMs?: number;
  /** How long one export may take before it counts as failed. */
  timeoutMs?: number;
};

const log = logger("tracing");
const FAILURE_LOG_MS = 60_000;
const SCOPE = { name: "sentinel", version: VERSION };

/** SpanFlags bits (trace.proto): the parent's remoteness is known, and it is remote. */
export const HAS_IS_REMOTE = 0x100;
export const IS_REMOTE = 0x200;

/** Wall-clock time now in nanoseconds since the epoch, as OTLP JSON writes it. */
export function nowUnixNano(): string {
  const ms = performance.timeOrigin + performance.now();
  const whole = Math.floor(ms);
  // ms * 1e6 exceeds 2^53: the sub-millisecond part is written on its own.
  const frac = Math.min(999_999, Math.round((ms - whole) * 1e6));
  return `${whole}${String(frac).padStart(6, "0")}`;
}

function anyValue(v: AttributeValue): Record<string, AttributeValue> {
  if (typeof v === "string") return { stringValue: v };
  if (typeof v === "boolean") return { boolValue: v };
  return Number.isInteger(v) ? { intValue: v } : { doubleValue: v };
}

function keyValues(attributes: Record<string, AttributeValue | undefined>): { key: string; value: Record<string, AttributeValue> }[] {
  const out = [];
  for (const key in attributes) {
    const v = attributes[key];
    if (v !== undefined) out.push({ key, value: anyValue(v) });
  }
  return out;
}

/** The ExportTraceServiceRequest for `spans`, as a plain object (JSON.stringify it). */
export function exportRequest(serviceName: string, spans: SpanRecord[]): Record<string, unknown> {
  return {
    resourceSpans: [
      {
        resource: { attributes: keyValues({ "service.name": serviceName, "service.version": VERSION }) },
        scopeSpans: [
          {
            scope: SCOPE,
            spans: spans.map((s) => ({
              traceId: s.traceId,
              spanId: s.spanId,
              ...(s.parentSpanId && { parentSpanId: s.parentSpanId }),
              ...(s.traceState && { traceState: s.traceState }),
              name: s.name,
              kind: s.kind,
              startTimeUnixNano: s.startTimeUnixNano,
              endTimeUnixNano: s.endTimeUnixNano,
              attributes: keyValues(s.attributes),
              status: s.status.message ? s.status : { code: s.status.code },
              flags: s.flags,
            })),
          },
        ],
      },
    ],
  };
}

export class OtlpExporter {
  /** Spans dropped because the queue was full, since the last report of it. */
  dropped = 0;
  private queue: SpanRecord[] = [];
  private timer: ReturnType<typeof setInterval> | null = null;
  private sending: Promise<void> | null = null;
  private failures = 0;
  private lastFailureLog = 0;
  private readonly maxQueue: number;
  private readonly maxBatch: number;
  private readonly intervalMs: number;
  private readonly timeoutMs: number;
  private readonly headers: Record<string, string>;
  /** The endpoint as logged: without credentials or query, which may hold a key. */
  private readonly shown: string;

  constructor(
    private readonly cfg: ExporterConfig,
    opts: ExporterOptions = {},
  ) {
    this.maxQueue = opts.maxQueue ?? 2048;
    this.maxBatch = opts.maxBatch ?? 512;
    this.intervalMs = opts.intervalMs ?? 1000;
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.headers = { ...cfg.headers, "content-type": "application/json" };
    const u = new URL(cfg.endpoint);
    this.shown = `${u.origin}${u.pathname}`;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.flush(), this.intervalMs);
    // Spans waiting for export never keep the process alive.
    this.timer.unref();
  }

  add(span: SpanRecord): void {
    if (this.queue.length >= this.maxQueue) {
      this.dropped++;
      return;
    }
    this.queue.push(span);
    if (this.queue.length >= this.maxBatch && !this.sending) void this.flush();
  }

  /** Sends what is queued, a batch at a time; one export in flight at most. */
  flush(): Promise<void> {
    if (this.sending) return this.sending;
    if (this.queue.length === 0) return Promise.resolve();
    this.sending = (async () => {
      try {
        while (this.queue.length > 0) {
          const batch = this.queue.splice(0, this.maxBatch);
          if (!(await this.send(batch))) break;
        }
      } finally {
        this.sending = null;
      }
    })();
    return this.sending;
  }

  /** Stops the timer and sends what is left, within `ms`. */
  async stop(ms = 2000): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await Promise.race([this.flush().then(() => this.flush()), Bun.sleep(ms)]);
  }

  private async send(batch: SpanRecord[]): Promise<boolean> {
    try {
      const res = await fetch(this.cfg.endpoint, {
        method: "POST",
        headers: this.headers,
        body: JSON.stringify(exportRequest(this.cfg.serviceName, batch)),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      // The body may carry a partial success; what it says is not acted on, but the connection is freed.
      await res.arrayBuffer().catch(() => {});
      if (res.ok) {
        this.report();
        return true;
      }
      this.failed(batch.length, `HTTP ${res.status}`);
    } catch (err) {
      this.failed(batch.length, (err as Error).message);
    }
    return false;
  }

  private failed(spans: number, why: string): void {
    this.failures++;
    this.dropped += spans;
    this.report(why);
  }

  /** Failures and drops, in one line a minute at most (the endpoint, never its headers: they may hold a key). */
  private report(why?: string): void {
    if (this.failures === 0 && this.dropped === 0) return;
    const now = Date.now();
    if (now - this.lastFailureLog < FAILURE_LOG_MS) return;
    this.lastFailureLog = now;
    const last = why ? `; last: ${why}` : "";
    log.warn(`trace export to ${this.shown}: ${this.failures} failed export(s), ${this.dropped} span(s) dropped${last}`);
    this.failures = 0;
    this.dropped = 0;
  }
}
