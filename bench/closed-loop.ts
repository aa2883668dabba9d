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
}

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
}

async function slice(client: ControllerClient, rate: number, ms: number, into: Accumulated, during?: () => void): Promise<void> {
  client.record();
  const started = performance.now();
  const sampler = during ? setInterval(during, 200) : undefined;
  await paced(client, rate, ms);
  clearInterval(sampler);
  into.ms += performance.now() - started;
  const recording: Recording = await client.finish();
  into.sent += recording.sent;
  for (const l of recording.latencies) into.latencies.push(l);
}

function result(acc: Accumulated): PathResult {
  const summary = summarise(acc.latencies);
  return { ...summary, sent: acc.sent, sentPerSecond: (acc.sent * 1000) / acc.ms, coalesced: acc.sent - summary.count };
}

/**
 * `seconds` of each path at `rate`, alternating slices. `during` is called every 200 ms while the production path
 * is under load (to sample memory).
 */
export async function closedLoop(
  paths: { mqtt: ControllerClient; direct: ControllerClient },
  rate: number,
  seconds: number,
  during: () => void = () => {},
): Promise<RateResult> {
  const mqtt: Accumulated = { latencies: [], sent: 0, ms: 0 };
  const direct: Accumulated = { latencies: [], sent: 0, ms: 0 };
  // Warm-up (not recorded): JIT, connection buffers, the first state after a fail-safe.
  await slice(paths.mqtt, rate, 300, { latencies: [], sent: 0, ms: 0 });
  await slice(paths.direct, rate, 300, { latencies: [], sent: 0, ms: 0 });
  let left = seconds * 1000;
  let first: 'mqtt' | 'direct' = 'mqtt';
  while (left > 0) {
    const ms = Math.min(SLICE_MS, left);
    for (const path of first === 'mqtt' ? (['mqtt', 'direct'] as const) : (['direct', 'mqtt'] as const)) {
      if (path === 'mqtt') await slice(paths.mqtt, rate, ms, mqtt, during);
      else await slice(paths.direct, rate, ms, direct);
    }
    first = first === 'mqtt' ? 'direct' : 'mqtt';
    left -= ms;
  }
  const m = result(mqtt);
  const d = result(direct);
  return { rate, mqtt: m, direct: d, ratioP50: m.p50 / d.p50, ratioP99: m.p99 / d.p99 };
}
