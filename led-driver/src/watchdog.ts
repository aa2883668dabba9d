/** Fires once when it has not been fed for `timeoutMs`: the driver's own clock for a stale stream or a silent broker. */
export class Watchdog {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly timeoutMs: number,
    private readonly onExpire: () => void,
  ) {}

  feed(): void {
    // refresh() re-arms the existing timer without allocating: this runs for every gravity message.
    if (this.timer) this.timer.refresh();
    else this.timer = setTimeout(() => this.expire(), this.timeoutMs);
  }

  private expire(): void {
    this.timer = undefined;
    this.onExpire();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
