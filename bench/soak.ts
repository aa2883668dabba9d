/**
 * `npm run bench:soak -- [--duration=3m] [--rate=200] [--sample=5s]`: one controller drives the three real
 * processes at 200 frames/s for minutes, while the memory of each service is sampled; reports how it grew, and
 * whether latency and the fail-safe held up at the end. Not a test: it asserts nothing and never runs in npm test.
 *
 * A leak shows as a steady slope after warm-up, not as the first minutes' growth (JIT, buffers and pools filling
 * up): the report gives both, and the slope is a least-squares fit over every sample after warm-up.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ControllerClient } from './controller-client.js';
import { ProductionSystem, ROOT, SERVICES, type ServiceName } from './production-system.js';

const USAGE = `usage: npm run bench:soak -- [--duration=3m] [--rate=200] [--sample=5s] [--warmup=15s]
  --duration=T  how long to drive the LEDs after warm-up (default 3m; 90s, 10m, or seconds)
  --rate=N      frames per second sent by the controller (default 200)
  --sample=T    how often the memory of each service is read (default 5s)
  --warmup=T    driving before the first sample counts (default 15s)`;

interface SoakOptions {
  readonly durationMs: number;
  readonly rate: number;
  readonly sampleMs: number;
  readonly warmupMs: number;
}

/** `90`, `90s`, `3m`, `1h` -> ms. */
function parseDuration(flag: string, raw: string): number {
  const match = /^(\d+(?:\.\d+)?)(s|m|h)?$/.exec(raw);
  if (!match) throw new Error(`--${flag}=${raw}: expected a duration like 90s, 3m or 90`);
  const unit = { s: 1000, m: 60_000, h: 3_600_000 }[(match[2] ?? 's') as 's' | 'm' | 'h'];
  return Number(match[1]) * unit;
}

function parseOptions(argv: readonly string[]): SoakOptions {
  let options: SoakOptions = { durationMs: 180_000, rate: 200, sampleMs: 5000, warmupMs: 15_000 };
  for (const arg of argv) {
    const [flag = '', value = ''] = arg.replace(/^--/, '').split('=', 2);
    if (flag === 'help' || flag === 'h') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else if (flag === 'duration') options = { ...options, durationMs: parseDuration(flag, value) };
    else if (flag === 'sample') options = { ...options, sampleMs: parseDuration(flag, value) };
    else if (flag === 'warmup') options = { ...options, warmupMs: parseDuration(flag, value) };
    else if (flag === 'rate' && /^\d+$/.test(value) && Number(value) > 0) options = { ...options, rate: Number(value) };
    else throw new Error(`unknown or bad argument ${arg}\n${USAGE}`);
  }
  return options;
}

interface Sample {
  /** Seconds since the end of warm-up. */
  readonly t: number;
  /** Anonymous memory (heap, stacks, buffers), resident or swapped out: what a leak makes grow. */
  readonly anon: Record<ServiceName, number>;
  /** Resident set size, for reference: it also counts the node binary's pages, which a busy machine may reclaim. */
  readonly rss: Record<ServiceName, number>;
}

/** RssAnon + VmSwap of a process in MB, from /proc/<pid>/status (Linux); NaN when it cannot be read. */
function anonMb(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(status)?.[1] ?? Number.NaN);
    return (kb('RssAnon') + (kb('VmSwap') || 0)) / 1024;
  } catch {
    return Number.NaN;
  }
}

interface Growth {
  readonly start: number;
  readonly end: number;
  readonly min: number;
  readonly max: number;
  readonly growth: number;
  /** Least-squares slope, MB per minute. */
  readonly slopePerMinute: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const say = (text: string) => process.stderr.write(`soak: ${text}\n`);
const mean = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / Math.max(values.length, 1);

function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/** Start and end are the means of the first and last three samples, so one noisy reading does not decide. */
function growthOf(points: readonly { t: number; mb: number }[]): Growth {
  const values = points.map((p) => p.mb);
  const start = mean(values.slice(0, 3));
  const end = mean(values.slice(-3));
  const tMean = mean(points.map((p) => p.t));
  const vMean = mean(values);
  const num = points.reduce((sum, p) => sum + (p.t - tMean) * (p.mb - vMean), 0);
  const den = points.reduce((sum, p) => sum + (p.t - tMean) ** 2, 0);
  return {
    start,
    end,
    min: Math.min(...values),
    max: Math.max(...values),
    growth: end - start,
    slopePerMinute: den > 0 ? (num / den) * 60 : 0,
  };
}

/** Sends `rate` frames per second by the clock, catching up after a late timer, but never bursting more than 50 ms. */
function drive(client: ControllerClient, rate: number): { stop(): void; sent(): number } {
  const started = performance.now();
  let sent = 0;
  const timer = setInterval(() => {
    const due = Math.floor(((performance.now() - started) / 1000) * rate);
    const catchUp = Math.min(due - sent, Math.ceil(rate / 20));
    for (let i = 0; i < catchUp; i++) client.send();
    sent = due;
  }, 4);
  return { stop: () => clearInterval(timer), sent: () => sent };
}

const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const total = options.warmupMs + options.durationMs;
  say(`${options.rate} frames/s for ${fmt(options.durationMs / 60_000)} min after ${fmt(options.warmupMs / 1000, 0)} s of warm-up`);
  const { system } = await ProductionSystem.start();
  let client: ControllerClient | undefined;
  try {
    client = await ControllerClient.connect(system.gatewayUrl, system.secrets.gatewayToken);
    client.record();
    const driving = drive(client, options.rate);
    const began = performance.now();
    await sleep(options.warmupMs);

    const samples: Sample[] = [];
    const t0 = performance.now();
    const read = (f: (name: ServiceName) => number) => Object.fromEntries(SERVICES.map((n) => [n, f(n)])) as Record<ServiceName, number>;
    const takeSample = (): Sample => ({
      t: (performance.now() - t0) / 1000,
      anon: read((n) => anonMb(system.children.get(n)?.pid)),
      rss: read((n) => system.rss(n)),
    });
    while (performance.now() - began < total) {
      const sample = takeSample();
      samples.push(sample);
      say(
        `${fmt(sample.t, 0).padStart(4)} s  anon MB ${SERVICES.map((n) => `${n} ${fmt(sample.anon[n])}`).join('  ')}  (${driving.sent()} frames sent)`,
      );
      await sleep(Math.min(options.sampleMs, Math.max(0, total - (performance.now() - began))));
    }
    driving.stop();
    const drivingEnd = performance.now();
    const sent = driving.sent();
    const finished = await client.finish(10_000);
    const last = samples.at(-1);
    if (last && last.t < (performance.now() - t0) / 1000 - 1) {
      samples.push(takeSample());
    }

    // After minutes of traffic, the fail-safe must still be there: silence, then both LEDs off.
    const offAt = await new Promise<number | undefined>((resolve) => {
      const quietSince = performance.now();
      const timer = setTimeout(() => resolve(undefined), 10_000);
      client?.socket.on('message', (data) => {
        const message = JSON.parse(data.toString()) as { type?: string; left?: number; right?: number; reason?: string };
        if (message.type === 'state' && message.left === 0 && message.right === 0 && message.reason === 'stale') {
          clearTimeout(timer);
          resolve(performance.now() - quietSince);
        }
      });
    });

    // Latency of the first and the last minute (after warm-up), to see whether the system slows down as it runs.
    const window = (from: number, to: number) =>
      finished.latencies.filter((_, i) => {
        const at = finished.returnedAt[i] ?? 0;
        return at >= from && at < to;
      });
    const first = window(t0, Math.min(t0 + 60_000, drivingEnd));
    const lastMinute = window(Math.max(t0, drivingEnd - 60_000), drivingEnd + 1000);

    const growth = Object.fromEntries(
      SERVICES.map((n) => [
        n,
        { anon: growthOf(samples.map((s) => ({ t: s.t, mb: s.anon[n] }))), rss: growthOf(samples.map((s) => ({ t: s.t, mb: s.rss[n] }))) },
      ]),
    ) as Record<ServiceName, { anon: Growth; rss: Growth }>;
    const results = {
      date: new Date().toISOString(),
      options,
      frames: { sent, returned: finished.latencies.length, coalesced: sent - finished.latencies.length },
      latencyMs: {
        firstMinute: { p50: percentile(first, 50), p99: percentile(first, 99), n: first.length },
        lastMinute: { p50: percentile(lastMinute, 50), p99: percentile(lastMinute, 99), n: lastMinute.length },
      },
      failsafeAfterSoakMs: offAt ?? null,
      growth,
      samples,
    };

    const lines = [
      '',
      `Soak: ${options.rate} frames/s for ${fmt(options.durationMs / 60_000)} min (after ${fmt(options.warmupMs / 1000, 0)} s warm-up), sampled every ${fmt(options.sampleMs / 1000, 0)} s`,
      `frames sent ${sent}, states back ${finished.latencies.length} (the rest coalesced by the gateway's rate cap: frames closer together than 1/GATEWAY_MAX_RATE after a late timer)`,
      '',
      'memory in MB: anon = heap, stacks and buffers (RssAnon + VmSwap), what a leak makes grow; RSS for reference',
      'service      anon start  anon end   min     max     growth  slope MB/min   RSS start  RSS end',
      ...SERVICES.map((n) => {
        const { anon, rss } = growth[n];
        return `${n.padEnd(12)} ${fmt(anon.start).padStart(10)} ${fmt(anon.end).padStart(9)} ${fmt(anon.min).padStart(7)} ${fmt(anon.max).padStart(7)} ${fmt(anon.growth).padStart(8)} ${fmt(anon.slopePerMinute, 2).padStart(13)} ${fmt(rss.start).padStart(10)} ${fmt(rss.end).padStart(8)}`;
      }),
      '',
      `latency ms (frame sent -> its state back): first minute p50 ${fmt(results.latencyMs.firstMinute.p50, 2)} p99 ${fmt(results.latencyMs.firstMinute.p99, 2)}; last minute p50 ${fmt(results.latencyMs.lastMinute.p50, 2)} p99 ${fmt(results.latencyMs.lastMinute.p99, 2)}`,
      offAt === undefined
        ? 'fail-safe after the soak: NO stale-off state within 10 s of silence'
        : `fail-safe after the soak: both LEDs off (stale) ${fmt(offAt, 0)} ms after the last frame`,
    ];
    mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
    const file = join(ROOT, 'bench/results', `soak-${results.date.replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
    process.stdout.write(`${lines.join('\n')}\nJSON: ${file}\n`);
  } finally {
    await client?.close();
    await system.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`soak: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
