/**
 * Latest value wins on the led-driver's MQTT input. mqtt.js hands over every message of one socket read before the
 * event loop moves on; each gravity value is parsed as it comes (cheap), but only the newest of them is applied, once
 * the read has been handled (setImmediate runs after the I/O of this turn). A flood therefore costs one parse per
 * message and one LED write and one state per turn, instead of a write and a publish per message: the driver keeps up
 * with any rate the broker can deliver, so no backlog builds in its socket, the LEDs show the newest value, and the
 * stale fail-safe counts from the last value that really arrived. When values come one at a time, each is applied at
 * once: nothing is held back.
 */
export class LatestValueInput<T> {
  private pending: T | undefined;
  private immediate: NodeJS.Immediate | undefined;
  /** Values replaced by a newer one of the same turn before they were applied. */
  superseded = 0;

  constructor(private readonly apply: (value: T) => void) {}

  push(value: T): void {
    if (this.pending !== undefined) this.superseded++;
    this.pending = value;
    this.immediate ??= setImmediate(() => this.flush());
  }

  /**
   * Applies the waiting value now. Called before the driver acts on any other message, so that messages take
   * effect in the order they arrived: a value followed by `offline` in one read ends dark, as it must.
   */
  flush(): void {
    if (this.immediate) clearImmediate(this.immediate);
    this.immediate = undefined;
    const value = this.pending;
    if (value === undefined) return;
    this.pending = undefined;
    this.apply(value);
  }

  /** Forgets the waiting value (shutdown). */
  cancel(): void {
    if (this.immediate) clearImmediate(this.immediate);
    this.immediate = undefined;
    this.pending = undefined;
  }
}
