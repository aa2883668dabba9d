/**
 * Closed-loop latency at a fixed send rate: send -> gateway -> (MQTT -> led-driver -> MQTT ->) gateway -> state.
 * The two paths are measured side by side: their time is cut into alternating one-second slices, so that whatever
 * else the (shared) machine does falls on both alike and the ratio between them stays meaningful.
 */
import type { ControllerClient, Recording } from './controller-client.js';
import { type LatencySummary, summarise } from './stats.js';

/** Pacing gives up on catching up after a stall this long, rather than sending a burst. */
const MAX_CATCH_UP_MS = 20;
const SLICE_MS = 1000;

/** Sends at `rate` frames/s for `ms`, on a timer corrected for drift. */
function paced(client: ControllerClient, rate: number, ms: number): Promise<void> {
  const period = 1000 / rate;
  const start = performance.now();
  let next = start;
  return new Promise((resolve) => {
    const tick = () => {
      const now = performance.now();
      if (now - next > MAX_CATCH_UP_MS) next = now;
      while (next <= now && next < start + ms) {
        client.send();
        next += period;
      }
      if (next >= start + ms) return resolve();
      setTimeout(tick, Math.max(0, next - performance.now()));
    };
    tick();
  });
}

export interface PathResult extends LatencySummary {
  /** Frames sent, and the achieved send rate. */
  readonly sent: number;
  readonly sentPerSecond: number;
  /** Sent frames whose state never came back: coalesced by latest-value-wins (GATEWAY_MAX_RATE). */
  readonly coalesced: number;
  /**
   * CPU time per frame sent (µs), per process on this path: far less sensitive to a busy machine than latency, so
   * the number to compare before and after an optimisation.
   */
  readonly cpuUsPerFrame: Record<string, number>;
}

/** CPU time used so far (ms) by each process of a path. */
export type CpuProbe = () => Record<string, number>;

export interface RateResult {
  readonly rate: number;
  readonly mqtt: PathResult;
  readonly direct: PathResult;
  /** mqtt / direct, for p50 and p99. */
  readonly ratioP50: number;
  readonly ratioP99: number;
}

interface Accumulated {
  latencies: number[];
  sent: number;
  ms: number;
  cpuMs: Record<string, number>;
}

const empty = (): Accumulated => ({ latencies: [], sent: 0, ms: 0, cpuMs: {} });

async function slice(
  client: ControllerClient,
  rate: number,
  ms: number,
  into: Accumulated,
  cpu: CpuProbe,
  during?: () => void,
): Promise<void> {
  const cpuBefore = cpu();
  client.record();
  const started = performance.now();
  const sampler = during ? setInterval(during, 200) : undefined;
  await paced(client, rate, ms);
  clearInterval(sampler);
  into.ms += performance.now() - started;
  const recording: Recording = await client.finish();
  into.sent += recording.sent;
  for (const [name, after] of Object.entries(cpu())) into.cpuMs[name] = (into.cpuMs[name] ?? 0) + after - (cpuBefore[name] ?? 0);
  for (const l of recording.latencies) into.latencies.push(l);
}

function result(acc: Accumulated): PathResult {
  const summary = summarise(acc.latencies);
  const cpuUsPerFrame = Object.fromEntries(Object.entries(acc.cpuMs).map(([name, ms]) => [name, (ms * 1000) / acc.sent]));
  return { ...summary, sent: acc.sent, sentPerSecond: (acc.sent * 1000) / acc.ms, coalesced: acc.sent - summary.count, cpuUsPerFrame };
}

/**
 * `seconds` of each path at `rate`, alternating slices. `during` is called every 200 ms while the production path
 * is under load (to sample memory).
 */
export async function closedLoop(
  paths: { mqtt: ControllerClient; direct: ControllerClient },
  cpu: { mqtt: CpuProbe; direct: CpuProbe },
  rate: number,
  seconds: number,
  during: () => void = () => {},
): Promise<RateResult> {
  const mqtt = empty();
  const direct = empty();
  // Warm-up (not recorded): JIT, connection buffers, the first state after a fail-safe.
  await slice(paths.mqtt, rate, 300, empty(), cpu.mqtt);
  await slice(paths.direct, rate, 300, empty(), cpu.direct);
  let left = seconds * 1000;
  let first: 'mqtt' | 'direct' = 'mqtt';
  while (left > 0) {
    const ms = Math.min(SLICE_MS, left);
    for (const path of first === 'mqtt' ? (['mqtt', 'direct'] as const) : (['direct', 'mqtt'] as const)) {
      if (path === 'mqtt') await slice(paths.mqtt, rate, ms, mqtt, cpu.mqtt, during);
      else await slice(paths.direct, rate, ms, direct, cpu.direct);
    }
    first = first === 'mqtt' ? 'direct' : 'mqtt';
    left -= ms;
  }
  const m = result(mqtt);
  const d = result(direct);
  return { rate, mqtt: m, direct: d, ratioP50: m.p50 / d.p50, ratioP99: m.p99 / d.p99 };
}
