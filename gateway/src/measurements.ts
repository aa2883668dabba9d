/**
 * What the gateway measures of the loop it closes, fed by the data path's events: gravity frames received, LED
 * changes reported back, the round trip of each frame that carries a `seq` to the state that echoes it, and the
 * WebSocket ping round trip to each controller. Told to Prometheus as it happens (GatewayMetrics) and to every
 * client once a second as a `stats` frame. One clock: this process's performance.now().
 */
import type { Gravity, LedState } from '@gravity-led/shared';
import type { Spread, StatsFrame } from './protocol.js';
import { EchoMatcher, RateWindow, SpreadWindow, WINDOW_MS } from './rolling-window.js';

/** How often the clients are told the figures, and each controller is pinged for its link round trip. */
export const STATS_INTERVAL_MS = 1000;
/** A frame whose state has not come back after this long is not matched any more (a client that reused its numbers). */
const MATCH_WITHIN_MS = 10_000;
/** Frames waiting for their state, at most: a client numbering frames that never change the LEDs costs no more. */
const MAX_PENDING = 1024;

/** Where each measurement goes as it is made (GatewayMetrics' histograms), in seconds. */
export interface MeasurementSink {
  roundTrip(seconds: number): void;
  linkRoundTrip(seconds: number): void;
}

export class Measurements {
  private readonly received = new RateWindow();
  private readonly ledUpdates = new RateWindow();
  private readonly roundTrips = new SpreadWindow();
  private readonly links = new SpreadWindow();
  /** The published frames with a `seq`, by their arrival on the WebSocket, until a state ends their round trip. */
  private readonly echoes = new EchoMatcher(MAX_PENDING, MATCH_WITHIN_MS);

  constructor(
    private readonly sink: MeasurementSink,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** A valid gravity frame arrived from a controller. */
  frameReceived(): void {
    this.received.add(this.now());
  }

  /** A frame was published to MQTT; `receivedAt` is its arrival on the WebSocket. Only one with a `seq` can be matched. */
  published(gravity: Gravity, receivedAt: number): void {
    // A number seen again (a second controller, a client that started counting anew): the newest frame is the one.
    if (gravity.seq !== undefined) this.echoes.sent(gravity.seq, receivedAt);
  }

  /** A state from leds/state; a retained one is the broker's replay on subscribing, not a change of the LEDs. */
  state(state: LedState, retained: boolean): void {
    if (retained) return;
    const now = this.now();
    this.ledUpdates.add(now);
    // Which frames this state ends, and which it drops untimed: figures.js (EchoMatcher), the page's rule too.
    for (const ms of this.echoes.echoed(state, now)) {
      this.roundTrips.add(ms, now);
      this.sink.roundTrip(ms / 1000);
    }
  }

  /**
   * A controller came or went. The frames still waiting are another session's, or will never be applied: the
   * led-driver ignores gravity sent before the occupancy changed (docs/safety.md). Timed to the next controller's
   * first state, they would count the time between the two sessions.
   */
  controllersChanged(): void {
    this.echoes.clear();
  }

  /** A controller answered a ping after `ms`. */
  linkRoundTrip(ms: number): void {
    this.links.add(ms, this.now());
    this.sink.linkRoundTrip(ms / 1000);
  }

  /** The figures over the last WINDOW_MS, as the clients are sent them. */
  snapshot(): StatsFrame {
    const now = this.now();
    return {
      type: 'stats',
      window: WINDOW_MS / 1000,
      received: round1(this.received.perSecond(now)),
      ledUpdates: round1(this.ledUpdates.perSecond(now)),
      roundTrip: rounded(this.roundTrips.spread(now)),
      link: rounded(this.links.spread(now)),
    };
  }
}

/** Nothing measured in the window: no frame, no LED change, no round trip. */
export function isQuiet(stats: StatsFrame): boolean {
  return stats.received === 0 && stats.ledUpdates === 0 && stats.roundTrip === null && stats.link === null;
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}

function rounded(spread: Spread | null): Spread | null {
  return spread && { p50: round1(spread.p50), max: round1(spread.max), samples: spread.samples };
}
