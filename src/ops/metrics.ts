// A small metrics registry in the Prometheus text format (0.0.4): counters,
// gauges, histograms with fixed buckets, and families read only at a scrape.
// prom-client is not used: it pulls in Node modules that cost megabytes of
// idle memory, and its label lookup per observation is slower than the hot
// path here, which keeps each series' child and bumps a number.

export type MetricType = "counter" | "gauge" | "histogram" | "summary";

export const TEXT_FORMAT = "text/plain; version=0.0.4; charset=utf-8";

/** A series of a counter or gauge: its value is bumped in place. */
export class Sample {
  value = 0;
  constructor(readonly labels: string) {}
}

/** A series of a histogram; counts are per bucket (not cumulative) until rendered. */
export class HistogramSample {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(
    readonly labels: string,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(v: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && v > b[i]!) i++;
    this.counts[i]!++;
    this.sum += v;
    this.count++;
  }
}

type Family = { name: string; help: string; type: MetricType; render(out: string[]): void };

abstract class Labeled<T> implements Family {
  private readonly series = new Map<string, T>();
  abstract readonly type: MetricType;

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly string[],
  ) {
    if (!NAME.test(name)) throw new TypeError(`bad metric name ${name}`);
    for (const l of labelNames) if (!LABEL.test(l) || l.startsWith("__")) throw new TypeError(`bad label name ${l}`);
  }

  /**
   * The series for these label values, made once: hot paths keep what this
   * returns rather than ask again (this joins and looks up a key).
   */
  child(...values: string[]): T {
    if (values.length !== this.labelNames.length) throw new TypeError(`${this.name} takes ${this.labelNames.length} labels`);
    const key = values.join("\u0000");
    let s = this.series.get(key);
    if (!s) {
      s = this.make(labelText(this.labelNames, values));
      this.series.set(key, s);
    }
    return s;
  }

  protected abstract make(labels: string): T;
  protected abstract lines(s: T, out: string[]): void;

  render(out: string[]): void {
    for (const s of this.series.values()) this.lines(s, out);
  }
}

export class Counter extends Labeled<Sample> {
  readonly type = "counter";
  protected make(labels: string): Sample {
    return new Sample(labels);
  }
  protected lines(s: Sample, out: string[]): void {
    out.push(`${this.name}${s.labels} ${num(s.value)}`);
  }
}

export class Histogram extends Labeled<HistogramSample> {
  readonly type = "histogram";
  private readonly les: string[];

  constructor(name: string, help: string, labelNames: readonly string[], private readonly bounds: readonly number[]) {
    super(name, help, labelNames);
    if (labelNames.includes("le")) throw new TypeError("a histogram may not have an le label");
    for (let i = 1; i < bounds.length; i++) if (!(bounds[i]! > bounds[i - 1]!)) throw new TypeError(`${name}: buckets must increase`);
    this.les = [...bounds.map(num), "+Inf"];
  }

  protected make(labels: string): HistogramSample {
    return new HistogramSample(labels, this.bounds);
  }

  protected lines(s: HistogramSample, out: string[]): void {
    const open = s.labels ? `${s.labels.slice(0, -1)},le="` : `{le="`;
    let cumulative = 0;
    for (let i = 0; i < this.les.length; i++) {
      cumulative += s.counts[i]!;
      out.push(`${this.name}_bucket${open}${this.les[i]}"} ${num(cumulative)}`);
    }
    out.push(`${this.name}_sum${s.labels} ${num(s.sum)}`, `${this.name}_count${s.labels} ${num(s.count)}`);
  }
}

/** Emits one sample of a family read at a scrape: value and label values, in the family's label order. */
export type Emit = (value: number, ...labelValues: string[]) => void;

/** A family whose samples are read when scraped (gauges of current state, counters kept elsewhere). */
class Collected implements Family {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: "counter" | "gauge",
    private readonly labelNames: readonly string[],
    private readonly read: (emit: Emit) => void,
  ) {
    if (!NAME.test(name)) throw new TypeError(`bad metric name ${name}`);
  }

  render(out: string[]): void {
    this.read((value, ...values) => out.push(`${this.name}${labelText(this.labelNames, values)} ${num(value)}`));
  }
}

export class Registry {
  private readonly families: Family[] = [];

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.add(new Counter(name, help, labelNames));
  }

  histogram(name: string, help: string, labelNames: readonly string[], buckets: readonly number[]): Histogram {
    return this.add(new Histogram(name, help, labelNames, buckets));
  }

  /** A gauge (or a counter kept elsewhere) read at each scrape. */
  collect(name: string, help: string, type: "counter" | "gauge", labelNames: readonly string[], read: (emit: Emit) => void): void {
    this.add(new Collected(name, help, type, labelNames, read));
  }

  /** Any other family (a summary), rendered by `lines` after its HELP and TYPE. */
  custom(name: string, help: string, type: MetricType, lines: (out: string[]) => void): void {
    this.add({ name, help, type, render: lines });
  }

  /** The text exposition format, one family after another. */
  render(): string {
    const out: string[] = [];
    for (const f of this.families) {
      out.push(`# HELP ${f.name} ${f.help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`, `# TYPE ${f.name} ${f.type}`);
      f.render(out);
    }
    out.push("");
    return out.join("\n");
  }

  private add<F extends Family>(f: F): F {
    if (this.families.some((o) => o.name === f.name)) throw new TypeError(`metric ${f.name} registered twice`);
    this.families.push(f);
    return f;
  }
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function labelText(names: readonly string[], values: readonly string[]): string {
  if (names.length === 0) return "";
  return `{${names.map((n, i) => `${n}="${escapeLabel(values[i] ?? "")}"`).join(",")}}`;
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

/** A sample value as the format spells it. */
export function num(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}
