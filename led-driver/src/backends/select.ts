/**
 * Chooses the backend from LED_BACKEND. `auto` is the real GPIO this board needs: pigpio on a Raspberry Pi 1-4, the
 * kernel's PWM on the RP1 of a Pi 5. On a Raspberry Pi it never falls back to simulated LEDs, which would leave the
 * LEDs dark behind a healthy container: it stops with one line saying what was tried and what to do. Off a Pi it
 * simulates, saying so calmly. An explicit backend that cannot start stops the same way.
 */
import { atExit, type Config, ConfigError, errorMessage, type Logger, VARIABLES } from '@gravity-led/shared';
import type { LedBackend, LedPins } from './backend.js';
import { hasRp1, isRaspberryPi, readBoardModel } from './board.js';
import { loadPigpio, openPigpio, type PigpioLoader } from './pigpio.js';
import { shaped } from './shaping.js';
import { SimBackend } from './sim.js';
import { openSysfs } from './sysfs.js';

export type BackendKind = 'auto' | 'pigpio' | 'sysfs' | 'sim';
type HardwareKind = Exclude<BackendKind, 'auto' | 'sim'>;

/** Settings of the real backends; tests replace the pigpio module, the board and the sysfs tree with fakes. */
export interface HardwareOptions {
  readonly pwmFrequency: number;
  readonly pwmRange: number;
  readonly sysfsRoot: string;
  readonly pwmChip: 'auto' | number;
  readonly loadPigpio: PigpioLoader;
  /** The board's model string (LED_BOARD_MODEL_FILE), undefined when it cannot be read. */
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
  readModel: () => readBoardModel(VARIABLES.LED_BOARD_MODEL_FILE.default),
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

const HARDWARE: Record<HardwareKind, Opener> = {
  pigpio: (pins, o) => openPigpio(pins, { frequency: o.pwmFrequency, range: o.pwmRange, load: o.loadPigpio, readModel: o.readModel }),
  sysfs: (pins, o) =>
    openSysfs(pins, {
      root: o.sysfsRoot,
      chip: o.pwmChip,
      frequency: o.pwmFrequency,
      ...(o.sysfsSettleMs === undefined ? {} : { settleMs: o.sysfsSettleMs }),
    }),
};

/** The backend a Raspberry Pi's GPIO needs: the RP1 of a Pi 5 is reached through the kernel, the older ones by pigpio. */
export function backendFor(model: string): HardwareKind {
  return hasRp1(model) ? 'sysfs' : 'pigpio';
}

/**
 * What `kind` resolves to on this board, without opening anything: for the start-up line and `selftest`.
 * `board` is the model string when it names a Raspberry Pi.
 */
export function resolveKind(kind: BackendKind, model: string | undefined): { kind: 'sim' | HardwareKind; board?: string } {
  const board = isRaspberryPi(model) ? model : undefined;
  if (kind !== 'auto') return { kind, ...(board ? { board } : {}) };
  return board ? { kind: backendFor(board), board } : { kind: 'sim' };
}

export async function openBackend({ kind, pins, log, hardware, simFile }: BackendChoice): Promise<LedBackend> {
  const options = { ...DEFAULT_HARDWARE, ...hardware };
  const model = options.readModel();
  const chosen = resolveKind(kind, model);
  if (chosen.kind === 'sim') {
    if (kind === 'auto') {
      const what = model ? `this board (${model}) is not a Raspberry Pi` : 'this machine is not a Raspberry Pi';
      log.info(model ? { board: model } : {}, `LED_BACKEND=auto: ${what}, so the LEDs are simulated`);
    } else if (chosen.board) {
      log.info({ board: chosen.board }, `LED_BACKEND=sim: simulated LEDs on this ${chosen.board}, as asked`);
    }
    return new SimBackend(simFile);
  }
  try {
    return await HARDWARE[chosen.kind](pins, options);
  } catch (error) {
    const reason = errorMessage(error);
    if (kind !== 'auto') throw new ConfigError(`LED_BACKEND=${kind}: ${reason}`, { cause: error });
    throw new ConfigError(
      `LED_BACKEND=auto on a ${chosen.board}: tried ${chosen.kind}, which cannot drive the LEDs: ${reason}. ` +
        'Fix that, or set LED_BACKEND=sim to run with simulated LEDs',
      { cause: error },
    );
  }
}

/**
 * The LEDs as the configuration describes them: the backend opened (or the ConfigError saying why not), shaped by
 * LED_GAMMA and LED_DEADBAND, and the last line of defence registered at once: however the process ends from here
 * on (an error nobody caught, the shutdown deadline, a failed start), both LEDs go off and the GPIO is let go first.
 */
export async function openConfiguredLeds(
  config: Config,
  log: Logger,
  readModel = () => readBoardModel(config.LED_BOARD_MODEL_FILE),
): Promise<LedBackend> {
  const hardware = await openBackend({
    kind: config.LED_BACKEND,
    pins: { right: config.LED_RIGHT_PIN, left: config.LED_LEFT_PIN },
    log,
    hardware: {
      pwmFrequency: config.PWM_FREQUENCY,
      pwmRange: config.PWM_RANGE,
      sysfsRoot: config.LED_SYSFS_ROOT,
      pwmChip: config.LED_PWM_CHIP,
      readModel,
    },
    simFile: config.LED_SIM_FILE,
  });
  atExit(() => hardware.closeSync());
  return shaped(hardware, { gamma: config.LED_GAMMA, deadband: config.LED_DEADBAND });
}
