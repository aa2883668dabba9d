/**
 * Overload: the client sends as fast as it can (never letting its own send buffer pass CLIENT_BUFFER_LIMIT, so the
 * client does not fill memory either, nor more than MAX_IN_FLIGHT frames ahead of the newest echoed), and we watch what the gateway accepts, what the led-driver applies, how long
 * a state takes to come back meanwhile, and whether the gateway's memory grows.
 */
import { CLIENT_BUFFER_LIMIT, type ControllerClient } from './controller-client.js';
import { type LatencySummary, summarise } from './stats.js';

/** Frames sent per turn of the event loop before yielding, so the client also reads the states coming back. */
const BURST = 32;
/**
 * At most this many frames beyond the newest one echoed back. Each state echoes the newest frame the gateway has
 * read, so this bounds the frames waiting in the kernel's socket buffers too: without it a client that outruns the
 * gateway fills them (megabytes on loopback), and the latency measured would be their depth, not the gateway's.
 */
export const MAX_IN_FLIGHT = 2048;

export interface ThroughputResult {
  readonly maxRate: number;
  readonly seconds: number;
  readonly sent: number;
  /** Frames the gateway read and parsed per second: all sent frames, over the time until the last one's state came back. */
  readonly acceptedPerSecond: number;
  /** States that came back per second: each one a value the led-driver applied. */
  readonly appliedPerSecond: number;
  readonly coalesced: number;
  /** Latency of the states that came back during the overload, over all of it and over its first and last thirds. */
  readonly latency: LatencySummary;
  readonly latencyFirstThird: LatencySummary;
  readonly latencyLastThird: LatencySummary;
  /** Gateway RSS (MB) one second in, at most, and at the end: growth would mean a queue. */
  readonly gatewayRss: { readonly start: number; readonly max: number; readonly end: number };
  /** RSS (MB) of broker and led-driver at most during the overload. */
  readonly brokerRssMax: number;
  readonly driverRssMax: number;
  /** Largest client-side ws buffer seen (bytes). */
  readonly clientMaxBuffered: number;
}

export interface RssProbe {
  gateway(): number;
  broker(): number;
  driver(): number;
}

export async function flood(client: ControllerClient, seconds: number, maxRate: number, rss: RssProbe): Promise<ThroughputResult> {
  const recording = client.record();
  const start = performance.now();
  const end = start + seconds * 1000;
  const gatewaySamples: { at: number; mb: number }[] = [];
  let brokerMax = 0;
  let driverMax = 0;
  const sampler = setInterval(() => {
    gatewaySamples.push({ at: performance.now() - start, mb: rss.gateway() });
    brokerMax = Math.max(brokerMax, rss.broker());
    driverMax = Math.max(driverMax, rss.driver());
  }, 200);
  await new Promise<void>((resolve) => {
    const pump = () => {
      if (performance.now() >= end) return resolve();
      for (let i = 0; i < BURST && client.bufferedAmount < CLIENT_BUFFER_LIMIT && client.inFlight < MAX_IN_FLIGHT; i++) client.send();
      setImmediate(pump);
    };
    pump();
  });
  const stopped = performance.now();
  await client.finish(30_000);
  const drained = performance.now();
  clearInterval(sampler);
  const third = (stopped - start) / 3;
  const lat = (from: number, to: number) =>
    summarise(
      recording.latencies.filter(
        (_, i) => (recording.returnedAt[i] as number) - start >= from && (recording.returnedAt[i] as number) - start < to,
      ),
    );
  const afterOneSecond = gatewaySamples.find((s) => s.at >= 1000) ?? gatewaySamples[0];
  return {
    maxRate,
    seconds,
    sent: recording.sent,
    acceptedPerSecond: (recording.sent * 1000) / (drained - start),
    appliedPerSecond: (recording.latencies.length * 1000) / (drained - start),
    coalesced: recording.sent - recording.latencies.length,
    latency: summarise(recording.latencies),
    latencyFirstThird: lat(0, third),
    latencyLastThird: lat(2 * third, Number.POSITIVE_INFINITY),
    gatewayRss: {
      start: afterOneSecond?.mb ?? Number.NaN,
      max: Math.max(...gatewaySamples.map((s) => s.mb)),
      end: gatewaySamples.at(-1)?.mb ?? Number.NaN,
    },
    brokerRssMax: brokerMax,
    driverRssMax: driverMax,
    clientMaxBuffered: client.maxBuffered,
  };
}
