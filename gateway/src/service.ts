/**
 * The gateway as a service, from the configuration: what `npm start -w gateway` (its container) runs, and what
 * `npm start` runs in its own process. With GATEWAY_HOSTS_BROKER it hosts the broker too (hosted-broker.ts).
 */
import {
  type Config,
  errorMessage,
  followSecrets,
  type Logger,
  lanHosts,
  phoneLinks,
  type RunningService,
  runningInContainer,
  type ServiceControl,
  tlsForPort,
  topicsFor,
  WARMUP_DEADLINE_MS,
} from '@gravity-led/shared';
import { type RunningGateway, startGateway } from './gateway.js';
import { type HostedBroker, hostBroker } from './hosted-broker.js';
import { warmUp } from './warm-up.js';
import { warmUpStandalone } from './warm-up-standalone.js';

export interface GatewayService extends RunningService {
  readonly gateway: RunningGateway;
}

export interface GatewayServiceOptions {
  /**
   * Told once the hosted broker listens, before the warm-up: `npm start` starts the led-driver then, so that it
   * connects (and warms up) while the gateway does; through `socket`, the broker's Unix socket, when it has one.
   */
  readonly onBrokerHosted?: (broker: { readonly socket?: string }) => void;
}

export async function startGatewayService(
  config: Config,
  log: Logger,
  control?: Pick<ServiceControl, 'stopping'>,
  options: GatewayServiceOptions = {},
): Promise<GatewayService> {
  const hosted: HostedBroker | undefined = config.GATEWAY_HOSTS_BROKER === 'true' ? await hostBroker(config) : undefined;
  try {
    // The broker first, so that the led-driver can connect meanwhile; the real gateway's ports only after the warm-up.
    if (hosted) options.onBrokerHosted?.({ socket: hosted.socket });
    await warmUpGateway(config, log, hosted, control?.stopping);
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

/**
 * The warm-up: WARMUP_FRAMES frames through a private copy of this process's hot path, before the real gateway is
 * ready (and, the broker being another process's, before it connects to it). Hosting the broker, that path is all in
 * this process (warm-up.ts); else it goes over MQTT to the broker's process, rehearsed against a scripted peer that
 * plays the broker and the led-driver (warm-up-standalone.ts). Whatever happens to it, the start goes on: a failure
 * or its deadline is a warning, a stop request cuts it short (the stop is then honoured as soon as the start is over).
 */
async function warmUpGateway(config: Config, log: Logger, hosted: HostedBroker | undefined, stopping?: AbortSignal): Promise<void> {
  if (config.WARMUP_FRAMES === 0) return;
  const options = { frames: config.WARMUP_FRAMES, prefix: config.TOPIC_PREFIX, signal: stopping };
  const { frames, ms, outcome, error } = await (hosted ? warmUp(options) : warmUpStandalone(options));
  if (outcome === 'done') log.info({ frames, ms }, `warmed up: ${frames} frames in ${ms} ms`);
  else if (outcome === 'stopped') log.info({ frames, ms }, `warm-up cut short by the stop request after ${frames} frames`);
  else if (outcome === 'failed') log.warn({ err: errorMessage(error) }, `warm-up failed, starting without it: ${errorMessage(error)}`);
  else
    log.warn(
      { frames, asked: config.WARMUP_FRAMES, ms },
      `warm-up stopped at its deadline of ${WARMUP_DEADLINE_MS} ms after ${frames} of ${config.WARMUP_FRAMES} frames; starting anyway`,
    );
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
