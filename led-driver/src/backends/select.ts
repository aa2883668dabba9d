/** Chooses the backend from LED_BACKEND; `auto` tries real GPIO and falls back to the simulation, saying why. */
import type { Logger } from '@gravity-led/shared';
import type { LedBackend, LedPins } from './backend.js';
import { SimBackend } from './sim.js';

export type BackendKind = 'auto' | 'pigpio' | 'sysfs' | 'sim';

export interface BackendChoice {
  readonly kind: BackendKind;
  readonly pins: LedPins;
  readonly log: Logger;
  /** LED_SIM_FILE: where the simulated LEDs show their duty, if anywhere. */
  readonly simFile?: string | undefined;
}

type Opener = (pins: LedPins, log: Logger) => Promise<LedBackend>;

/** Real hardware backends, tried in this order by `auto`. Each is loaded only when asked for. */
const HARDWARE: Partial<Record<Exclude<BackendKind, 'auto' | 'sim'>, Opener>> = {};

export async function openBackend({ kind, pins, log, simFile }: BackendChoice): Promise<LedBackend> {
  if (kind === 'sim') return new SimBackend(simFile);
  if (kind !== 'auto') {
    const open = HARDWARE[kind];
    if (!open) throw new Error(`LED_BACKEND=${kind} is not available in this build`);
    return open(pins, log);
  }
  const reasons: string[] = [];
  for (const [name, open] of Object.entries(HARDWARE)) {
    try {
      return await open(pins, log);
    } catch (error) {
      reasons.push(`${name}: ${(error as Error).message}`);
    }
  }
  log.info(
    { tried: reasons },
    `LED_BACKEND=auto: no GPIO available, using simulated LEDs${reasons.length ? ` (${reasons.join('; ')})` : ''}`,
  );
  return new SimBackend(simFile);
}
