/** The seed's LED rule, and the duty arithmetic the driver does: only the led-driver turns gravity into duty. */
import { type Duty, type Gravity, OFF } from '@gravity-led/shared';

/** Duty values are kept to two decimals: finer steps are invisible and would only churn the state topic. */
export function roundDuty(value: number): number {
  return Math.round(value * 100) / 100;
}

export function clampDuty(value: number): number {
  return value <= 0 ? 0 : value >= 100 ? 100 : roundDuty(value);
}

/** The seed's rule: y > 0 lights the right LED with duty y %, y < 0 the left with -y %, the other one off. */
export function dutyFromGravity(g: Pick<Gravity, 'y'>): Duty {
  if (g.y > 0) return { left: 0, right: clampDuty(g.y) };
  if (g.y < 0) return { left: clampDuty(-g.y), right: 0 };
  return OFF;
}

export function sameDuty(a: Duty, b: Duty): boolean {
  return a.left === b.left && a.right === b.right;
}
