/**
 * A tiny Prometheus registry: counters, gauges and histograms with labels, rendered in the text exposition format
 * 0.0.4. Both services need only these three kinds, so a dependency would buy nothing but weight.
 */

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export type Labels = Readonly<Record<string, string>>;

interface Metric {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge' | 'histogram';
  render(): string[];
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function labelText(labels: Labels): string {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return pairs.length === 0 ? '' : `{${pairs.join(',')}}`;
}

function numberText(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Number.POSITIVE_INFINITY) return '+Inf';
  if (n === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(n);
}

/**
 * The key of a label set. It is built for every event counted (each accepted frame, each applied state), so the
 * usual cases, no label or one, skip the entries-sort-JSON route, which profiling showed on the gateway's hot path.
 * The three forms cannot collide: '' (no label), `<length of name>:name=value` (one label; the length prefix keeps
 * it unambiguous whatever the value holds), and JSON starting with `[` (several, sorted by name).
 */
function seriesKey(labels: Labels): string {
  const names = Object.keys(labels);
  if (names.length === 0) return '';
  const [only] = names;
  if (names.length === 1 && only !== undefined) return `${only.length}:${only}=${labels[only]}`;
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** Values keyed by their label set; label names are sorted into the key so `{a,b}` and `{b,a}` are one series. */
class Series<T> {
  private readonly entries = new Map<string, { labels: Labels; value: T }>();

  constructor(private readonly fresh: () => T) {}

  get(labels: Labels): { labels: Labels; value: T } {
    const key = seriesKey(labels);
    let entry = this.entries.get(key);
    if (!entry) {
      entry = { labels, value: this.fresh() };
      this.entries.set(key, entry);
    }
    return entry;
  }

  all(): IterableIterator<{ labels: Labels; value: T }> {
    return this.entries.values();
  }
}

/** Totals kept elsewhere (a map of counts, a field) are read at scrape time rather than mirrored. */
export type Collect = () => Iterable<readonly [Labels, number]>;

/** A metric of one number per label set, either kept as things happen or read from `collect` at scrape time. */
abstract class SingleValueMetric implements Metric {
  abstract readonly type: 'counter' | 'gauge';
  protected readonly series = new Series(() => ({ n: 0 }));

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly collect?: Collect,
  ) {}

  render(): string[] {
    if (this.collect) for (const [labels, value] of this.collect()) this.series.get(labels).value.n = value;
    return [...this.series.all()].map(({ labels, value }) => `${this.name}${labelText(labels)} ${numberText(value.n)}`);
  }
}

/** A counter is either increased as things happen, or read from `collect` at scrape time. */
export class Counter extends SingleValueMetric {
  readonly type = 'counter';

  inc(labels: Labels = {}, by = 1): void {
    if (!(by >= 0)) throw new RangeError(`counter ${this.name} can only increase`);
    this.series.get(labels).value.n += by;
  }

  /** Declares a series at zero, so a rate() over it works before the first event. */
  touch(labels: Labels = {}): void {
    this.series.get(labels);
  }

  value(labels: Labels = {}): number {
    return this.series.get(labels).value.n;
  }
}

/** A gauge is either set as things happen, or read from `collect` at scrape time (for values that live elsewhere). */
export class Gauge extends SingleValueMetric {
  readonly type = 'gauge';

  set(labels: Labels, value: number): void {
    this.series.get(labels).value.n = value;
  }
}

export class Histogram implements Metric {
  readonly type = 'histogram';
  readonly buckets: readonly number[];
  private readonly series: Series<{ counts: number[]; sum: number; count: number }>;

  constructor(
    readonly name: string,
    readonly help: string,
    buckets: readonly number[],
  ) {
    this.buckets = [...buckets].sort((a, b) => a - b);
    this.series = new Series(() => ({ counts: this.buckets.map(() => 0), sum: 0, count: 0 }));
  }

  observe(value: number, labels: Labels = {}): void {
    if (!Number.isFinite(value)) return;
    const entry = this.series.get(labels).value;
    // Per-bucket counts; they are made cumulative when rendered.
    const index = this.buckets.findIndex((le) => value <= le);
    if (index >= 0) entry.counts[index] = (entry.counts[index] ?? 0) + 1;
    entry.sum += value;
    entry.count++;
  }

  render(): string[] {
    const lines: string[] = [];
    for (const { labels, value } of this.series.all()) {
      let cumulative = 0;
      this.buckets.forEach((le, i) => {
        cumulative += value.counts[i] ?? 0;
        lines.push(`${this.name}_bucket${labelText({ ...labels, le: numberText(le) })} ${cumulative}`);
      });
      lines.push(`${this.name}_bucket${labelText({ ...labels, le: '+Inf' })} ${value.count}`);
      lines.push(`${this.name}_sum${labelText(labels)} ${numberText(value.sum)}`);
      lines.push(`${this.name}_count${labelText(labels)} ${value.count}`);
    }
    return lines;
  }
}

export class Registry {
  private readonly metrics: Metric[] = [];

  constructor(private readonly prefix = 'gravity_led_') {}

  counter(name: string, help: string, collect?: Collect): Counter {
    return this.add(new Counter(this.prefix + name, help, collect));
  }

  gauge(name: string, help: string, collect?: Collect): Gauge {
    return this.add(new Gauge(this.prefix + name, help, collect));
  }

  histogram(name: string, help: string, buckets: readonly number[]): Histogram {
    return this.add(new Histogram(this.prefix + name, help, buckets));
  }

  private add<M extends Metric>(metric: M): M {
    if (this.metrics.some((m) => m.name === metric.name)) throw new Error(`metric ${metric.name} registered twice`);
    this.metrics.push(metric);
    return metric;
  }

  /** The whole exposition, one HELP and TYPE line per metric, ending with a newline as the format requires. */
  render(): string {
    const lines: string[] = [];
    for (const metric of this.metrics) {
      lines.push(`# HELP ${metric.name} ${metric.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`);
      lines.push(`# TYPE ${metric.name} ${metric.type}`);
      lines.push(...metric.render());
    }
    return `${lines.join('\n')}\n`;
  }
}
