/** Small steps the fault tests share: light the LEDs from a controller, and look at the simulated pins. */
import type { Frame, WsClient } from './clients.js';
import type { SimLeds, TestSystem } from './system.js';
import { waitFor } from './wait.js';

/** Generous: a fault must be handled within FAILSAFE_TIMEOUT_MS, but a shared machine may be slow to show it. */
export const PATIENCE_MS = 15_000;

/** Sends one gravity value tilting by `y` and waits until the controller sees it applied; returns that state frame. */
export async function light(client: WsClient, y: number): Promise<Frame> {
  const from = client.frames.length;
  client.send(`0 ${y} ${Math.sqrt(10_000 - y * y).toFixed(1)}`);
  const duty = Math.abs(y);
  return client.next('state', (f) => (y > 0 ? f.right === duty && f.left === 0 : f.left === duty && f.right === 0), PATIENCE_MS, from);
}

/** Waits until the simulated pins show `match` (LED_SIM_FILE: what the hardware does, whatever MQTT says). */
export function pins(system: TestSystem, what: string, match: (leds: SimLeds) => boolean, timeoutMs = PATIENCE_MS): Promise<SimLeds> {
  return waitFor(
    `the simulated LEDs to be ${what}`,
    () => {
      const leds = system.simLeds;
      return leds && match(leds) ? leds : undefined;
    },
    timeoutMs,
  );
}

/** Both LEDs off, in a state message, a state frame or the simulated pins. */
export function bothOff(leds: object): boolean {
  const { left, right } = leds as { left?: unknown; right?: unknown };
  return left === 0 && right === 0;
}
