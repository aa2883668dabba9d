/**
 * A module resolution hook (node:module register) that answers `import('pigpio')` with the fake: how a test runs
 * the real led-driver process against fake GPIO without a line of test code in the led-driver. Loaded with
 * `NODE_OPTIONS=--import=<fake-pigpio-register.js>`; see pigpioEnv() in fake-pigpio-register.ts.
 */
const FAKE = new URL('./fake-pigpio-module.js', import.meta.url).href;

type Resolve = (specifier: string, context: unknown) => Promise<{ url: string; shortCircuit?: boolean }>;

export async function resolve(specifier: string, context: unknown, next: Resolve): Promise<{ url: string; shortCircuit?: boolean }> {
  if (specifier === 'pigpio') return { url: FAKE, shortCircuit: true };
  return next(specifier, context);
}
