/**
 * Counts refused inputs by kind and logs the first of each kind at once, then a summary at most once a minute:
 * a flood of garbage must not become a flood of log lines.
 */
import type { Logger } from '@gravity-led/shared';

export const SUMMARY_INTERVAL_MS = 60_000;

export class RejectionLog {
  readonly totals = new Map<string, number>();
  private sinceSummary = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly log: Logger) {}

  record(topic: string, kind: string, message: string): void {
    const key = `${topic} ${kind}`;
    const total = (this.totals.get(key) ?? 0) + 1;
    this.totals.set(key, total);
    if (total === 1) {
      this.log.warn({ topic, kind }, `ignored a payload: ${message} (further ones of this kind are counted, not logged)`);
      return;
    }
    this.sinceSummary.set(key, (this.sinceSummary.get(key) ?? 0) + 1);
    this.timer ??= setTimeout(() => this.summarise(), SUMMARY_INTERVAL_MS).unref();
  }

  private summarise(): void {
    this.timer = undefined;
    if (this.sinceSummary.size === 0) return;
    this.log.warn({ ignored: Object.fromEntries(this.sinceSummary) }, 'payloads ignored in the last minute');
    this.sinceSummary = new Map();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
  }
}
