/**
 * Optional output shaping, LED_GAMMA and LED_DEADBAND: changes only the PWM duty sent to the pins. The LED rule and
 * the state topic keep the seed's linear duty, so a client sees the brightness it asked for, whatever the curve.
 */
import type { Duty } from '@gravity-led/shared';
import type { LedBackend } from './backend.js';

export interface Shape {
  /** PWM duty = 100 * (duty / 100) ^ gamma; 1 = linear. */
  readonly gamma: number;
  /** Duties below this (percent) give 0: the LED stays dark while the phone is nearly level. */
  readonly deadband: number;
}

export function shapeDuty(percent: number, { gamma, deadband }: Shape): number {
  if (percent <= 0 || percent < deadband) return 0;
  if (percent >= 100) return 100;
  return gamma === 1 ? percent : 100 * (percent / 100) ** gamma;
}

export function isLinear(shape: Shape): boolean {
  return shape.gamma === 1 && shape.deadband === 0;
}

export class ShapedBackend implements LedBackend {
  constructor(
    private readonly inner: LedBackend,
    private readonly shape: Shape,
  ) {}

  get name(): string {
    return this.inner.name;
  }

  get detail(): string | undefined {
    return this.inner.detail;
  }

  write(duty: Duty): void {
    this.inner.write({ left: shapeDuty(duty.left, this.shape), right: shapeDuty(duty.right, this.shape) });
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  closeSync(): void {
    this.inner.closeSync();
  }
}

/** The backend itself when the shape is linear, so the seed's behaviour has no extra layer. */
export function shaped(backend: LedBackend, shape: Shape): LedBackend {
  return isLinear(shape) ? backend : new ShapedBackend(backend, shape);
}
