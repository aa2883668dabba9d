/**
 * The broker as a service, from the configuration: its MQTT doors (BROKER_PORT, BROKER_WS_PORT, BROKER_TLS_PORT) and
 * its metrics port (BROKER_METRICS_PORT). What `npm start -w broker` runs, and what a process that hosts the broker
 * (the gateway with GATEWAY_HOSTS_BROKER) runs, so that the broker behaves the same wherever it lives.
 */
import {
  type Config,
  errorMessage,
  followSecrets,
  type HealthServer,
  type Logger,
  startHealthServer,
  tlsForPort,
  topicsFor,
} from '@gravity-led/shared';
import { type RunningBroker, startBroker } from './broker.js';

export interface BrokerService {
  readonly broker: RunningBroker;
  /** The bound ports by listener name (`mqtt`, `mqtt-ws`, `mqtts`, `metrics`; 0 = off). */
  readonly ports: Readonly<Record<string, number>>;
  /** The Unix socket it listens on (BROKER_SOCKET), when it could open it. */
  readonly socket?: string;
  stop(): Promise<void>;
}

export async function startBrokerService(config: Config, log: Logger): Promise<BrokerService> {
  const secrets = followSecrets(config);
  // The same certificate as the gateway's HTTPS port: the configured files, or the one generated in DATA_DIR.
  const credentials = await tlsForPort(config.BROKER_TLS_PORT, config, log);
  if (credentials)
    log.info(
      { fingerprint: credentials.fingerprint, source: credentials.source },
      `MQTT over TLS certificate, SHA-256 fingerprint ${credentials.fingerprint}`,
    );
  const broker = await startBroker({
    host: config.BROKER_HOST,
    port: config.BROKER_PORT,
    wsPort: config.BROKER_WS_PORT,
    tlsPort: config.BROKER_TLS_PORT,
    tls: credentials && { cert: Buffer.from(credentials.cert), key: Buffer.from(credentials.key) },
    socket: config.BROKER_SOCKET || undefined,
    secrets,
    prefix: config.TOPIC_PREFIX,
    topics: topicsFor(config.TOPIC_PREFIX),
    discoveryPrefix: config.HA_DISCOVERY_PREFIX,
    log,
    sessions: { maxQueued: config.BROKER_MAX_QUEUED_MESSAGES, expiryS: config.BROKER_SESSION_EXPIRY_S },
  });
  let stopping = false;
  let metricsServer: HealthServer | undefined;
  if (config.BROKER_METRICS_PORT > 0) {
    try {
      // Ready: the MQTT doors are open.
      metricsServer = await startHealthServer(
        config.BROKER_METRICS_PORT,
        config.BROKER_HOST,
        { ready: () => !stopping, metrics: () => broker.metrics.registry.render() },
        log,
      );
      const { refusals } = metricsServer;
      broker.metrics.registry.counter('broker_http_refused_total', 'Requests to BROKER_METRICS_PORT refused as malformed, by reason', () =>
        [...refusals.totals].map(([reason, n]) => [{ reason }, n] as const),
      );
    } catch (error) {
      // Observability must never cost the broker: it runs on without its metrics port.
      log.error(
        { err: errorMessage(error), port: config.BROKER_METRICS_PORT },
        'broker metrics port unavailable: /metrics, /healthz and /readyz are off',
      );
    }
  }
  const tcp = broker.listeners.filter((l) => l.path === undefined);
  const ports = Object.fromEntries([...tcp.map((l) => [l.name, l.port]), ['metrics', metricsServer?.port ?? 0]]);
  const socket = broker.listeners.find((l) => l.path !== undefined)?.path;
  log.info({ ports, socket, operator: secrets.operator.username }, 'broker ready');
  return {
    broker,
    ports,
    socket,
    async stop() {
      stopping = true;
      await broker.close();
      await metricsServer?.close();
    },
  };
}
