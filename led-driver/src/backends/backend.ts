/** What the led-driver needs from hardware: set two duty cycles, and let go cleanly. */
import type { Duty } from '@gravity-led/shared';

export interface LedPins {
  /** BCM number of the green LED (tilt right). */
  readonly right: number;
  /** BCM number of the red LED (tilt left). */
  readonly left: number;
}

export interface LedBackend {
  /** `sim`, `pigpio`, `sysfs`: said in the log at start. */
  readonly name: string;
  /** Where each LED's signal comes from (a chip and channel), when there is more to say than the name. */
  readonly detail?: string;
  /** Applies both duty cycles (0..100). Must not throw for values in range. */
  write(duty: Duty): void;
  /** Both LEDs off, then the hardware released. Called once, at shutdown. */
  close(): Promise<void>;
  /**
   * The same, at once and without waiting for anything: for the process's last moments (an error nobody caught,
   * process.exit from the shutdown deadline), where no promise will be awaited. Idempotent, and a no-op after close().
   */
  closeSync(): void;
}

/**
 * A duty in percent as a whole number of hardware steps out of `steps` (pigpio's PWM range, the kernel PWM's period
 * in ns), clamped to 0..steps and rounded to the nearest step: the one mapping every real backend uses.
 */
export function dutySteps(percent: number, steps: number): number {
  const clamped = Math.min(100, Math.max(0, percent));
  return Math.round((clamped / 100) * steps);
}
