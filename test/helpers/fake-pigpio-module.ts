/**
 * What `import('pigpio')` gives a led-driver process started with the loader hook (fake-pigpio-hooks.ts): the fake of
 * fake-pigpio.ts, its pins kept in FAKE_PIGPIO_STATE, faults injected with FAKE_PIGPIO_FAULT=exception@770,rejection@660:
 * the pwmWrite step counts that trigger them.
 */
import { fakePigpio } from './fake-pigpio.js';

const faults = (process.env.FAKE_PIGPIO_FAULT ?? '')
  .split(',')
  .map((f) => f.split('@'))
  .flatMap(([kind, steps]) => (kind === 'exception' || kind === 'rejection' ? [{ kind, steps: Number(steps) } as const] : []));
const fake = fakePigpio({
  ...(process.env.FAKE_PIGPIO_STATE ? { stateFile: process.env.FAKE_PIGPIO_STATE } : {}),
  faults,
});

export default fake.module;
