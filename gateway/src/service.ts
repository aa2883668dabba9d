/**
 * The gateway as a service, from the configuration: what `npm start -w gateway` (its container) runs, and what
 * `npm start` runs in its own process. With GATEWAY_HOSTS_BROKER it hosts the broker too (hosted-broker.ts).
 */
import {
  type Config,
  followSecrets,
  type Logger,
  lanHosts,
  phoneLinks,
  type RunningService,
  runningInContainer,
  tlsForPort,
  topicsFor,
} from '@gravity-led/shared';
import { type RunningGateway, startGateway } from './gateway.js';
import { type HostedBroker, hostBroker } from './hosted-broker.js';

export interface GatewayService extends RunningService {
  readonly gateway: RunningGateway;
}

export async function startGatewayService(config: Config, log: Logger): Promise<GatewayService> {
  const hosted: HostedBroker | undefined = config.GATEWAY_HOSTS_BROKER === 'true' ? await hostBroker(config) : undefined;
  try {
    const gateway = await openGateway(config, log, hosted);
    return {
      gateway,
      async stop() {
        // The gateway first, so that its `offline` goes out through the broker it is about to close.
        await gateway.close();
        await hosted?.stop();
      },
    };
  } catch (error) {
    await hosted?.stop();
    throw error;
  }
}

async function openGateway(config: Config, log: Logger, hosted: HostedBroker | undefined): Promise<RunningGateway> {
  const secrets = followSecrets(config);
  // Phone browsers give motion sensors only to https pages: the HTTPS port always has a certificate.
  const tls = await tlsForPort(config.GATEWAY_HTTPS_PORT, config, log);
  if (tls) {
    log.info(
      { source: tls.source, path: tls.path, validTo: tls.validTo.toISOString(), fingerprint: tls.fingerprint },
      `HTTPS certificate (${tls.source === 'files' ? 'TLS_CERT_FILE' : 'self-signed'}), SHA-256 fingerprint ${tls.fingerprint}`,
    );
  }
  let announced: string | undefined;
  let reachable: typeof config | undefined;
  const announce = (token: string) => {
    announced = token;
    if (!reachable) return;
    for (const link of phoneLinks(reachable, token, hosts.length > 0 ? hosts : ['localhost']))
      log.info({ link }, `open on the phone: ${link}`);
  };
  const hosts = lanHosts(config.PUBLIC_HOSTS);
  const mqtt = hosted ? 'in-process' : config.MQTT_URL;
  const gateway = await startGateway({
    host: config.GATEWAY_HOST,
    port: config.GATEWAY_PORT,
    httpsPort: config.GATEWAY_HTTPS_PORT,
    tls,
    auth: config.GATEWAY_AUTH,
    // Read at each check: a token replaced in secrets.json (the file deleted, another service restarted) is followed,
    // and its phone links logged as at start.
    token: () => {
      const token = secrets.gatewayToken;
      if (token !== announced) announce(token);
      return token;
    },
    maxClients: config.GATEWAY_MAX_CLIENTS,
    maxRate: config.GATEWAY_MAX_RATE,
    heartbeatMs: config.GATEWAY_HEARTBEAT_MS,
    mqttUrl: mqtt,
    hostedBroker: hosted,
    account: secrets.service,
    topics: topicsFor(config.TOPIC_PREFIX),
    log,
  });
  log.info({ port: gateway.port, httpsPort: gateway.httpsPort, mqtt }, 'gateway ready');
  // A container has no terminal for the start banner: its log is where a person finds the link to open on the phone.
  if (hosts.length === 0 && runningInContainer()) {
    log.warn(
      "in a container this machine's name and address are unknown: set PUBLIC_HOSTS to the Pi's (e.g. raspberrypi.local,192.168.1.20) so the certificate and the phone links name them",
    );
  }
  reachable = { ...config, GATEWAY_HTTPS_PORT: gateway.httpsPort };
  announce(secrets.gatewayToken);
  // Its log is JSON lines, no place for a QR code: the `link` command prints the terminal's view on demand.
  if (runningInContainer()) log.info('the QR code of this link and the MQTT account: docker compose run --rm gateway link');
  return gateway;
}
