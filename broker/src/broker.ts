/** The embedded MQTT broker: Aedes with our permission hooks, behind the configured listeners. */

import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { type Logger, RefusalLog, type Secrets, type Topics } from '@gravity-led/shared';
import type { Aedes, Client } from 'aedes';
import { BrokerMetrics } from './broker-metrics.js';
import { createEmbeddedAedes } from './hooks.js';
import { inProcessConnection } from './in-process.js';
import { type ConnectionHandler, type Listener, tcpListener, tlsListener, webSocketListener } from './listeners.js';
import { guardConnection } from './packet-guard.js';
import { Permissions } from './permissions.js';

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
  /** The broker's Prometheus registry, for whichever process hosts it to expose (broker-metrics.ts). */
  readonly metrics: BrokerMetrics;
  /**
   * A new MQTT connection from inside this process (in-process.ts): the client's end, for an MQTT client to speak
   * over; the broker treats it as any other connection (CONNECT, account, permissions). Bypasses only the socket.
   */
  connectInProcess(): Duplex;
  close(): Promise<void>;
}

/** The address a connection comes from: the socket's, or for MQTT over WebSocket the upgrade request's. */
function remoteAddress(connection: Duplex, req?: IncomingMessage): string | undefined {
  return req?.socket.remoteAddress ?? (connection as Partial<Socket>).remoteAddress;
}

export async function startBroker(options: BrokerOptions): Promise<RunningBroker> {
  const { log } = options;
  const metrics = new BrokerMetrics();
  const addresses = new WeakMap<object, string>();
  const { aedes, stop } = createEmbeddedAedes({
    permissions: new Permissions(options.secrets, options.prefix, options.topics, options.discoveryPrefix),
    metrics,
    log,
    addressOf: (client: Client) => addresses.get(client.conn),
    // A client that has not sent CONNECT within 5 s is only holding a socket open.
    aedes: { connectTimeout: 5000 },
  });
  await aedes.listen();
  aedes.on('clientError', (client, error) => log.debug({ client: client.id, err: error.message }, 'client error'));
  aedes.on('connectionError', (_client, error) => log.debug({ err: error.message }, 'connection error'));
  aedes.on('clientReady', (client) => log.debug({ client: client.id }, 'client connected'));

  // Every door goes through the packet-size guard; only the first refusal is a warning, so a flood is not a log flood.
  const oversized = new RefusalLog(log, { countField: 'refused' });
  const guarded: ConnectionHandler = {
    handle(connection, req) {
      const conn = guardConnection(connection, (error) => {
        metrics.oversizedPacket();
        oversized.record('oversized', 'closed a connection that sent an oversized MQTT packet', { err: error.message });
      });
      const address = remoteAddress(connection, req);
      if (address) addresses.set(conn, address);
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
    stop();
    await Promise.all(listeners.map((l) => l.close()));
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    throw error;
  }

  return {
    aedes,
    listeners,
    metrics,
    connectInProcess() {
      const [client, server] = inProcessConnection();
      addresses.set(server, 'in-process');
      // Trusted bytes from this process's own client: no packet-size guard between them and the broker.
      aedes.handle(server);
      return client;
    },
    async close() {
      stop();
      // Closing aedes first disconnects clients, so the listeners' close() is not held up by open sockets.
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await Promise.all(listeners.map((l) => l.close()));
    },
  };
}
