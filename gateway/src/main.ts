/** `npm start -w gateway`: the WebSocket gateway alone, exactly as its container runs it. */
import { readFileSync } from 'node:fs';
import { loadSecrets, runService, topicsFor } from '@gravity-led/shared';
import { startGateway } from './gateway.js';

await runService('gateway', async (config, log) => {
  const secrets = loadSecrets(config);
  const tls =
    config.TLS_CERT_FILE && config.TLS_KEY_FILE
      ? { cert: readFileSync(config.TLS_CERT_FILE), key: readFileSync(config.TLS_KEY_FILE) }
      : undefined;
  const gateway = await startGateway({
    host: config.GATEWAY_HOST,
    port: config.GATEWAY_PORT,
    httpsPort: config.GATEWAY_HTTPS_PORT,
    tls,
    auth: config.GATEWAY_AUTH,
    token: secrets.gatewayToken,
    maxClients: config.GATEWAY_MAX_CLIENTS,
    maxRate: config.GATEWAY_MAX_RATE,
    mqttUrl: config.MQTT_URL,
    account: secrets.service,
    topics: topicsFor(config.TOPIC_PREFIX),
    log,
  });
  log.info({ port: gateway.port, httpsPort: gateway.httpsPort, mqtt: config.MQTT_URL }, 'gateway ready');
  return { stop: () => gateway.close() };
});
