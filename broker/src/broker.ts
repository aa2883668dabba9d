/** The embedded MQTT broker: Aedes with our permission hooks, behind the configured listeners. */

import { type Logger, RefusalLog, type Secrets, type Topics } from '@gravity-led/shared';
import { Aedes } from 'aedes';
import { type ConnectionHandler, type Listener, tcpListener, tlsListener, webSocketListener } from './listeners.js';
import { guardConnection } from './packet-guard.js';
import { createPermissions } from './permissions.js';

export interface BrokerOptions {
  readonly host?: string;
  readonly port: number;
  /** 0 = off. */
  readonly wsPort: number;
  /** 0 = off. */
  readonly tlsPort: number;
  readonly tls?: { cert: Buffer; key: Buffer };
  readonly secrets: Pick<Secrets, 'operator' | 'service'>;
  readonly prefix: string;
  readonly topics: Topics;
  /** HA_DISCOVERY_PREFIX: where the services may publish Home Assistant discovery configs. */
  readonly discoveryPrefix?: string;
  readonly log: Logger;
}

export interface RunningBroker {
  readonly aedes: Aedes;
  readonly listeners: readonly Listener[];
  close(): Promise<void>;
}

export async function startBroker(options: BrokerOptions): Promise<RunningBroker> {
  const { log } = options;
  const permissions = createPermissions(options.secrets, options.prefix, options.topics, options.discoveryPrefix);
  const aedes = await Aedes.createBroker({
    authenticate: permissions.authenticate,
    authorizePublish: permissions.authorizePublish,
    authorizeSubscribe: permissions.authorizeSubscribe,
    // A client that has not sent CONNECT within 5 s is only holding a socket open.
    connectTimeout: 5000,
  });
  aedes.on('clientError', (client, error) => log.debug({ client: client.id, err: error.message }, 'client error'));
  aedes.on('connectionError', (_client, error) => log.debug({ err: error.message }, 'connection error'));
  aedes.on('clientReady', (client) => log.debug({ client: client.id }, 'client connected'));

  // Every door goes through the packet-size guard; only the first refusal is a warning, so a flood is not a log flood.
  const oversized = new RefusalLog(log, { countField: 'refused' });
  const guarded: ConnectionHandler = {
    handle(connection, req) {
      const conn = guardConnection(connection, (error) => {
        oversized.record('oversized', 'closed a connection that sent an oversized MQTT packet', { err: error.message });
      });
      aedes.handle(conn, req);
    },
  };

  const listeners: Listener[] = [];
  try {
    listeners.push(await tcpListener(guarded, options.port, options.host));
    if (options.wsPort > 0) listeners.push(await webSocketListener(guarded, options.wsPort, options.host));
    if (options.tlsPort > 0) {
      if (!options.tls) throw new Error('BROKER_TLS_PORT is set but no certificate is available');
      listeners.push(await tlsListener(guarded, options.tlsPort, options.tls, options.host));
    }
  } catch (error) {
    await Promise.all(listeners.map((l) => l.close()));
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    throw error;
  }

  return {
    aedes,
    listeners,
    async close() {
      // Closing aedes first disconnects clients, so the listeners' close() is not held up by open sockets.
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await Promise.all(listeners.map((l) => l.close()));
    },
  };
}
