/**
 * The broker hosted in the gateway's process (GATEWAY_HOSTS_BROKER, and `npm start`): the one place where a service
 * uses another, through the broker package's public API only (test/unit/boundaries.test.ts allows exactly this file
 * to). The broker keeps every door it has as a service of its own (the BROKER_ ports, its metrics port), the
 * led-driver and every MQTT tool reach it as before. The gateway's own MQTT client speaks to it over an in-process
 * connection (no socket, no other process woken), and the hot path, each gravity value and each LED state, goes
 * through the broker's local client instead (no MQTT packet at all): docs/performance.md.
 *
 * Also here, for the same reason: the private broker of the start-up warm-up (warm-up.ts), a second broker of this
 * process that nothing outside it can see.
 *
 * Loaded only when asked for, so that a gateway on its own does not load the broker (Aedes and its dependencies).
 */
import type { Duplex } from 'node:stream';
import { type Account, type Config, createLogger, type Logger, topicsFor } from '@gravity-led/shared';
import { type HotPathLink, localHotPath } from './hot-path.js';

export interface HostedBroker {
  /** A new in-process MQTT connection to the hosted broker. */
  readonly connect: () => Duplex;
  /** The hot path (gravity out, leds/state in) through the broker's local client, logged in with `account`. */
  readonly hotPath: (account: Account, log: Logger) => HotPathLink;
  /** The Unix socket the broker listens on too (BROKER_SOCKET), when it could open it; the warm-up's has none. */
  readonly socket?: string;
  stop(): Promise<void>;
}

/** The one import of the broker package, on first use. */
const brokerPackage = () => import('@gravity-led/broker');

// Its types named through that import, so that the package is still imported once, from here (boundaries.test.ts).
type BrokerPackage = Awaited<ReturnType<typeof brokerPackage>>;
type RunningBroker = Awaited<ReturnType<BrokerPackage['startBroker']>>;

/**
 * What the gateway is given of a broker of this process. One function for the real broker and the warm-up's private
 * one: V8 keeps its type feedback and optimised code per function literal, so the closures the warm-up runs must be
 * made here, at the very sites the real ones are made, for the warm-up to compile what the real gateway will run.
 */
function hostedConnection(broker: RunningBroker): Pick<HostedBroker, 'connect' | 'hotPath'> {
  return {
    connect: () => broker.connectInProcess(),
    hotPath: (account, gatewayLog) => localHotPath(broker.localClient(account), gatewayLog),
  };
}

export async function hostBroker(config: Config): Promise<HostedBroker> {
  const { startBrokerService } = await brokerPackage();
  // Its log lines say `broker`, as those of the broker service do.
  const log = createLogger('broker', config);
  const service = await startBrokerService(config, log);
  return {
    ...hostedConnection(service.broker),
    socket: service.socket,
    async stop() {
      await service.stop();
      log.info('broker stopped');
    },
  };
}

/** The warm-up's broker: a HostedBroker, and the loopback port its echo led-driver connects to. */
export interface PrivateBroker extends HostedBroker {
  readonly port: number;
}

/**
 * A broker of this process's own, for the warm-up (warm-up.ts): the real broker's code (startBroker, with the same
 * permission rules for the same topics, `prefix` being TOPIC_PREFIX; the other settings at their defaults, which
 * change no code path the hot path takes), but reachable by nobody else. Its only door is MQTT over TCP on
 * loopback, on a port the system picks (startBroker's `port` 0 is ephemeral; `wsPort` and `tlsPort` 0 are off), no
 * metrics port, accounts of its own (`accounts`: fresh random secrets, never the real ones), and a silent log.
 * startBroker itself writes nothing to disk: the secrets file and the certificate are startBrokerService's, which
 * this does not call.
 */
export async function startPrivateBroker(prefix: string, accounts: { service: Account; operator: Account }): Promise<PrivateBroker> {
  const { startBroker } = await brokerPackage();
  const broker = await startBroker({
    host: '127.0.0.1',
    port: 0,
    wsPort: 0,
    tlsPort: 0,
    secrets: accounts,
    prefix,
    topics: topicsFor(prefix),
    log: createLogger('broker', { LOG_LEVEL: 'silent', LOG_FORMAT: 'json' }),
  });
  const port = broker.listeners.find((l) => l.name === 'mqtt')?.port;
  if (port === undefined) {
    await broker.close();
    throw new Error('the private broker has no MQTT port');
  }
  return { ...hostedConnection(broker), port, stop: () => broker.close() };
}
