/** `npm start -w broker`: the embedded MQTT broker alone, exactly as its container runs it. */
import { readFileSync } from 'node:fs';
import { loadSecrets, runService, topicsFor } from '@gravity-led/shared';
import { startBroker } from './broker.js';

await runService('broker', async (config, log) => {
  const secrets = loadSecrets(config);
  const tls =
    config.BROKER_TLS_PORT > 0 && config.TLS_CERT_FILE && config.TLS_KEY_FILE
      ? { cert: readFileSync(config.TLS_CERT_FILE), key: readFileSync(config.TLS_KEY_FILE) }
      : undefined;
  const broker = await startBroker({
    host: config.BROKER_HOST,
    port: config.BROKER_PORT,
    wsPort: config.BROKER_WS_PORT,
    tlsPort: config.BROKER_TLS_PORT,
    tls,
    secrets,
    prefix: config.TOPIC_PREFIX,
    topics: topicsFor(config.TOPIC_PREFIX),
    discoveryPrefix: config.HA_DISCOVERY_PREFIX,
    log,
  });
  const ports = Object.fromEntries(broker.listeners.map((l) => [l.name, l.port]));
  log.info({ ports, operator: secrets.operator.username }, 'broker ready');
  return { stop: () => broker.close() };
});
