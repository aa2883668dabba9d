/** The benchmark's results: the goals with pass/miss, a table for the terminal, a Markdown table for docs/performance.md. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { PathResult, RateResult } from './closed-loop.js';
import type { LatencySummary } from './stats.js';
import type { ThroughputResult } from './throughput.js';

export interface Machine {
  readonly nproc: number;
  readonly cpu: string;
  readonly node: string;
  readonly date: string;
  /** 1-minute load average when the run started: a busy machine makes every number worse. */
  readonly loadAverage: number;
}

/** One system measured: `this` (this checkout's npm start), `baseline` (an earlier commit's), `direct`. */
export interface SystemInfo {
  readonly name: string;
  readonly root: string;
  readonly commit: string;
  readonly node: string;
  readonly nodeOptions: string;
  /** `npm-start`, `services` (three processes, as docker-compose.yml), `direct`. */
  readonly layout?: string;
  /** The node flags of the npm start script. */
  readonly flags?: string;
}

export interface MemorySample {
  /** Sum of RSS of every process of the system, the launcher included (MB). */
  readonly rss: number;
  /** Sum of PSS: shared pages (the node binary's code) counted once (MB). */
  readonly pss: number;
  /** RSS by process role (MB). */
  readonly byRole: Readonly<Record<string, number>>;
  /** CPU ms by role used until this sample (for a sample taken just after start: the start-up's cost). */
  readonly startupCpu: Readonly<Record<string, number>>;
}

export interface ColdResult {
  readonly rate: number;
  /** Fresh sessions pooled per path. */
  readonly runs: number;
  readonly paths: Readonly<Record<string, LatencySummary & { sent: number; coalesced: number }>>;
}

export interface Results {
  readonly machine: Machine;
  readonly options: unknown;
  readonly systems: readonly SystemInfo[];
  readonly cold: readonly ColdResult[];
  readonly steady: readonly RateResult[];
  /** Every fresh start of the cold runs: ms to ready, and memory and CPU a second later. */
  readonly startup: Readonly<Record<string, readonly { readyAfterMs: number; memory: MemorySample }[]>>;
  readonly memory: { readonly idle: Readonly<Record<string, MemorySample>>; readonly load200: Readonly<Record<string, MemorySample>> };
  readonly throughput: Readonly<Record<string, readonly ThroughputResult[]>>;
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
/** The goals of issue 16. */
export const P99_GOAL_MS = 2;
export const DIRECT_RATIO_GOAL = 1.5;
export const CPU_RATIO_GOAL = 0.5;
export const MEMORY_GOAL_MB = 150;

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? (sorted[Math.floor((sorted.length - 1) / 2)] as number) : Number.NaN;
};

/** CPU µs per frame of the whole chain: every process of the system. */
export function totalCpu(p: PathResult | undefined): number {
  return p ? Object.values(p.cpuUsPerFrame).reduce((a, b) => a + b, 0) : Number.NaN;
}

function latencyGoal(r: Results, phase: 'cold' | 'steady', rate: number, withDirect: boolean): Goal {
  const list = phase === 'cold' ? r.cold : r.steady;
  const at = list.find((c) => c.rate === rate);
  const mine = at?.paths.this;
  const direct = at?.paths.direct;
  const label = `${phase} closed-loop p99 at ${rate} Hz${withDirect ? ', and against the direct path' : ''}`;
  const target = withDirect ? `<= ${P99_GOAL_MS} ms and <= ${DIRECT_RATIO_GOAL}x direct` : `<= ${P99_GOAL_MS} ms`;
  if (!mine) return { goal: label, target, measured: 'not run', pass: undefined };
  const ratio = direct ? mine.p99 / direct.p99 : Number.NaN;
  return {
    goal: label,
    target,
    measured: `${ms(mine.p99)} ms${withDirect ? ` (${ratio.toFixed(2)}x direct's ${ms(direct?.p99 ?? Number.NaN)})` : ''}`,
    pass: mine.p99 <= P99_GOAL_MS && (!withDirect || ratio <= DIRECT_RATIO_GOAL),
  };
}

export function goals(r: Results): Goal[] {
  const cpuGoal = (rate: number): Goal => {
    const at = r.steady.find((c) => c.rate === rate);
    const mine = totalCpu(at?.paths.this);
    const base = totalCpu(at?.paths.baseline);
    const floor = totalCpu(at?.paths['direct-2']);
    const label = `CPU per frame, whole chain, at ${rate} Hz`;
    const target = `<= ${CPU_RATIO_GOAL}x baseline`;
    if (!at) return { goal: label, target, measured: 'not run', pass: undefined };
    if (!Number.isFinite(base)) return { goal: label, target, measured: `${us(mine)} µs (no --baseline in this run)`, pass: undefined };
    return {
      goal: label,
      target,
      // The floor: what the same two processes cost without broker or MQTT (direct-2); no design that keeps the LEDs
      // in a process of their own can go below it.
      measured: `${us(mine)} µs = ${(mine / base).toFixed(2)}x baseline's ${us(base)}${Number.isFinite(floor) ? ` (the two-process floor, direct-2: ${us(floor)} µs = ${(floor / base).toFixed(2)}x)` : ''}`,
      pass: mine / base <= CPU_RATIO_GOAL,
    };
  };
  const load = r.memory.load200.this;
  const flood = (r.throughput.this ?? []).find((t) => t.maxRate === 1000);
  const baseFlood = (r.throughput.baseline ?? []).find((t) => t.maxRate === 1000);
  const growth = flood ? flood.gatewayRss.end - flood.gatewayRss.start : Number.NaN;
  const starts = r.startup.this ?? [];
  return [
    latencyGoal(r, 'cold', 200, true),
    latencyGoal(r, 'steady', 200, true),
    latencyGoal(r, 'cold', 60, false),
    latencyGoal(r, 'steady', 60, false),
    cpuGoal(60),
    cpuGoal(200),
    {
      goal: 'memory under 200 Hz load: every process of npm start, the launcher counted (sum of RSS)',
      target: `<= ${MEMORY_GOAL_MB} MB`,
      measured: load ? `${mb(load.rss)} MB (${roles(load.byRole, mb)}; PSS ${mb(load.pss)})` : 'not run',
      pass: load ? load.rss <= MEMORY_GOAL_MB : undefined,
    },
    {
      goal: 'flood: frames/s accepted by one gateway, latency and memory bounded',
      target: '>= 20,000/s',
      measured: flood
        ? `${int(flood.acceptedPerSecond)}/s; p99 ${ms(flood.latencyFirstThird.p99)} -> ${ms(flood.latencyLastThird.p99)} ms; RSS +${growth.toFixed(1)} MB${baseFlood ? ` (baseline ${int(baseFlood.acceptedPerSecond)}/s)` : ''}`
        : 'not run',
      pass: flood ? flood.acceptedPerSecond >= 20_000 && latencyBounded(flood) && growth <= RSS_GROWTH_LIMIT_MB : undefined,
    },
    {
      goal: 'start-up to ready, whole system (median of the cold starts)',
      target: '<= 2 s',
      measured: starts.length ? `${int(median(starts.map((s) => s.readyAfterMs)))} ms` : 'not run',
      pass: starts.length ? median(starts.map((s) => s.readyAfterMs)) <= 2000 : undefined,
    },
  ];
}

const ms = (v: number) => (Number.isFinite(v) ? (v < 10 ? v.toFixed(2) : v.toFixed(1)) : '-');
const int = (v: number) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '-');
const us = (v: number | undefined) => (v !== undefined && Number.isFinite(v) ? v.toFixed(0) : '-');
const mb = (v: number | undefined) => (v !== undefined && Number.isFinite(v) ? v.toFixed(1) : '-');
const verdict = (p: boolean | undefined) => (p === undefined ? '-' : p ? 'pass' : 'MISS');
/** `launcher 0 + broker 12 + ...`, in the order of the data path. */
const ROLE_ORDER = ['launcher', 'broker', 'gateway', 'led-driver', 'direct-gateway', 'direct-driver', 'other'];
function roles(values: Readonly<Record<string, number>>, format: (v: number) => string): string {
  return Object.entries(values)
    .sort(([a], [b]) => ROLE_ORDER.indexOf(a) - ROLE_ORDER.indexOf(b))
    .map(([role, v]) => `${role} ${format(v)}`)
    .join(' + ');
}

/** The rows of every table, shared by the terminal and the Markdown output. */
function tables(r: Results): { title: string; header: string[]; rows: string[][] }[] {
  const names = r.systems.map((s) => s.name);
  const latencyRows = (phase: string, list: readonly (ColdResult | RateResult)[]) =>
    list.flatMap((c) =>
      names
        .filter((n) => c.paths[n])
        .map((n, i) => {
          const p = c.paths[n] as LatencySummary & { sent: number; coalesced: number };
          const direct = c.paths.direct;
          return [
            i === 0 ? `${c.rate} Hz` : '',
            i === 0 ? phase : '',
            n,
            int(p.sent),
            ms(p.p50),
            ms(p.p99),
            ms(p.max),
            int(p.coalesced),
            n.startsWith('direct') || !direct ? '' : `${(p.p50 / direct.p50).toFixed(2)}x / ${(p.p99 / direct.p99).toFixed(2)}x`,
          ];
        }),
    );
  const memRow = (when: string, m: Readonly<Record<string, MemorySample>>) =>
    names
      .filter((n) => m[n])
      .map((n, i) => {
        const s = m[n] as MemorySample;
        return [i === 0 ? when : '', n, roles(s.byRole, mb), mb(s.rss), mb(s.pss)];
      });
  return [
    {
      title: 'Goals',
      header: ['goal', 'target', 'measured', 'result'],
      rows: goals(r).map((g) => [g.goal, g.target, g.measured, verdict(g.pass)]),
    },
    {
      title: 'Systems measured',
      header: ['name', 'what', 'node', 'flags'],
      rows: r.systems.map((s) => [
        s.name,
        s.name === 'direct'
          ? 'bench/direct-gateway.ts: ControllerServer straight into LedOutput, no MQTT'
          : s.name === 'direct-2'
            ? 'the same, LedOutput in a second process over one TCP socket (direct-driver.ts): the two-process floor'
            : `${s.layout === 'services' ? 'the three services as separate processes (as docker-compose.yml), of' : 'npm start of'} ${s.commit}`,
        s.node,
        [s.flags, s.nodeOptions && `NODE_OPTIONS=${s.nodeOptions}`].filter(Boolean).join(' '),
      ]),
    },
    {
      title: `Closed loop: frame sent -> state with its seq received (ms). Cold: the first second of a session on a system just started (${r.cold[0]?.runs ?? 0} sessions pooled); steady: after warm-up`,
      header: ['rate', 'phase', 'system', 'frames', 'p50', 'p99', 'max', 'coalesced', 'p50 / p99 vs direct'],
      rows: [...latencyRows('cold', r.cold), ...latencyRows('steady', r.steady)],
    },
    {
      title: 'CPU per frame (µs), steady: every process of each system',
      header: ['rate', 'system', 'by process', 'whole chain', 'vs baseline'],
      rows: r.steady.flatMap((c) =>
        names
          .filter((n) => c.paths[n])
          .map((n, i) => {
            const p = c.paths[n] as PathResult;
            const base = totalCpu(c.paths.baseline);
            return [
              i === 0 ? `${c.rate} Hz` : '',
              n,
              roles(p.cpuUsPerFrame, us),
              us(totalCpu(p)),
              n === 'this' && Number.isFinite(base) ? `${(totalCpu(p) / base).toFixed(2)}x` : '',
            ];
          }),
      ),
    },
    {
      title: 'Memory (MB): RSS of each process; sum of RSS (the launcher counted); sum of PSS (the shared node binary counted once)',
      header: ['when', 'system', 'RSS by process', 'sum of RSS', 'sum of PSS'],
      rows: [...memRow('idle', r.memory.idle), ...memRow('200 Hz load (max)', r.memory.load200)],
    },
    {
      title: 'Throughput: one client sending as fast as it can',
      header: [
        'system',
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
      rows: Object.entries(r.throughput).flatMap(([name, list]) =>
        list.map((t) => [
          name,
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
      ),
    },
    {
      title: 'Start-up: spawn to ready (median of the cold starts), and the CPU time each process had used a second later (ms)',
      header: ['system', 'ready after', 'CPU by process', 'CPU total'],
      rows: names
        .filter((n) => (r.startup[n] ?? []).length > 0)
        .map((n) => {
          const list = r.startup[n] ?? [];
          const roleNames = [...new Set(list.flatMap((s) => Object.keys(s.memory.startupCpu)))];
          const cpu = Object.fromEntries(roleNames.map((role) => [role, median(list.map((s) => s.memory.startupCpu[role] ?? 0))]));
          return [
            n,
            `${int(median(list.map((s) => s.readyAfterMs)))} ms`,
            roles(cpu, int),
            int(Object.values(cpu).reduce((a, b) => a + b, 0)),
          ];
        }),
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
