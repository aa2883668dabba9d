/**
 * Real GPIO through the pigpio C library (Raspberry Pi 1 to 4, Zero): DMA-timed PWM on any BCM pin.
 * `pigpio` is an optional dependency, imported only when this backend is asked for, so `npm install` works anywhere.
 */
import { type Duty, errorMessage, reclaimSignals } from '@gravity-led/shared';
import { dutySteps, type LedBackend, type LedPins } from './backend.js';
import { hasRp1 } from './board.js';

/** The part of pigpio's Gpio class we use. */
export interface PigpioGpio {
  pwmFrequency(frequency: number): unknown;
  pwmRange(range: number): unknown;
  pwmWrite(dutyCycle: number): unknown;
  digitalWrite(level: 0 | 1): unknown;
}

/** The part of the `pigpio` module we use; tests hand in a fake with the same shape. */
export interface PigpioModule {
  readonly Gpio: { new (gpio: number, options: { mode: number }): PigpioGpio; readonly OUTPUT: number };
  initialize(): void;
  terminate(): void;
  configureInterfaces?(flags: number): unknown;
  readonly DISABLE_FIFO_IF?: number;
  readonly DISABLE_SOCK_IF?: number;
  readonly DISABLE_ALERT?: number;
}

export type PigpioLoader = () => Promise<PigpioModule>;

export interface PigpioOptions {
  /** Hz; pigpio uses the nearest frequency its sample rate allows. */
  readonly frequency: number;
  /** Steps from off to fully on (25..40000). */
  readonly range: number;
  readonly load: PigpioLoader;
  /** The board's model string, or undefined when it cannot be read. */
  readonly readModel: () => string | undefined;
}

/**
 * Why `import('pigpio')` found no package, and what to do. In our image it means the image was built without pigpio
 * (the Dockerfile records its WITH_PIGPIO build argument as IMAGE_WITH_PIGPIO, and `npm ci --omit=optional` left the
 * module out), which only a rebuild mends; anywhere else, npm.
 */
export function notInstalled(env: Readonly<Record<string, string | undefined>> = process.env): string {
  if (env.IMAGE_WITH_PIGPIO === 'false')
    return 'the pigpio package is not in this image: it was built with WITH_PIGPIO=false. Rebuild the image with --build-arg WITH_PIGPIO=true (docker compose: set WITH_PIGPIO=true in .env, or remove that line, then docker compose build && docker compose up -d)';
  return 'the pigpio package is not installed (an optional dependency: on the Pi, install the pigpio C library, then npm install pigpio)';
}

/**
 * Imports the real module. Off a Pi (or without the C library) pigpio still installs, as an empty native module,
 * and says so with a 30-line banner on import: we catch the banner and turn it into one line of reason.
 */
export const loadPigpio: PigpioLoader = async () => {
  const specifier = 'pigpio'; // a variable, so the compiler does not require pigpio's types where it is not installed
  const banner: string[] = [];
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    banner.push(args.map(String).join(' '));
  };
  let imported: { default?: PigpioModule } & Partial<PigpioModule>;
  try {
    imported = (await import(specifier)) as typeof imported;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') throw new Error(notInstalled());
    throw new Error(`the pigpio package failed to load: ${errorMessage(error).split('\n')[0]}`);
  } finally {
    console.warn = warn;
  }
  if (banner.some((line) => line.includes("can't be loaded"))) {
    const cause = banner.find((line) => line.startsWith('Error:'))?.split('\n')[0] ?? 'unknown error';
    throw new Error(
      `pigpio's native module did not load (${cause.replace(/: '.*'\.?$/, '')}): it was built without the pigpio C library (the led-driver image builds both; without Docker: sudo apt install pigpio, then npm rebuild pigpio)`,
    );
  }
  return (imported.default ?? imported) as PigpioModule;
};

export class PigpioBackend implements LedBackend {
  readonly name = 'pigpio';
  private closed = false;

  constructor(
    private readonly pigpio: PigpioModule,
    private readonly right: PigpioGpio,
    private readonly left: PigpioGpio,
    private readonly range: number,
  ) {}

  write(duty: Duty): void {
    if (this.closed) throw new Error('pigpio backend is closed');
    this.right.pwmWrite(dutySteps(duty.right, this.range));
    this.left.pwmWrite(dutySteps(duty.left, this.range));
  }

  async close(): Promise<void> {
    this.closeSync();
  }

  /** Both pins driven low (which also stops their PWM), then the library released: in that order, once. */
  closeSync(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.right.digitalWrite(0);
      this.left.digitalWrite(0);
    } finally {
      this.pigpio.terminate();
    }
  }
}

export async function openPigpio(pins: LedPins, options: PigpioOptions): Promise<PigpioBackend> {
  const model = options.readModel();
  if (model && hasRp1(model)) {
    throw new Error(`pigpio does not support the ${model} (its GPIO sit on the RP1 chip): use LED_BACKEND=sysfs`);
  }
  const pigpio = await options.load();
  // No pigpiod-style socket (port 8888) or pipe interface, and no alert sampling: we only drive two outputs.
  if (pigpio.configureInterfaces) {
    pigpio.configureInterfaces((pigpio.DISABLE_FIFO_IF ?? 1) | (pigpio.DISABLE_SOCK_IF ?? 2) | (pigpio.DISABLE_ALERT ?? 0));
  }
  try {
    pigpio.initialize();
  } catch (error) {
    throw new Error(
      `pigpio could not initialise (${errorMessage(error)}): it needs root with /dev/mem (a privileged container), and no pigpiod running on the host`,
    );
  } finally {
    // gpioInitialise() installs the C library's handler for every signal (pigpio.c: initInitialise calls
    // sigSetHandler before it maps the peripherals, so even a failed start leaves it there), and that handler ends in
    // `gpioTerminate(); exit(-1)`: exit code 255, no `shutdown` state, no `offline`, a lit pin left lit. The C library
    // can be told not to (PI_CFG_NOSIGHANDLER through gpioCfgSetInternals), but the npm module does not expose that
    // call (its src/pigpio.cc binds gpioCfgInterfaces, gpioCfgClock and gpioCfgSocketPort only); its documented
    // remedy is to register Node's handlers after initialize() (doc/configuration.md, "initialize()"). Ours were
    // registered at start-up, before any backend, so they are registered again now.
    reclaimSignals();
  }
  try {
    const open = (pin: number) => {
      const gpio = new pigpio.Gpio(pin, { mode: pigpio.Gpio.OUTPUT });
      gpio.pwmFrequency(options.frequency);
      gpio.pwmRange(options.range);
      gpio.pwmWrite(0);
      return gpio;
    };
    const right = open(pins.right);
    const left = open(pins.left);
    return new PigpioBackend(pigpio, right, left, options.range);
  } catch (error) {
    pigpio.terminate();
    throw new Error(`pigpio could not set up GPIO ${pins.right} and ${pins.left}: ${errorMessage(error)}`);
  }
}
