/**
 * What the gateway measures of the loop it closes, fed by the data path's events: gravity frames received, LED
 * changes reported back, the round trip of each frame that carries a `seq` to the state that echoes it, and the
 * WebSocket ping round trip to each controller. Told to Prometheus as it happens (GatewayMetrics) and to every
 * client once a second as a `stats` frame. One clock: this process's performance.now().
 */
import type { Gravity, LedState } from '@gravity-led/shared';
import type { Spread, StatsFrame } from './protocol.js';
import { RateWindow, SpreadWindow, WINDOW_MS } from './rolling-window.js';

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
  /** seq -> arrival (performance.now()) of the published frame that carried it, oldest first. */
  private readonly pending = new Map<number, number>();

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
    if (gravity.seq === undefined) return;
    // A number seen again (a second controller, a client that started counting anew): the newest frame is the one.
    this.pending.delete(gravity.seq);
    this.pending.set(gravity.seq, receivedAt);
    if (this.pending.size > MAX_PENDING) this.pending.delete(this.pending.keys().next().value as number);
  }

  /** A state from leds/state; a retained one is the broker's replay on subscribing, not a change of the LEDs. */
  state(state: LedState, retained: boolean): void {
    if (retained) return;
    const now = this.now();
    this.ledUpdates.add(now);
    // Frames the led-driver applied without a change of the LEDs have had their effect: no state will echo them,
    // and timing them to a later change would count the time the phone was held still.
    if (state.unchanged !== undefined && this.pending.has(state.unchanged)) {
      for (const seq of this.pending.keys()) {
        this.pending.delete(seq);
        if (seq === state.unchanged) break;
      }
    }
    if (state.seq === undefined || !this.pending.has(state.seq)) return;
    // A frame's round trip ends with the first state that shows it or a newer frame: the led-driver applies frames
    // in order and, when several arrive at once, only the newest (latest value wins), so the ones before this were
    // superseded and will never be echoed. Each is timed to this state: a stall shows in the worst case even though
    // the frames sent during it were never applied one by one.
    for (const [seq, arrivedAt] of this.pending) {
      this.pending.delete(seq);
      const ms = now - arrivedAt;
      if (ms <= MATCH_WITHIN_MS) {
        this.roundTrips.add(ms, now);
        this.sink.roundTrip(ms / 1000);
      }
      if (seq === state.seq) break;
    }
  }

  /**
   * A controller came or went. The frames still waiting are another session's, or will never be applied: the
   * led-driver ignores gravity sent before the occupancy changed (docs/safety.md). Timed to the next controller's
   * first state, they would count the time between the two sessions.
   */
  controllersChanged(): void {
    this.pending.clear();
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
