/**
 * Events per second and the spread (median and worst) of durations over the last few seconds, for the live figures
 * (measurements.ts). The page, served as plain JS, keeps the same arithmetic in gateway/public/figures.js;
 * test/unit/figures.test.ts feeds both the same events and checks that they give the same figures. Times are
 * milliseconds on one monotonic clock (performance.now()); memory is fixed whatever the rate.
 */

/** "The last few seconds" of every figure. */
export const WINDOW_MS = 5000;
/** Resolution of the rate: events are counted in slots this long. */
const SLOT_MS = 100;
/** At most this many durations are kept per window; past it the oldest go first (400 a second for 5 s). */
const MAX_SAMPLES = 2000;

export interface Spread {
  readonly p50: number;
  readonly max: number;
  readonly samples: number;
}

export class RateWindow {
  private readonly slots: number;
  private readonly counts: number[];
  /** The slot number (time / SLOT_MS) each entry counts; an entry of an older slot is stale. */
  private readonly numbers: number[];
  /** When the current run of events began: a stream that started 1 s ago is rated over 1 s, not the whole window. */
  private since: number | undefined;
  private last = Number.NEGATIVE_INFINITY;

  constructor(windowMs = WINDOW_MS) {
    this.slots = Math.ceil(windowMs / SLOT_MS);
    this.counts = new Array<number>(this.slots).fill(0);
    this.numbers = new Array<number>(this.slots).fill(Number.NEGATIVE_INFINITY);
  }

  add(now: number): void {
    const number = Math.floor(now / SLOT_MS);
    const i = number % this.slots;
    if (this.numbers[i] !== number) {
      this.numbers[i] = number;
      this.counts[i] = 0;
    }
    this.counts[i] = (this.counts[i] ?? 0) + 1;
    if (this.since === undefined || now - this.last > this.slots * SLOT_MS) this.since = now;
    this.last = now;
  }

  /** Events per second over the window that ends at `now`; 0 when there were none. */
  perSecond(now: number): number {
    const current = Math.floor(now / SLOT_MS);
    const oldest = current - this.slots + 1;
    let total = 0;
    for (let i = 0; i < this.slots; i++) {
      const number = this.numbers[i] as number;
      if (number >= oldest && number <= current) total += this.counts[i] as number;
    }
    if (total === 0 || this.since === undefined) return 0;
    // The span the counted slots cover, from the start of the oldest one (or of the run, if later) to now.
    const span = now - Math.max(oldest * SLOT_MS, this.since);
    return (total * 1000) / Math.max(span, SLOT_MS);
  }
}

export class SpreadWindow {
  /** [at, value] pairs, oldest first. */
  private readonly samples: [number, number][] = [];

  constructor(private readonly windowMs = WINDOW_MS) {}

  add(value: number, now: number): void {
    this.samples.push([now, value]);
    if (this.samples.length > MAX_SAMPLES) this.samples.shift();
  }

  /** null when the window holds no sample. */
  spread(now: number): Spread | null {
    const from = now - this.windowMs;
    let drop = 0;
    while (drop < this.samples.length && (this.samples[drop] as [number, number])[0] <= from) drop++;
    if (drop > 0) this.samples.splice(0, drop);
    if (this.samples.length === 0) return null;
    const values = this.samples.map((s) => s[1]).sort((a, b) => a - b);
    // The nearest-rank median: a value that was actually measured, never an average of two.
    const p50 = values[Math.ceil(values.length / 2) - 1] as number;
    return { p50, max: values[values.length - 1] as number, samples: values.length };
  }
}
