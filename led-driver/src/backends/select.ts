/** Chooses the backend from LED_BACKEND; `auto` tries real GPIO and falls back to the simulation, saying why. */
import { type Logger, VARIABLES } from '@gravity-led/shared';
import type { LedBackend, LedPins } from './backend.js';
import { readBoardModel } from './board.js';
import { loadPigpio, openPigpio, type PigpioLoader } from './pigpio.js';
import { SimBackend } from './sim.js';
import { openSysfs } from './sysfs.js';

export type BackendKind = 'auto' | 'pigpio' | 'sysfs' | 'sim';

/** Settings of the real backends; tests replace the pigpio module and the sysfs tree with fakes. */
export interface HardwareOptions {
  readonly pwmFrequency: number;
  readonly pwmRange: number;
  readonly sysfsRoot: string;
  readonly pwmChip: 'auto' | number;
  readonly loadPigpio: PigpioLoader;
  readonly readModel: () => string | undefined;
  /** How long the sysfs backend waits for the kernel to create or remove a channel. */
  readonly sysfsSettleMs?: number;
}

/** The configuration table's defaults, read from it (never copied), and the real pigpio module and board. */
export const DEFAULT_HARDWARE: HardwareOptions = {
  pwmFrequency: VARIABLES.PWM_FREQUENCY.default,
  pwmRange: VARIABLES.PWM_RANGE.default,
  sysfsRoot: VARIABLES.LED_SYSFS_ROOT.default,
  pwmChip: VARIABLES.LED_PWM_CHIP.default,
  loadPigpio,
  readModel: readBoardModel,
};

export interface BackendChoice {
  readonly kind: BackendKind;
  readonly pins: LedPins;
  readonly log: Logger;
  readonly hardware?: Partial<HardwareOptions>;
  /** LED_SIM_FILE: where the simulated LEDs show their duty, if anywhere. */
  readonly simFile?: string | undefined;
}

type Opener = (pins: LedPins, options: HardwareOptions) => Promise<LedBackend>;

/** Real hardware backends, tried in this order by `auto`: pigpio (Pi 1-4), then kernel PWM (Pi 5). */
const HARDWARE: Record<Exclude<BackendKind, 'auto' | 'sim'>, Opener> = {
  pigpio: (pins, o) => openPigpio(pins, { frequency: o.pwmFrequency, range: o.pwmRange, load: o.loadPigpio, readModel: o.readModel }),
  sysfs: (pins, o) =>
    openSysfs(pins, {
      root: o.sysfsRoot,
      chip: o.pwmChip,
      frequency: o.pwmFrequency,
      ...(o.sysfsSettleMs === undefined ? {} : { settleMs: o.sysfsSettleMs }),
    }),
};

export async function openBackend({ kind, pins, log, hardware, simFile }: BackendChoice): Promise<LedBackend> {
  if (kind === 'sim') return new SimBackend(simFile);
  const options = { ...DEFAULT_HARDWARE, ...hardware };
  if (kind !== 'auto') return HARDWARE[kind](pins, options);
  const reasons: string[] = [];
  for (const [name, open] of Object.entries(HARDWARE)) {
    try {
      const backend = await open(pins, options);
      if (reasons.length > 0) log.info({ tried: reasons }, `LED_BACKEND=auto: using ${name} (${reasons.join('; ')})`);
      return backend;
    } catch (error) {
      reasons.push(`${name}: ${(error as Error).message}`);
    }
  }
  log.info({ tried: reasons }, `LED_BACKEND=auto: no GPIO available, using simulated LEDs (${reasons.join('; ')})`);
  return new SimBackend(simFile);
}
