export type { LedBackend, LedPins } from './backends/backend.js';
export { type BackendKind, openBackend } from './backends/select.js';
export { SimBackend } from './backends/sim.js';
export { type LedDriverOptions, type RunningLedDriver, startLedDriver } from './led-driver.js';
export { LedOutput } from './led-output.js';
export { RejectionLog } from './rejection-log.js';
export { Watchdog } from './watchdog.js';
