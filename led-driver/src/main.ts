/**
 * `npm start -w led-driver`: the LED driver alone, exactly as its (privileged) container runs it.
 * `node dist/main.js selftest` (`npm run selftest -w led-driver`): fades each LED once and exits; see selftest.ts.
 */
import { errorMessage, followSecrets, type HealthServer, runService, startHealthServer, topicsFor } from '@gravity-led/shared';
import { openConfiguredLeds } from './backends/select.js';
import { DriverMetrics } from './driver-metrics.js';
import { startLedDriver } from './led-driver.js';
import { selftest } from './selftest.js';
import { warmUp } from './warm-up.js';

const command = process.argv[2];
if (command === 'selftest') process.exit(await selftest());
if (command !== undefined) {
  process.stderr.write(`led-driver: unknown command ${JSON.stringify(command)} (the one command is selftest; none runs the driver)\n`);
  process.exit(2);
}

await runService('led-driver', async (config, log, control) => {
  const secrets = followSecrets(config);
  // The real LEDs first, off: nothing else may hold the pins meanwhile, and they stay off through the warm-up.
  const backend = await openConfiguredLeds(config, log);
  const topics = topicsFor(config.TOPIC_PREFIX);
  if (config.WARMUP_FRAMES > 0) {
    // A private driver on private simulated LEDs, driven by a scripted gateway, so that the first phone meets compiled
    // code (warm-up.ts). It is given neither `backend` nor the broker; a stop signal cuts it short.
    const { frames, ms } = await warmUp({
      frames: config.WARMUP_FRAMES,
      topics,
      shape: { gamma: config.LED_GAMMA, deadband: config.LED_DEADBAND },
      failsafeTimeoutMs: config.FAILSAFE_TIMEOUT_MS,
      log,
      signal: control.stopping,
    });
    log.info({ frames, ms }, `warmed up: ${frames} frames in ${ms} ms`);
  }
  const metrics = new DriverMetrics();
  const driver = startLedDriver({
    backend,
    mqttUrl: config.MQTT_URL,
    account: secrets.service,
    topics,
    failsafeTimeoutMs: config.FAILSAFE_TIMEOUT_MS,
    log,
    haDiscovery: { enabled: config.HA_DISCOVERY === 'true', prefix: config.HA_DISCOVERY_PREFIX, topicPrefix: config.TOPIC_PREFIX },
    onState: (state) => metrics.state(state),
  });
  metrics.driver = driver;
  let stopping = false;
  let metricsServer: HealthServer | undefined;
  if (config.METRICS_PORT > 0) {
    try {
      // Ready: connected to the broker with the LED output open.
      metricsServer = await startHealthServer(
        config.METRICS_PORT,
        config.METRICS_HOST,
        { ready: () => driver.client.connected && !stopping, metrics: () => metrics.registry.render() },
        log,
      );
      metrics.http = metricsServer;
    } catch (error) {
      // Observability must never cost control of the LEDs: the driver runs on without its metrics port.
      log.error(
        { err: errorMessage(error), port: config.METRICS_PORT },
        'metrics port unavailable: /metrics, /healthz and /readyz are off',
      );
    }
  }
  log.info(
    {
      backend: backend.name,
      ...(backend.detail ? { detail: backend.detail } : {}),
      right: config.LED_RIGHT_PIN,
      left: config.LED_LEFT_PIN,
      failsafeMs: config.FAILSAFE_TIMEOUT_MS,
      gamma: config.LED_GAMMA,
      deadband: config.LED_DEADBAND,
      metricsPort: metricsServer?.port ?? 0,
    },
    'led-driver ready',
  );
  return {
    async stop() {
      stopping = true;
      await driver.close();
      await metricsServer?.close();
    },
  };
});
