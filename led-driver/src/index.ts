export { dutySteps, type LedBackend, type LedPins } from './backends/backend.js';
export { hasRp1, isRaspberryPi, readBoardModel } from './backends/board.js';
export {
  loadPigpio,
  openPigpio,
  PigpioBackend,
  type PigpioGpio,
  type PigpioLoader,
  type PigpioModule,
  type PigpioOptions,
} from './backends/pigpio.js';
export {
  type BackendKind,
  backendFor,
  DEFAULT_HARDWARE,
  type HardwareOptions,
  openBackend,
  openConfiguredLeds,
  resolveKind,
} from './backends/select.js';
export { isLinear, type Shape, ShapedBackend, shapeDuty, shaped } from './backends/shaping.js';
export { SimBackend } from './backends/sim.js';
export {
  findOutputs,
  listPwmChips,
  openSysfs,
  PI5_OVERLAY,
  type PwmChip,
  type PwmOutput,
  pwmPioOverlay,
  RP1_PWM_CHANNELS,
  SysfsBackend,
  type SysfsOptions,
} from './backends/sysfs.js';
export { DriverMetrics } from './driver-metrics.js';
export { GatewayPresence, type OccupancyChange } from './gateway-presence.js';
export { discoveryMessages, HaDiscovery, nodeId } from './ha-discovery.js';
export { LatestValueInput } from './latest-value-input.js';
export { type LedDriverOptions, type RunningLedDriver, SUMMARY_INTERVAL_MS, startLedDriver } from './led-driver.js';
export { LedOutput } from './led-output.js';
export { clampDuty, dutyFromGravity, roundDuty, sameDuty } from './led-rule.js';
export { type LedCommand, ManualControl, parseLedCommand, parseManualSet, type Refuse, type TopicHandler } from './manual-control.js';
export { type SelftestIo, selftest } from './selftest.js';
export { rehearsalGravity, type WarmUpOptions, type WarmUpResult, warmUp } from './warm-up.js';
export { Watchdog } from './watchdog.js';
