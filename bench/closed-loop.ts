/**
 * Closed-loop latency at a fixed send rate: send -> gateway -> (MQTT -> led-driver -> MQTT ->) gateway -> state.
 * Several paths (this system, an earlier commit's, the direct path) are measured side by side: their time is cut
 * into alternating one-second slices, so that whatever else the (shared) machine does falls on all alike and the
 * ratios between them stay meaningful.
 */
import type { ControllerClient, Recording } from './controller-client.js';
import { type LatencySummary, summarise } from './stats.js';

/** Pacing gives up on catching up after a stall this long, rather than sending a burst. */
const MAX_CATCH_UP_MS = 20;
const SLICE_MS = 1000;

/** Sends at `rate` frames/s for `ms`, on a timer corrected for drift. */
export function paced(client: ControllerClient, rate: number, ms: number): Promise<void> {
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
   * CPU time per frame sent (µs), per process of this path: far less sensitive to a busy machine than latency, so
   * the number to compare before and after an optimisation.
   */
  readonly cpuUsPerFrame: Record<string, number>;
}

/** CPU time used so far (ms) by each process of a path. */
export type CpuProbe = () => Record<string, number>;

export interface Path {
  readonly client: ControllerClient;
  readonly cpu: CpuProbe;
  /** Called every 200 ms while this path is under load (to sample memory). */
  readonly during?: () => void;
}

export interface RateResult {
  readonly rate: number;
  readonly paths: Record<string, PathResult>;
}

interface Accumulated {
  latencies: number[];
  sent: number;
  ms: number;
  cpuMs: Record<string, number>;
}

const empty = (): Accumulated => ({ latencies: [], sent: 0, ms: 0, cpuMs: {} });

async function slice(path: Path, rate: number, ms: number, into: Accumulated): Promise<void> {
  const cpuBefore = path.cpu();
  path.client.record();
  const started = performance.now();
  const sampler = path.during ? setInterval(path.during, 200) : undefined;
  await paced(path.client, rate, ms);
  clearInterval(sampler);
  into.ms += performance.now() - started;
  const recording: Recording = await path.client.finish();
  into.sent += recording.sent;
  for (const [name, after] of Object.entries(path.cpu())) into.cpuMs[name] = (into.cpuMs[name] ?? 0) + after - (cpuBefore[name] ?? 0);
  for (const l of recording.latencies) into.latencies.push(l);
}

function result(acc: Accumulated): PathResult {
  const summary = summarise(acc.latencies);
  const cpuUsPerFrame = Object.fromEntries(Object.entries(acc.cpuMs).map(([name, ms]) => [name, (ms * 1000) / acc.sent]));
  return { ...summary, sent: acc.sent, sentPerSecond: (acc.sent * 1000) / acc.ms, coalesced: acc.sent - summary.count, cpuUsPerFrame };
}

/** `seconds` of each path at `rate`, in alternating one-second slices (the order rotating each round). */
export async function closedLoop(paths: Readonly<Record<string, Path>>, rate: number, seconds: number): Promise<RateResult> {
  const names = Object.keys(paths);
  const acc = Object.fromEntries(names.map((n) => [n, empty()]));
  // A short run not recorded: the first state after a fail-safe, the connection's buffers.
  for (const name of names) await slice(paths[name] as Path, rate, 300, empty());
  let left = seconds * 1000;
  let round = 0;
  while (left > 0) {
    const ms = Math.min(SLICE_MS, left);
    for (let i = 0; i < names.length; i++) {
      const name = names[(i + round) % names.length] as string;
      await slice(paths[name] as Path, rate, ms, acc[name] as Accumulated);
    }
    round++;
    left -= ms;
  }
  return { rate, paths: Object.fromEntries(names.map((n) => [n, result(acc[n] as Accumulated)])) };
}

/** Drives every path at `rate` for `seconds` without recording: warm-up. */
export async function drive(paths: Readonly<Record<string, Path>>, rate: number, seconds: number): Promise<void> {
  let left = seconds * 1000;
  while (left > 0) {
    const ms = Math.min(SLICE_MS, left);
    for (const path of Object.values(paths)) {
      path.client.record();
      await paced(path.client, rate, ms);
      await path.client.finish();
    }
    left -= ms;
  }
}

/** The first `ms` of a session: frames sent at `rate` from the moment the client is admitted; the latencies. */
export async function firstFrames(client: ControllerClient, rate: number, ms: number): Promise<Recording> {
  client.record();
  await paced(client, rate, ms);
  return client.finish();
}
