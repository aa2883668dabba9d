/** Preloaded into a led-driver process (--import, see pigpioEnv in fake-pigpio.ts): resolves `pigpio` to the fake. */
import { register } from 'node:module';

register('./fake-pigpio-hooks.js', import.meta.url);
