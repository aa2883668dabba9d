/**
 * Caps how often values pass, without a queue: a token bucket that refills one value per `intervalMs` and holds at
 * most `burst` (1 unless asked). While it holds one, a value passes at once; when it is empty, a value replaces any
 * waiting one and goes out as the next token comes, so the last value always goes out. A source faster than the cap
 * therefore costs no memory, and the receiver gets the newest value rather than a backlog of old ones: the gateway's
 * rate cap per controller, and the led-driver's per-LED state for Home Assistant.
 *
 * The burst is for what a network delivers: a phone's frames held back by Wi-Fi power saving, or by the gateway's
 * own event loop being busy for a moment, arrive together in one read. With a burst of 1, every frame of such a
 * bunch but the newest was dropped, though the rate was far below the cap (200 frames sent at once to the default
 * 1000 a second: 6 published), and a replayed recording lost LED states. The gateway's burst of a tenth of a
 * second's worth (burstFor, at most MAX_BURST) lets them through; over any longer span the cap holds.
 */
export class LatestValueThrottle<T> {
  private tokens: number;
  private refilledAt = performance.now();
  private pending: T | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Values replaced before they went out: reported as dropped. */
  dropped = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly emit: (value: T) => void,
    private readonly burst = 1,
  ) {
    this.tokens = burst;
  }

  push(value: T): void {
    if (this.timer === undefined) {
      this.refill();
      if (this.tokens >= 1) {
        this.tokens -= 1;
        this.emit(value);
        return;
      }
    }
    if (this.pending !== undefined) this.dropped++;
    this.pending = value;
    this.timer ??= setTimeout(() => this.flush(), (1 - this.tokens) * this.intervalMs);
  }

  private refill(): void {
    const now = performance.now();
    this.tokens = Math.min(this.burst, this.tokens + (now - this.refilledAt) / this.intervalMs);
    this.refilledAt = now;
  }

  private flush(): void {
    this.timer = undefined;
    if (this.pending === undefined) return;
    this.refill();
    // Timers keep whole milliseconds and may fire a little early: the value waits for its whole token, or the cap
    // would be exceeded by whatever each early timer gained.
    if (this.tokens < 1) {
      this.timer = setTimeout(() => this.flush(), (1 - this.tokens) * this.intervalMs);
      return;
    }
    this.tokens -= 1;
    const value = this.pending;
    this.pending = undefined;
    this.emit(value);
  }

  /** Forgets any waiting value: used when the connection closes, so nothing is sent on behalf of a gone client. */
  cancel(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = undefined;
  }
}

/**
 * The largest burst: what the default cap (1000 a second) gives. A raised cap must not let a flood hand the broker
 * thousands of frames at once: the led-driver applies a few thousand a second, and the rest would wait in a queue.
 */
export const MAX_BURST = 100;

/** The burst for a cap of `perSecond`: a tenth of a second's worth, at least one and at most MAX_BURST. */
export function burstFor(perSecond: number): number {
  return Math.min(MAX_BURST, Math.max(1, Math.floor(perSecond / 10)));
}
