/** `npm start -w led-driver`: the LED driver alone, exactly as its (privileged) container runs it. */
import { loadSecrets, runService, topicsFor } from '@gravity-led/shared';
import { openBackend } from './backends/select.js';
import { shaped } from './backends/shaping.js';
import { startLedDriver } from './led-driver.js';

await runService('led-driver', async (config, log) => {
  const secrets = loadSecrets(config);
  const hardware = await openBackend({
    kind: config.LED_BACKEND,
    pins: { right: config.LED_RIGHT_PIN, left: config.LED_LEFT_PIN },
    log,
    hardware: {
      pwmFrequency: config.PWM_FREQUENCY,
      pwmRange: config.PWM_RANGE,
      sysfsRoot: config.LED_SYSFS_ROOT,
      pwmChip: config.LED_PWM_CHIP,
    },
  });
  const backend = shaped(hardware, { gamma: config.LED_GAMMA, deadband: config.LED_DEADBAND });
  const driver = startLedDriver({
    backend,
    mqttUrl: config.MQTT_URL,
    account: secrets.service,
    topics: topicsFor(config.TOPIC_PREFIX),
    failsafeTimeoutMs: config.FAILSAFE_TIMEOUT_MS,
    log,
  });
  log.info(
    {
      backend: backend.name,
      right: config.LED_RIGHT_PIN,
      left: config.LED_LEFT_PIN,
      failsafeMs: config.FAILSAFE_TIMEOUT_MS,
      gamma: config.LED_GAMMA,
      deadband: config.LED_DEADBAND,
    },
    'led-driver ready',
  );
  return { stop: () => driver.close() };
});
