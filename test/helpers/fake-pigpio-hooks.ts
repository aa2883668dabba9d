/**
 * A module resolution hook (node:module register) that answers `import('pigpio')` with the fake: how a test runs
 * the real led-driver process against fake GPIO without a line of test code in the led-driver. Loaded with
 * `NODE_OPTIONS=--import=<fake-pigpio-register.js>`; see pigpioEnv() in fake-pigpio-register.ts. With
 * FAKE_PIGPIO_ABSENT=1 it answers as Node does when the package is not installed at all.
 */
const FAKE = new URL('./fake-pigpio-module.js', import.meta.url).href;

type Resolve = (specifier: string, context: unknown) => Promise<{ url: string; shortCircuit?: boolean }>;

export async function resolve(specifier: string, context: unknown, next: Resolve): Promise<{ url: string; shortCircuit?: boolean }> {
  if (specifier === 'pigpio' && process.env.FAKE_PIGPIO_ABSENT === '1') {
    // What Node's ESM resolver throws for a package that is not in node_modules (an image built with
    // `npm ci --omit=optional`): "Cannot find package 'x' imported from ...", code ERR_MODULE_NOT_FOUND (Node's
    // errors documentation: "A module file could not be resolved by the ECMAScript modules loader").
    throw Object.assign(new Error(`Cannot find package 'pigpio' imported from ${import.meta.url}`), { code: 'ERR_MODULE_NOT_FOUND' });
  }
  if (specifier === 'pigpio') return { url: FAKE, shortCircuit: true };
  return next(specifier, context);
}
