/**
 * Caps how often values pass, without a queue: a value arriving too soon replaces any waiting one and goes out
 * at the next slot, so the last value always goes out. A source faster than the cap therefore costs no memory, and
 * the receiver gets the newest value rather than a backlog of old ones: the gateway's rate cap per controller, and
 * the led-driver's per-LED state for Home Assistant.
 */
export class LatestValueThrottle<T> {
  private last = -Infinity;
  private pending: T | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Values replaced before they went out: reported as dropped. */
  dropped = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly emit: (value: T) => void,
  ) {}

  push(value: T): void {
    const now = performance.now();
    if (this.timer === undefined && now - this.last >= this.intervalMs) {
      this.last = now;
      this.emit(value);
      return;
    }
    if (this.pending !== undefined) this.dropped++;
    this.pending = value;
    if (this.timer === undefined) {
      this.timer = setTimeout(() => this.flush(), Math.max(0, this.intervalMs - (now - this.last)));
    }
  }

  private flush(): void {
    this.timer = undefined;
    if (this.pending === undefined) return;
    const value = this.pending;
    this.pending = undefined;
    this.last = performance.now();
    this.emit(value);
  }

  /** Forgets any waiting value: used when the connection closes, so nothing is sent on behalf of a gone client. */
  cancel(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = undefined;
  }
}
