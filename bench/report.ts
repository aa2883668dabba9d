/** The benchmark's results: the goals with pass/miss, a table for the terminal, a Markdown table for docs/performance.md. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { RateResult } from './closed-loop.js';
import type { StartupTimes } from './production-system.js';
import type { ThroughputResult } from './throughput.js';

export interface Machine {
  readonly nproc: number;
  readonly cpu: string;
  readonly node: string;
  readonly date: string;
  /** 1-minute load average when the run started: a busy machine makes every number worse. */
  readonly loadAverage: number;
}

export interface Memory {
  readonly broker: number;
  readonly gateway: number;
  readonly 'led-driver': number;
  /** Sum of RSS: counts the node binary's shared code once per process. */
  readonly total: number;
  /** Sum of PSS: what the three use together, shared pages counted once. */
  readonly pss: number;
}

export interface Results {
  readonly machine: Machine;
  readonly options: unknown;
  readonly startup: StartupTimes;
  /** CPU ms each service used until ready. */
  readonly startupCpu?: Readonly<Record<'broker' | 'gateway' | 'led-driver', number>>;
  readonly memory: { readonly idle: Memory; readonly load200: Memory | undefined; readonly directGatewayIdle: number };
  readonly closedLoop: readonly RateResult[];
  readonly throughput: readonly ThroughputResult[];
}

export interface Goal {
  readonly goal: string;
  readonly target: string;
  readonly measured: string;
  readonly pass: boolean | undefined;
}

/** Overload latency counts as bounded when its last third is no worse than twice its first third plus 5 ms. */
export function latencyBounded(t: ThroughputResult): boolean {
  return t.latencyLastThird.p99 <= 2 * t.latencyFirstThird.p99 + 5;
}

/** Gateway memory counts as flat under overload when it grew by at most this much after the first second. */
export const RSS_GROWTH_LIMIT_MB = 10;

export function goals(r: Results): Goal[] {
  const at200 = r.closedLoop.find((c) => c.rate === 200);
  const flood = r.throughput.find((t) => t.maxRate === 1000) ?? r.throughput[0];
  const growth = flood ? flood.gatewayRss.end - flood.gatewayRss.start : Number.NaN;
  const mem = r.memory.load200;
  return [
    {
      goal: 'closed-loop p99 at 200 Hz',
      target: '<= 2 ms',
      measured: at200 ? `${ms(at200.mqtt.p99)} ms` : 'not run',
      pass: at200 ? at200.mqtt.p99 <= 2 : undefined,
    },
    {
      goal: 'frames/s accepted by one gateway, latency and memory bounded',
      target: '>= 20,000/s',
      measured: flood
        ? `${int(flood.acceptedPerSecond)}/s; p99 ${ms(flood.latencyFirstThird.p99)} -> ${ms(flood.latencyLastThird.p99)} ms; RSS +${growth.toFixed(1)} MB`
        : 'not run',
      pass: flood ? flood.acceptedPerSecond >= 20_000 && latencyBounded(flood) && growth <= RSS_GROWTH_LIMIT_MB : undefined,
    },
    {
      goal: 'memory of all three services together under 200 Hz load (sum of PSS)',
      target: '<= 150 MB',
      measured: mem ? `${mem.pss.toFixed(1)} MB (sum of RSS ${mem.total.toFixed(1)} MB)` : 'not run',
      pass: mem ? mem.pss <= 150 : undefined,
    },
    {
      goal: 'start-up to ready, whole system',
      target: '<= 2 s',
      measured: `${int(r.startup.system)} ms`,
      pass: r.startup.system <= 2000,
    },
  ];
}

const ms = (v: number) => (Number.isFinite(v) ? (v < 10 ? v.toFixed(2) : v.toFixed(1)) : '-');
const int = (v: number) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '-');
const us = (v: number | undefined) => (v !== undefined && Number.isFinite(v) ? v.toFixed(0) : '-');
const mb = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : '-');
const verdict = (p: boolean | undefined) => (p === undefined ? '-' : p ? 'pass' : 'MISS');

/** The rows of every table, shared by the terminal and the Markdown output. */
function tables(r: Results): { title: string; header: string[]; rows: string[][] }[] {
  const memRow = (label: string, m: Memory | undefined) =>
    m ? [label, mb(m.broker), mb(m.gateway), mb(m['led-driver']), mb(m.total), mb(m.pss)] : [label, '-', '-', '-', '-', '-'];
  return [
    {
      title: 'Goals',
      header: ['goal', 'target', 'measured', 'result'],
      rows: goals(r).map((g) => [g.goal, g.target, g.measured, verdict(g.pass)]),
    },
    {
      title: 'Closed loop: frame sent -> state with its seq received (ms); direct = the same gateway without MQTT',
      header: ['rate', 'path', 'sent/s', 'p50', 'p99', 'max', 'coalesced', 'mqtt/direct p50', 'mqtt/direct p99'],
      rows: r.closedLoop.flatMap((c) => [
        [
          `${c.rate} Hz`,
          'mqtt',
          int(c.mqtt.sentPerSecond),
          ms(c.mqtt.p50),
          ms(c.mqtt.p99),
          ms(c.mqtt.max),
          int(c.mqtt.coalesced),
          `${c.ratioP50.toFixed(2)}x`,
          `${c.ratioP99.toFixed(2)}x`,
        ],
        ['', 'direct', int(c.direct.sentPerSecond), ms(c.direct.p50), ms(c.direct.p99), ms(c.direct.max), int(c.direct.coalesced), '', ''],
      ]),
    },
    {
      title: 'CPU per frame (µs): each process of the path, over the closed-loop runs',
      header: ['rate', 'broker', 'gateway', 'led-driver', 'mqtt path total', 'direct gateway'],
      rows: r.closedLoop.map((c) => {
        const u = c.mqtt.cpuUsPerFrame;
        const total = (u.broker ?? 0) + (u.gateway ?? 0) + (u['led-driver'] ?? 0);
        return [`${c.rate} Hz`, us(u.broker), us(u.gateway), us(u['led-driver']), us(total), us(c.direct.cpuUsPerFrame['direct-gateway'])];
      }),
    },
    {
      title: 'Throughput: one client sending as fast as it can',
      header: [
        'GATEWAY_MAX_RATE',
        'accepted/s',
        'applied/s',
        'coalesced',
        'state p50',
        'p99',
        'p99 1st/last third',
        'gateway RSS 1s/max/end MB',
        'broker/driver max MB',
      ],
      rows: r.throughput.map((t) => [
        int(t.maxRate),
        int(t.acceptedPerSecond),
        int(t.appliedPerSecond),
        int(t.coalesced),
        ms(t.latency.p50),
        ms(t.latency.p99),
        `${ms(t.latencyFirstThird.p99)} / ${ms(t.latencyLastThird.p99)}`,
        `${mb(t.gatewayRss.start)} / ${mb(t.gatewayRss.max)} / ${mb(t.gatewayRss.end)}`,
        `${mb(t.brokerRssMax)} / ${mb(t.driverRssMax)}`,
      ]),
    },
    {
      title: 'Memory (MB): RSS of each service; together = sum of PSS, the shared node binary counted once',
      header: ['when', 'broker RSS', 'gateway RSS', 'led-driver RSS', 'sum of RSS', 'together (PSS)'],
      rows: [memRow('idle', r.memory.idle), memRow('200 Hz load (max)', r.memory.load200)],
    },
    {
      title: 'Start-up: spawn to ready, and the CPU time it took (ms)',
      header: ['', 'broker', 'gateway', 'led-driver', 'system'],
      rows: [
        ['wall clock', int(r.startup.broker), int(r.startup.gateway), int(r.startup['led-driver']), int(r.startup.system)],
        ...(r.startupCpu ? [['CPU time', int(r.startupCpu.broker), int(r.startupCpu.gateway), int(r.startupCpu['led-driver']), '']] : []),
      ],
    },
  ];
}

export function machineLine(m: Machine): string {
  return `${m.date}, ${m.nproc} cores (${m.cpu}), Node ${m.node}, load average ${m.loadAverage.toFixed(2)} at start`;
}

export function textReport(r: Results): string {
  const out: string[] = [`gravity-led benchmark: ${machineLine(r.machine)}`];
  for (const t of tables(r)) {
    const widths = t.header.map((h, i) => Math.max(h.length, ...t.rows.map((row) => (row[i] ?? '').length)));
    const line = (cells: string[]) =>
      cells
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd();
    out.push('', t.title, line(t.header), widths.map((w) => '-'.repeat(w)).join('  '));
    for (const row of t.rows) out.push(line(row));
  }
  return `${out.join('\n')}\n`;
}

export function markdownReport(r: Results): string {
  const out: string[] = [`Measured ${machineLine(r.machine)}.`];
  for (const t of tables(r)) {
    out.push('', `**${t.title}**`, '', `| ${t.header.join(' | ')} |`, `| ${t.header.map(() => '---').join(' | ')} |`);
    for (const row of t.rows) out.push(`| ${row.join(' | ')} |`);
  }
  return `${out.join('\n')}\n`;
}

// `node bench/dist/report.js FILE.json`: the tables of an earlier run again.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: node bench/dist/report.js bench/results/bench-....json\n');
    process.exit(2);
  }
  const results = JSON.parse(readFileSync(file, 'utf8')) as Results;
  process.stdout.write(`${textReport(results)}\n${markdownReport(results)}`);
}
