/**
 * The arithmetic of the live figures on the pages: events per second, the spread (median and worst) of durations, both
 * over the last WINDOW_MS, and which round trips an LED state ends. The one home of this arithmetic: the pages run this
 * file as it is served, and the gateway imports it too (gateway/src/rolling-window.ts, typed by figures.d.ts). Times
 * are milliseconds on the one monotonic clock of whoever counts (performance.now()), never a wall clock and never two
 * machines' clocks compared. Memory is fixed whatever the rate.
 */

/** "The last few seconds" of every figure. */
export const WINDOW_MS = 5000;
/** Resolution of the rate: events are counted in slots this long. */
const SLOT_MS = 100;
/** At most this many durations are kept per window; past it the oldest go first (a rate of 400 a second for 5 s). */
const MAX_SAMPLES = 2000;

/** Events per second over the last `windowMs`, from counts in slots of SLOT_MS. */
export class RateWindow {
  constructor(windowMs = WINDOW_MS) {
    this.slots = Math.ceil(windowMs / SLOT_MS);
    this.counts = new Array(this.slots).fill(0);
    /** The slot number (time / SLOT_MS) each entry counts; an entry of an older slot is stale. */
    this.numbers = new Array(this.slots).fill(Number.NEGATIVE_INFINITY);
    /** When the current run of events began: a stream that started 1 s ago is rated over 1 s, not the whole window. */
    this.since = undefined;
    this.last = Number.NEGATIVE_INFINITY;
  }

  /** One event at `now`. */
  add(now) {
    const number = Math.floor(now / SLOT_MS);
    const i = number % this.slots;
    if (this.numbers[i] !== number) {
      this.numbers[i] = number;
      this.counts[i] = 0;
    }
    this.counts[i]++;
    if (this.since === undefined || now - this.last > this.slots * SLOT_MS) this.since = now;
    this.last = now;
  }

  /** Events per second over the window that ends at `now`; 0 when there were none. */
  perSecond(now) {
    const current = Math.floor(now / SLOT_MS);
    const oldest = current - this.slots + 1;
    let total = 0;
    for (let i = 0; i < this.slots; i++) {
      if (this.numbers[i] >= oldest && this.numbers[i] <= current) total += this.counts[i];
    }
    if (total === 0 || this.since === undefined) return 0;
    // The span the counted slots cover, from the start of the oldest one (or of the run, if later) to now.
    const span = now - Math.max(oldest * SLOT_MS, this.since);
    return (total * 1000) / Math.max(span, SLOT_MS);
  }
}

/** Durations over the last `windowMs`: their median (p50), the worst, and how many there were. */
export class SpreadWindow {
  constructor(windowMs = WINDOW_MS) {
    this.windowMs = windowMs;
    /** [at, value] pairs, oldest first. */
    this.samples = [];
  }

  add(value, now) {
    this.samples.push([now, value]);
    if (this.samples.length > MAX_SAMPLES) this.samples.shift();
  }

  /** @returns {{p50: number, max: number, samples: number} | null} null when the window holds no sample */
  spread(now) {
    const from = now - this.windowMs;
    let drop = 0;
    while (drop < this.samples.length && this.samples[drop][0] <= from) drop++;
    if (drop > 0) this.samples.splice(0, drop);
    if (this.samples.length === 0) return null;
    const values = this.samples.map((s) => s[1]).sort((a, b) => a - b);
    // The nearest-rank median: a value that was actually measured, never an average of two.
    const p50 = values[Math.ceil(values.length / 2) - 1];
    return { p50, max: values[values.length - 1], samples: values.length };
  }
}

/**
 * Frames numbered by their sender (`seq`), matched to the LED states that echo them: the rule of a round trip, the
 * same for the page and the gateway.
 * - A frame's round trip ends with the first state that shows it or a newer frame. The led-driver applies frames in
 *   order and, of several that reach it at once, only the newest (latest value wins): the ones before it were
 *   superseded and will never be echoed, so each is timed to the state that superseded it, and a stall of the path
 *   shows in the worst case.
 * - A frame the led-driver applied without a change of the LEDs (a phone held still, or past full brightness) is
 *   never echoed either: the next state names the newest such frame (`unchanged`), and it and every frame before it
 *   are dropped untimed, so that the time the phone was held still is never counted.
 */
export class EchoMatcher {
  /**
   * @param {number} limit frames remembered at most, the oldest forgotten first
   * @param {number} maxAgeMs a frame sent longer ago than this is dropped untimed (a sender that reused its numbers)
   */
  constructor(limit, maxAgeMs = Number.POSITIVE_INFINITY) {
    this.limit = limit;
    this.maxAgeMs = maxAgeMs;
    /** seq -> when it was sent, oldest first. */
    this.pending = new Map();
  }

  /** A frame numbered `seq` went out at `at`; a number used again counts from its newest use. */
  sent(seq, at) {
    this.pending.delete(seq);
    this.pending.set(seq, at);
    if (this.pending.size > this.limit) this.pending.delete(this.pending.keys().next().value);
  }

  /** A state arrived at `now` (its `seq` and `unchanged`, either may be absent): the round trips it ends, in ms. */
  echoed(state, now) {
    this.takeThrough(state.unchanged);
    return this.takeThrough(state.seq)
      .map((at) => now - at)
      .filter((ms) => ms <= this.maxAgeMs);
  }

  /** Forgets every frame: their states will never come back to this matcher (a session ended). */
  clear() {
    this.pending.clear();
  }

  /** Forgets the frames up to and including `last`, oldest first, and says when each was sent (none if it is absent). */
  takeThrough(last) {
    const taken = [];
    if (typeof last !== 'number' || !this.pending.has(last)) return taken;
    for (const [seq, at] of this.pending) {
      this.pending.delete(seq);
      taken.push(at);
      if (seq === last) break;
    }
    return taken;
  }
}

/** Milliseconds as the pages show them: whole above 10 ms, one decimal below. */
export function formatMs(ms) {
  return ms >= 10 ? `${Math.round(ms)} ms` : `${ms.toFixed(1)} ms`;
}
