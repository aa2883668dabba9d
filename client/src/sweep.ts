/** A smooth left-right tilt: the phone rolling from side to side, as a sine in the seed's units. */
import type { Gravity } from '@gravity-led/shared';
import type { Sweep } from './args.js';

const round = (v: number) => Math.round(v * 100) / 100;

/** The gravity vector `seconds` into the sweep: y swings ±amplitude, z keeps the vector's length at 100. */
export function sweepAt(sweep: Pick<Sweep, 'period' | 'amplitude'>, seconds: number): Gravity {
  const y = sweep.amplitude * Math.sin((2 * Math.PI * seconds) / sweep.period);
  return { x: 0, y: round(y), z: round(Math.sqrt(Math.max(0, 100 * 100 - y * y))) };
}
