/**
 * A replay's LED states checked against its recording. The led-driver applies each value that arrives on its own
 * and, of values that arrive in one socket read, only the newest (latest value wins: led-driver/src/latest-value-input.ts),
 * so on a busy machine a replay may skip a state; it never reorders, delays or invents one. How many values it left
 * out is counted in `gravity_led_driver_coalesced_total{stage="input"}`: with none left out, the states must be
 * exactly the recording's changes of duty; with some, at most that many changes may be missing.
 */
import assert from 'node:assert/strict';
import { dutyFromGravity, sameDuty } from '@gravity-led/led-driver';
import type { Duty } from '@gravity-led/shared';
import { scrape } from './metrics.js';

export interface AppliedState extends Duty {
  readonly seq?: number | undefined;
}

/** The values the led-driver has left out by latest-value-wins so far, from its metrics port. */
export async function coalescedInputs(driverMetricsPort: number): Promise<number> {
  const metrics = await scrape(`http://127.0.0.1:${driverMetricsPort}/metrics`);
  return metrics.count('gravity_led_driver_coalesced_total', { stage: 'input' });
}

/**
 * `applied`: the gravity states the driver reported during the replay, in order; `frames`: the recording's frames;
 * `coalesced`: the driver's count of values left out meanwhile; `before`: the LEDs before the replay (off).
 */
export function assertReplayed(
  applied: readonly AppliedState[],
  frames: readonly { readonly y: number; readonly seq?: number | undefined }[],
  coalesced: number,
  before: Duty = { left: 0, right: 0 },
): void {
  let shown = before;
  let next = 0;
  let missing = 0;
  for (const state of applied) {
    // Frames before this state's frame were left out or changed nothing.
    while (next < frames.length && frames[next]?.seq !== state.seq) {
      if (!sameDuty(dutyFromGravity(frames[next] as { y: number }), shown)) missing++;
      next++;
    }
    const frame = frames[next];
    assert.ok(frame, `the state with seq ${state.seq} is not a recorded frame after the one before it`);
    assert.deepEqual({ left: state.left, right: state.right }, { ...dutyFromGravity(frame) }, `the duty of frame ${state.seq}`);
    shown = state;
    next++;
  }
  const last = frames.at(-1);
  assert.ok(last, 'an empty recording');
  assert.ok(sameDuty(dutyFromGravity(last), shown), `the replay ends on the recording's last duty (frame ${last.seq})`);
  assert.ok(
    missing <= coalesced,
    `${missing} of the recording's changes are missing, but the led-driver left out only ${coalesced} values (latest value wins)`,
  );
}
