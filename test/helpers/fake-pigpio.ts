/**
 * A stand-in for the `pigpio` module with its API, recording every call in order. It models what the real module
 * does to the process, not only what it does to the pins:
 *
 * - initialize() (gpioInitialise in the C library) takes every signal away from whatever handled it before. pigpio.c,
 *   as read in Debian's pigpio_1.78.orig.tar.gz: initInitialise() calls sigSetHandler() (lines 8324-8325), a
 *   sigaction() with sigHandler for every signal PI_MIN_SIGNUM..PI_MAX_SIGNUM, 0..63 (lines 5646-5660), unless
 *   PI_CFG_NOSIGHANDLER is set (pigpio.h:908), which only gpioCfgSetInternals sets, and the npm module does not bind
 *   it (its src/pigpio.cc exports gpioCfgInterfaces, gpioCfgClock and gpioCfgSocketPort). sigHandler's default case,
 *   for every signal but SIGUSR1/2, SIGPIPE, SIGWINCH and SIGCHLD (lines 5586-5640), is
 *   `DBG(DBG_ALWAYS, "Unhandled signal %d, terminating\n"); gpioTerminate(); exit(-1);`: exit code 255, and JavaScript
 *   never hears of the signal. Reported as fivdi/pigpio#10 ("Library ignores any nodejs signal handlers that were
 *   attached before it has initialized"), fivdi/pigpio#127 ("sigHandler: Unhandled signal 2, terminating") and
 *   joan2937/pigpio#449; the gentler handling of joan2937/pigpio PR #532 (handlers set before are left alone) came
 *   after v79, the release led-driver/Dockerfile builds. gpioTerminate() does not restore the old handlers
 *   (joan2937/pigpio#341).
 * - Node hands a signal to libuv (which calls sigaction again) only when it gets its first listener, and takes it
 *   back when the last one goes; adding a second listener changes nothing at the OS level. The model follows that:
 *   after initialize(), a signal reaches JavaScript only once its listeners have all been removed and added again.
 * - terminate() stops the library; a pin driven by PWM keeps whatever level it last had (DMA stopped mid-cycle), so
 *   only digitalWrite(0) before it makes a pin dark for sure.
 *
 * In a test process it is used directly; in a real led-driver process it is loaded in place of `pigpio` by the loader
 * hook in fake-pigpio-hooks.ts and keeps the pins' state in a file for the test to read (as a person looks at LEDs).
 */
import { existsSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import type { PigpioGpio, PigpioModule } from '@gravity-led/led-driver';

export type Call = [string, ...unknown[]];

export interface FakePigpioOptions {
  /** initialize() throws this, as the C library does when it cannot start (after taking the signals). */
  readonly initError?: string;
  /** The Gpio constructor throws for this pin. */
  readonly badPin?: number;
  /** Keep the pins' state here (JSON, replaced in one step after every change). */
  readonly stateFile?: string;
  /**
   * Fault injection through the hardware: a pwmWrite of exactly `steps` makes the library throw from a callback of its
   * own (an uncaught exception) or reject a promise nobody awaits (an unhandled rejection), as a native module can.
   */
  readonly faults?: readonly { readonly steps: number; readonly kind: 'exception' | 'rejection' }[];
}

export interface PinState {
  mode?: number;
  /** Last PWM duty in steps, 0 when driven low. */
  pwm: number;
  /** The highest PWM duty the pin has had since the library was loaded. */
  peak: number;
  /** Every PWM duty written to it, in order. */
  writes: number[];
  /** Last digital level written. */
  level?: 0 | 1;
  frequency?: number;
  range?: number;
}

/** What the fake hardware looks like now: what a person would see, and how the library was left. */
export interface FakePigpioState {
  pid: number;
  initialized: boolean;
  terminated: number;
  pins: Record<string, PinState>;
  /** Set when the library's own signal handler ended the process. */
  killedBy?: string;
}

/** A pin is lit while its PWM duty or its digital level is above 0. */
export function lit(pin: PinState | undefined): boolean {
  return pin !== undefined && (pin.pwm > 0 || pin.level === 1);
}

/**
 * The environment that makes a led-driver process load this fake for `pigpio` (a loader hook preloaded with
 * NODE_OPTIONS, nothing in the led-driver itself), keeping the pins in `stateFile`; `fault` as FAKE_PIGPIO_FAULT.
 */
export function pigpioEnv(stateFile: string, fault?: string): Record<string, string> {
  return { ...pigpioLoaderEnv(), FAKE_PIGPIO_STATE: stateFile, ...(fault ? { FAKE_PIGPIO_FAULT: fault } : {}) };
}

/** The environment that makes a led-driver process find no `pigpio` package at all, as in an image built without it. */
export function pigpioAbsentEnv(): Record<string, string> {
  return { ...pigpioLoaderEnv(), FAKE_PIGPIO_ABSENT: '1' };
}

function pigpioLoaderEnv(): Record<string, string> {
  const preload = new URL('./fake-pigpio-register.js', import.meta.url).href;
  return { NODE_OPTIONS: `--import=${preload}` };
}

/** The fake hardware's state as a led-driver process left it, or undefined before the process loaded pigpio. */
export function readPigpioState(stateFile: string): FakePigpioState | undefined {
  return existsSync(stateFile) ? (JSON.parse(readFileSync(stateFile, 'utf8')) as FakePigpioState) : undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// The C library's signal handlers, once per process.

/** Every signal whose default in sigHandler is `gpioTerminate(); exit(-1)` and that Node lets JavaScript listen to. */
const TAKEN_SIGNALS = ['SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGTERM'] as const;
type Taken = (typeof TAKEN_SIGNALS)[number];
type Owner = 'pigpio' | 'node' | 'default';

const owner = new Map<Taken, Owner>();
const handlers = new Map<Taken, NodeJS.SignalsListener>();
let onSignal: ((signal: Taken) => void) | undefined;
let hooked = false;

function isTaken(event: string | symbol): event is Taken {
  return (TAKEN_SIGNALS as readonly (string | symbol)[]).includes(event);
}

/** Listeners of the process other than the model's own: what Node counts to decide whether libuv holds the signal. */
function others(signal: Taken): number {
  return process.rawListeners(signal).filter((l) => l !== handlers.get(signal)).length;
}

/** The C handler's stand-in. It must stay first in line while pigpio holds the signal, as the OS-level handler is. */
function ensureHandler(signal: Taken): void {
  let handler = handlers.get(signal);
  if (!handler) {
    handler = () => {
      const who = owner.get(signal);
      if (who === 'pigpio') {
        onSignal?.(signal);
      } else if (who === 'default') {
        // Nobody holds it: the default action, death by the signal itself.
        process.removeListener(signal, handler as NodeJS.SignalsListener);
        process.kill(process.pid, signal);
      }
    };
    handlers.set(signal, handler);
  }
  if (!process.rawListeners(signal).includes(handler)) process.prependListener(signal, handler);
}

function hookListenerChanges(): void {
  if (hooked) return;
  hooked = true;
  process.on('newListener', (event: string | symbol, listener: unknown) => {
    // A first listener: Node starts a signal watcher, libuv calls sigaction() and holds the signal from then on.
    if (isTaken(event) && listener !== handlers.get(event) && others(event) === 0) owner.set(event, 'node');
  });
  process.on('removeListener', (event: string | symbol, listener: unknown) => {
    if (!isTaken(event)) return;
    if (listener === handlers.get(event)) {
      // JavaScript cannot remove a C handler: while pigpio holds the signal, its stand-in comes back.
      queueMicrotask(() => {
        if (owner.get(event) === 'pigpio') ensureHandler(event);
      });
    } else if (others(event) === 0) {
      // The last listener gone: Node stops its watcher and libuv puts SIG_DFL back, over whoever held the signal.
      owner.set(event, 'default');
    }
  });
}

function takeSignals(handler: (signal: Taken) => void): void {
  hookListenerChanges();
  onSignal = handler;
  for (const signal of TAKEN_SIGNALS) {
    ensureHandler(signal);
    owner.set(signal, 'pigpio');
  }
}

const SIGNAL_NUMBERS: Record<Taken, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGTERM: 15 };

// ---------------------------------------------------------------------------------------------------------------

export function fakePigpio(options: FakePigpioOptions = {}): { module: PigpioModule; calls: Call[]; state: FakePigpioState } {
  const calls: Call[] = [];
  const state: FakePigpioState = { pid: process.pid, initialized: false, terminated: 0, pins: {} };
  const save = () => {
    if (!options.stateFile) return;
    const aside = `${options.stateFile}.${process.pid}.tmp`;
    writeFileSync(aside, JSON.stringify(state));
    renameSync(aside, options.stateFile);
  };
  const pin = (gpio: number): PinState => {
    state.pins[gpio] ??= { pwm: 0, peak: 0, writes: [] };
    return state.pins[gpio];
  };
  const terminate = () => {
    calls.push(['terminate']);
    state.initialized = false;
    state.terminated++;
    save();
  };
  const inject = (steps: number) => {
    const fault = options.faults?.find((f) => f.steps === steps);
    if (!fault) return;
    const error = new Error(`fake pigpio: injected fault at pwmWrite(${steps})`);
    if (fault.kind === 'exception') {
      setImmediate(() => {
        throw error;
      });
    } else {
      void Promise.reject(error);
    }
  };
  class Gpio implements PigpioGpio {
    static readonly OUTPUT = 1;
    static readonly INPUT = 0;
    constructor(
      readonly gpio: number,
      readonly opts: { mode: number },
    ) {
      if (gpio === options.badPin) throw new Error(`gpioSetMode: bad gpio ${gpio}`);
      calls.push(['Gpio', gpio, { ...opts }]);
      pin(gpio).mode = opts.mode;
      save();
    }
    pwmFrequency(frequency: number) {
      calls.push(['pwmFrequency', this.gpio, frequency]);
      pin(this.gpio).frequency = frequency;
      save();
      return this;
    }
    pwmRange(range: number) {
      calls.push(['pwmRange', this.gpio, range]);
      pin(this.gpio).range = range;
      save();
      return this;
    }
    pwmWrite(dutyCycle: number) {
      calls.push(['pwmWrite', this.gpio, dutyCycle]);
      const p = pin(this.gpio);
      p.pwm = dutyCycle;
      p.peak = Math.max(p.peak, dutyCycle);
      p.writes.push(dutyCycle);
      save();
      inject(dutyCycle);
      return this;
    }
    digitalWrite(level: 0 | 1) {
      calls.push(['digitalWrite', this.gpio, level]);
      // gpioWrite() also switches PWM off on that pin.
      Object.assign(pin(this.gpio), { pwm: 0, level });
      save();
      return this;
    }
  }
  const module: PigpioModule = {
    Gpio,
    DISABLE_FIFO_IF: 1,
    DISABLE_SOCK_IF: 2,
    DISABLE_ALERT: 8,
    configureInterfaces(flags: number) {
      calls.push(['configureInterfaces', flags]);
      return 0;
    },
    initialize() {
      calls.push(['initialize']);
      // initInitialise(): the handlers go in first, before the peripherals are mapped, so even a failed start has them.
      takeSignals((signal) => {
        writeSync(2, `sigHandler: Unhandled signal ${SIGNAL_NUMBERS[signal]}, terminating\n`);
        state.killedBy = signal;
        terminate();
        // exit(-1) from C: no JavaScript runs after it, no 'exit' listener either.
        (process as unknown as { reallyExit(code: number): never }).reallyExit(255);
      });
      if (options.initError) throw new Error(options.initError);
      state.initialized = true;
      save();
    },
    terminate,
  };
  save();
  return { module, calls, state };
}
