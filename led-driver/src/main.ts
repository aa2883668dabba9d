/** `npm start -w led-driver`: the LED driver alone, exactly as its (privileged) container runs it. */
import { loadSecrets, runService, topicsFor } from '@gravity-led/shared';
import { openBackend } from './backends/select.js';
import { startLedDriver } from './led-driver.js';

await runService('led-driver', async (config, log) => {
  const secrets = loadSecrets(config);
  const backend = await openBackend({
    kind: config.LED_BACKEND,
    pins: { right: config.LED_RIGHT_PIN, left: config.LED_LEFT_PIN },
    log,
    simFile: config.LED_SIM_FILE,
  });
  const driver = startLedDriver({
    backend,
    mqttUrl: config.MQTT_URL,
    account: secrets.service,
    topics: topicsFor(config.TOPIC_PREFIX),
    failsafeTimeoutMs: config.FAILSAFE_TIMEOUT_MS,
    log,
  });
  log.info(
    { backend: backend.name, right: config.LED_RIGHT_PIN, left: config.LED_LEFT_PIN, failsafeMs: config.FAILSAFE_TIMEOUT_MS },
    'led-driver ready',
  );
  return { stop: () => driver.close() };
});
