/** A stand-in for the `pigpio` module with its API, recording every call in order, for the pigpio backend's tests. */
import type { PigpioGpio, PigpioModule } from '@gravity-led/led-driver';

export type Call = [string, ...unknown[]];

export interface FakePigpioOptions {
  /** initialize() throws this, as the C library does when it cannot start. */
  readonly initError?: string;
  /** The Gpio constructor throws for this pin. */
  readonly badPin?: number;
}

export function fakePigpio(options: FakePigpioOptions = {}): { module: PigpioModule; calls: Call[] } {
  const calls: Call[] = [];
  class Gpio implements PigpioGpio {
    static readonly OUTPUT = 1;
    static readonly INPUT = 0;
    constructor(
      readonly gpio: number,
      readonly opts: { mode: number },
    ) {
      if (gpio === options.badPin) throw new Error(`gpioSetMode: bad gpio ${gpio}`);
      calls.push(['Gpio', gpio, { ...opts }]);
    }
    pwmFrequency(frequency: number) {
      calls.push(['pwmFrequency', this.gpio, frequency]);
      return this;
    }
    pwmRange(range: number) {
      calls.push(['pwmRange', this.gpio, range]);
      return this;
    }
    pwmWrite(dutyCycle: number) {
      calls.push(['pwmWrite', this.gpio, dutyCycle]);
      return this;
    }
    digitalWrite(level: 0 | 1) {
      calls.push(['digitalWrite', this.gpio, level]);
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
      if (options.initError) throw new Error(options.initError);
    },
    terminate() {
      calls.push(['terminate']);
    },
  };
  return { module, calls };
}
