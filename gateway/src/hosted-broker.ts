/**
 * The broker hosted in the gateway's process (GATEWAY_HOSTS_BROKER, and `npm start`): the one place where a service
 * uses another, through the broker package's public API only (test/unit/boundaries.test.ts allows exactly this file
 * to). The broker keeps every door it has as a service of its own (the BROKER_ ports, its metrics port), the
 * led-driver and every MQTT tool reach it as before. The gateway's own MQTT client speaks to it over an in-process
 * connection (no socket, no other process woken), and the hot path, each gravity value and each LED state, goes
 * through the broker's local client instead (no MQTT packet at all): docs/performance.md.
 *
 * Loaded only when asked for, so that a gateway on its own does not load the broker (Aedes and its dependencies).
 */
import type { Duplex } from 'node:stream';
import { type Account, type Config, createLogger, type Logger } from '@gravity-led/shared';
import { type HotPathLink, localHotPath } from './hot-path.js';

export interface HostedBroker {
  /** A new in-process MQTT connection to the hosted broker. */
  readonly connect: () => Duplex;
  /** The hot path (gravity out, leds/state in) through the broker's local client, logged in with `account`. */
  readonly hotPath: (account: Account, log: Logger) => HotPathLink;
  stop(): Promise<void>;
}

export async function hostBroker(config: Config): Promise<HostedBroker> {
  const { startBrokerService } = await import('@gravity-led/broker');
  // Its log lines say `broker`, as those of the broker service do.
  const log = createLogger('broker', config);
  const service = await startBrokerService(config, log);
  return {
    connect: () => service.broker.connectInProcess(),
    hotPath: (account, gatewayLog) => localHotPath(service.broker.localClient(account), gatewayLog),
    async stop() {
      await service.stop();
      log.info('broker stopped');
    },
  };
}
