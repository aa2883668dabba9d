/**
 * "Warn once, then count": how every service logs what it refuses (a wrong token, a bad payload, an oversized
 * packet). The first refusal of a kind is a warning, so a person sees it; the rest are counted, so a flood of
 * garbage, or someone guessing, is not a flood of log lines. The totals are there for metrics.
 */
import type { Logger } from './logger.js';

export interface RefusalLogOptions {
  /** The field that carries the running count of the kind in each line (default `count`). */
  readonly countField?: string;
  /** Warn again at every this-many-th refusal of a kind, so that a refusal that goes on stays visible. */
  readonly warnEvery?: number;
  /**
   * Instead of a debug line for each repeat: none, and at most one warning every `everyMs` that sums up the repeats
   * of every kind since the last one (`message`, with the counts by kind in `ignored`).
   */
  readonly summary?: { readonly everyMs: number; readonly message: string };
}

export class RefusalLog {
  /** Refusals so far, by kind. */
  readonly totals = new Map<string, number>();
  private sinceSummary = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly log: Logger,
    private readonly options: RefusalLogOptions = {},
  ) {}

  /** Counts one refusal of `kind` and logs it as the options say; returns how many of that kind there have been. */
  record(kind: string, message: string, fields: Readonly<Record<string, unknown>> = {}): number {
    const total = (this.totals.get(kind) ?? 0) + 1;
    this.totals.set(kind, total);
    const { summary, warnEvery, countField = 'count' } = this.options;
    if (!summary) {
      const warn = total === 1 || (warnEvery !== undefined && total % warnEvery === 0);
      this.log[warn ? 'warn' : 'debug']({ ...fields, [countField]: total }, message);
    } else if (total === 1) {
      this.log.warn(fields, `${message} (further ones of this kind are counted, not logged)`);
    } else {
      this.sinceSummary.set(kind, (this.sinceSummary.get(kind) ?? 0) + 1);
      this.timer ??= setTimeout(() => this.summarise(summary.message), summary.everyMs).unref();
    }
    return total;
  }

  private summarise(message: string): void {
    this.timer = undefined;
    if (this.sinceSummary.size === 0) return;
    this.log.warn({ ignored: Object.fromEntries(this.sinceSummary) }, message);
    this.sinceSummary = new Map();
  }

  /** Drops a pending summary: for a clean shutdown. */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
