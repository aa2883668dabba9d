/** Scrapes a Prometheus endpoint over HTTP and parses the text exposition format, strictly enough to catch mistakes. */
import assert from 'node:assert/strict';

export interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

export interface Scrape {
  readonly samples: Sample[];
  readonly types: Map<string, string>;
  readonly contentType: string;
  /** The value of the one sample of `name` whose labels include `labels`; undefined if there is none. */
  value(name: string, labels?: Record<string, string>): number | undefined;
  /** Like value(), but 0 for a series that does not exist yet. */
  count(name: string, labels?: Record<string, string>): number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/y;

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  LABEL.lastIndex = 0;
  while (LABEL.lastIndex < text.length) {
    const match = LABEL.exec(text);
    assert.ok(match, `bad label set {${text}}`);
    labels[match[1] as string] = (match[2] as string).replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
  }
  return labels;
}

export function parseExposition(body: string, contentType = ''): Scrape {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  assert.ok(body.endsWith('\n'), 'the exposition ends with a newline');
  for (const line of body.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('# TYPE ')) {
      const [name, type] = line.slice(7).split(' ');
      assert.ok(name && type && ['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(type), line);
      assert.ok(!types.has(name), `TYPE of ${name} given twice`);
      types.set(name, type);
      continue;
    }
    if (line.startsWith('#')) continue;
    const match = SAMPLE.exec(line);
    assert.ok(match, `not a sample line: ${line}`);
    const name = match[1] as string;
    const value = match[4] === '+Inf' ? Number.POSITIVE_INFINITY : Number(match[4]);
    assert.ok(!Number.isNaN(value), `bad value in ${line}`);
    const family = types.has(name) ? name : name.replace(/_(bucket|sum|count)$/, '');
    assert.ok(types.has(family), `sample ${name} has no TYPE line before it`);
    samples.push({ name, labels: match[3] ? parseLabels(match[3]) : {}, value });
  }
  const find = (name: string, labels: Record<string, string> = {}) =>
    samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  return {
    samples,
    types,
    contentType,
    value(name, labels) {
      const found = find(name, labels);
      assert.ok(found.length <= 1, `${name} ${JSON.stringify(labels)} matches ${found.length} series`);
      return found[0]?.value;
    },
    count(name, labels) {
      return this.value(name, labels) ?? 0;
    },
  };
}

export async function scrape(url: string): Promise<Scrape> {
  const response = await fetch(url);
  assert.equal(response.status, 200, `${url} answered ${response.status}`);
  return parseExposition(await response.text(), response.headers.get('content-type') ?? '');
}

/** Checks a histogram's shape: buckets ascending in `le`, counts never decreasing, +Inf equal to _count. */
export function checkHistogram(s: Scrape, name: string): { count: number; sum: number; buckets: [number, number][] } {
  assert.equal(s.types.get(name), 'histogram');
  const buckets = s.samples
    .filter((x) => x.name === `${name}_bucket`)
    .map((x): [number, number] => [x.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(x.labels.le), x.value]);
  assert.ok(buckets.length >= 2, `${name} has buckets`);
  for (let i = 1; i < buckets.length; i++) {
    const [le, n] = buckets[i] as [number, number];
    const [prevLe, prevN] = buckets[i - 1] as [number, number];
    assert.ok(le > prevLe, `${name} buckets ascend in le`);
    assert.ok(n >= prevN, `${name} bucket le=${le} (${n}) is below le=${prevLe} (${prevN})`);
  }
  const count = s.value(`${name}_count`) ?? Number.NaN;
  const sum = s.value(`${name}_sum`) ?? Number.NaN;
  assert.equal(buckets.at(-1)?.[0], Number.POSITIVE_INFINITY, 'the last bucket is +Inf');
  assert.equal(buckets.at(-1)?.[1], count, '+Inf bucket equals _count');
  assert.ok(sum >= 0);
  return { count, sum, buckets };
}
