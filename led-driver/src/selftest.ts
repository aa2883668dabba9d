/**
 * `selftest`: the first thing to run on a freshly wired Pi (`npm run selftest -w led-driver`,
 * `docker compose run --rm led-driver selftest`). No broker, no phone: it says which board it found, which backend
 * and pins it would use, fades each LED up and down once, turns both off and releases the GPIO, and exits 0; or it
 * says exactly what is missing (the same line the service would stop with) and exits 2. The LEDs go off on every way
 * out, Ctrl+C included.
 */
import { type Config, ConfigError, createLogger, type Duty, errorMessage, loadConfig, OFF, STOP_SIGNALS } from '@gravity-led/shared';
import type { LedBackend } from './backends/backend.js';
import { isRaspberryPi, readBoardModel } from './backends/board.js';
import { openConfiguredLeds, resolveKind } from './backends/select.js';

/** Steps of each fade, and the time each is held: one LED up and down takes about 1.2 s. */
const FADE_STEPS = 20;
const STEP_MS = 30;

export interface SelftestIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly print: (line: string) => void;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function describeBoard(config: Config, model: string | undefined): string {
  if (isRaspberryPi(model)) return model;
  if (model) return `${model} (not a Raspberry Pi)`;
  return `not a Raspberry Pi (no model in ${config.LED_BOARD_MODEL_FILE} or /proc/cpuinfo)`;
}

/** Runs the selftest; resolves with the exit code. */
export async function selftest(
  { env, print }: SelftestIo = { env: process.env, print: (l) => process.stdout.write(`${l}\n`) },
): Promise<number> {
  let config: Config;
  try {
    config = loadConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    print(`missing: ${error.message}`);
    return 2;
  }
  const model = readBoardModel(config.LED_BOARD_MODEL_FILE);
  const chosen = resolveKind(config.LED_BACKEND, model);
  const pins = { right: config.LED_RIGHT_PIN, left: config.LED_LEFT_PIN };
  print(`board:   ${describeBoard(config, model)}`);
  print(`backend: ${chosen.kind} (LED_BACKEND=${config.LED_BACKEND})`);
  print(`pins:    green LED_RIGHT_PIN=${pins.right} (GPIO ${pins.right}), red LED_LEFT_PIN=${pins.left} (GPIO ${pins.left})`);

  // Ctrl+C or docker stop in the middle of a fade: both off, then out. Registered before the backend opens, so that
  // the pigpio backend gives them back after the C library's initialisation has taken every signal (reclaimSignals).
  let backend: LedBackend | undefined;
  const interrupted = (signal: string) => {
    backend?.closeSync();
    print(`interrupted by ${signal}: both LEDs off`);
    process.exit(1);
  };
  for (const signal of STOP_SIGNALS) process.on(signal, interrupted);
  const log = createLogger('selftest', { LOG_LEVEL: config.LOG_LEVEL === 'silent' ? 'silent' : 'info', LOG_FORMAT: 'pretty' });
  try {
    backend = await openConfiguredLeds(config, log, () => model);
  } catch (error) {
    print(`missing: ${errorMessage(error)}`);
    return error instanceof ConfigError ? 2 : 1;
  }
  if (backend.detail) print(`using:   ${backend.detail}`);
  try {
    for (const [led, pin, duty] of [
      ['green', pins.right, (d: number): Duty => ({ left: 0, right: d })],
      ['red', pins.left, (d: number): Duty => ({ left: d, right: 0 })],
    ] as const) {
      for (let i = 0; i <= 2 * FADE_STEPS; i++) {
        backend.write(duty((100 * (FADE_STEPS - Math.abs(FADE_STEPS - i))) / FADE_STEPS));
        await sleep(STEP_MS);
      }
      print(`${led} (GPIO ${pin}): faded up and down`);
    }
    backend.write(OFF);
    await backend.close();
  } catch (error) {
    backend.closeSync();
    print(`failed: ${errorMessage(error)} (both LEDs off)`);
    return 1;
  }
  print(
    chosen.kind === 'sim'
      ? 'both LEDs off: selftest passed, on simulated LEDs (nothing physical was tested)'
      : 'both LEDs off, GPIO released: selftest passed',
  );
  return 0;
}
