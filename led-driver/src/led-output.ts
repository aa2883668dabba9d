/**
 * The one place that changes the LEDs: applies a duty through the backend and reports every applied change.
 * Both the gravity path and every fail-safe go through apply(), so the state topic cannot disagree with the pins.
 */
import { type Duty, errorMessage, type LedState, type Logger, OFF, type StateReason } from '@gravity-led/shared';
import type { LedBackend } from './backends/backend.js';
import { sameDuty } from './led-rule.js';

export class LedOutput {
  private state: LedState;
  /** Set once the hardware is released: nothing may reach the backend after that. */
  private closed = false;
  /** The newest numbered frame applied since the last report without changing anything (LedState.unchanged). */
  private unchangedSeq: number | undefined;

  constructor(
    private readonly backend: LedBackend,
    private readonly report: (state: LedState) => void,
    private readonly log: Logger,
  ) {
    backend.write(OFF);
    this.state = { ...OFF, reason: 'start', ts: Date.now() };
  }

  get current(): LedState {
    return this.state;
  }

  get lit(): boolean {
    return this.state.left > 0 || this.state.right > 0;
  }

  /** Applies `duty`; returns true when it changed anything (and was therefore reported). */
  apply(duty: Duty, reason: StateReason, seq?: number): boolean {
    if (this.closed) return false;
    if (sameDuty(duty, this.state)) {
      // Nothing to write and nothing to report; the next report says that this frame has had its effect, so that
      // the gateway and the page do not wait for it to come back (LedState.unchanged).
      if (seq !== undefined) this.unchangedSeq = seq;
      return false;
    }
    try {
      this.backend.write(duty);
    } catch (error) {
      // A failing write leaves the pins unknown: try to turn both off, and report what we believe.
      this.log.error({ err: errorMessage(error), backend: this.backend.name }, 'LED write failed, turning both off');
      try {
        this.backend.write(OFF);
      } catch {
        // Nothing more can be done from software; the state still says off, as intended.
      }
      duty = OFF;
      reason = 'hardware-fault';
    }
    const unchanged = this.unchangedSeq;
    this.unchangedSeq = undefined;
    this.state = {
      left: duty.left,
      right: duty.right,
      reason,
      ...(seq === undefined ? {} : { seq }),
      ...(unchanged === undefined ? {} : { unchanged }),
      ts: Date.now(),
    };
    if (reason !== 'gravity' && reason !== 'manual') this.log.info({ reason }, 'LEDs off (fail-safe)');
    this.report(this.state);
    return true;
  }

  /**
   * Both off, then the hardware released, in that order. The last state reports `shutdown` even when the LEDs
   * were already dark: from now on they are dark because the driver is gone, whatever darkened them before.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    if (!this.apply(OFF, 'shutdown')) {
      this.writeOffQuietly();
      this.state = { ...OFF, reason: 'shutdown', ts: Date.now() };
      this.log.info({ reason: 'shutdown' }, 'LEDs off (fail-safe)');
      this.report(this.state);
    }
    this.closed = true;
    await this.backend.close();
    this.log.info({ backend: this.backend.name }, 'LED hardware released');
  }

  private writeOffQuietly(): void {
    try {
      this.backend.write(OFF);
    } catch (error) {
      this.log.error({ err: errorMessage(error), backend: this.backend.name }, 'LED write failed while turning both off');
    }
  }
}
