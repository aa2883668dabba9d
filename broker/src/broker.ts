/** The embedded MQTT broker: Aedes with our permission hooks, behind the configured listeners. */

import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  type Account,
  doorRefusals,
  errorMessage,
  type Logger,
  RefusalLog,
  type Secrets,
  type Topics,
  VARIABLES,
} from '@gravity-led/shared';
import type { Aedes, Client } from 'aedes';
import { BrokerMetrics } from './broker-metrics.js';
import { createEmbeddedAedes, type EmbeddedAedes } from './hooks.js';
import { inProcessConnection } from './in-process.js';
import { type ConnectionHandler, type Listener, tcpListener, tlsListener, unixListener, webSocketListener } from './listeners.js';
import { type LocalClient, openLocalClient } from './local-client.js';
import { guardConnection } from './packet-guard.js';
import { Permissions } from './permissions.js';
import { SessionStore } from './session-store.js';

export interface BrokerOptions {
  readonly host?: string;
  readonly port: number;
  /** 0 = off. */
  readonly wsPort: number;
  /** 0 = off. */
  readonly tlsPort: number;
  readonly tls?: { cert: Buffer; key: Buffer };
  /**
   * BROKER_SOCKET: a Unix domain socket to listen on besides the TCP doors; none when not given. One that cannot be
   * opened is logged as an error, and the broker runs on without it (its TCP doors are the ones clients are told of).
   */
  readonly socket?: string;
  readonly secrets: Pick<Secrets, 'operator' | 'service'>;
  readonly prefix: string;
  readonly topics: Topics;
  /** HA_DISCOVERY_PREFIX: where the services may publish Home Assistant discovery configs. */
  readonly discoveryPrefix?: string;
  readonly log: Logger;
  /**
   * Bounds on persistent sessions (BROKER_MAX_QUEUED_MESSAGES, BROKER_SESSION_EXPIRY_S; 0 s = never expire): the
   * configuration's defaults unless given.
   */
  readonly sessions?: { readonly maxQueued: number; readonly expiryS: number };
}

/**
 * A connection must have sent its CONNECT, and been answered, within this long of its TCP socket being accepted,
 * whatever the door: the TLS and WebSocket handshakes count towards it. Until then it is a stranger holding a socket
 * (MQTT 3.1.1 section 3.1: a server that gets no CONNECT "within a reasonable amount of time after the Network
 * Connection is established" should close it).
 */
export const CONNECT_DEADLINE_MS = 10_000;

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
  /**
   * A client living in this process, for a hot path (local-client.ts): publishes and subscriptions checked against
   * `account`'s permissions as a connected client's are, with no MQTT packet in between. Throws a LocalClientError for
   * credentials that are no account's.
   */
  localClient(account: Account): LocalClient;
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
  const limits = options.sessions ?? {
    maxQueued: VARIABLES.BROKER_MAX_QUEUED_MESSAGES.default,
    expiryS: VARIABLES.BROKER_SESSION_EXPIRY_S.default,
  };
  // A full queue is logged once per client until it comes back (then counted only): a phone session on leds/state
  // fills one in seconds.
  const overflowing = new Set<string>();
  const persistence = new SessionStore({
    maxQueued: limits.maxQueued,
    onDrop(clientId) {
      metrics.queuedMessageDropped();
      if (overflowing.has(clientId)) return;
      overflowing.add(clientId);
      log.warn(
        { client: clientId, max: limits.maxQueued },
        'the queue of a persistent session is full (BROKER_MAX_QUEUED_MESSAGES): its oldest messages are dropped, the newest kept',
      );
    },
  });
  metrics.queued = () => persistence.queuedCount;
  const permissions = new Permissions(options.secrets, options.prefix, options.topics, options.discoveryPrefix);
  const { aedes, stop } = createEmbeddedAedes({
    permissions,
    metrics,
    log,
    addressOf: (client: Client) => addresses.get(client.conn),
    // Aedes' own timer counts from the hand-over to it, after any TLS or WebSocket handshake, so the deadline below,
    // counted from the accepted socket, comes first; it is set to the same value so nothing relies on its 30 s default.
    aedes: { connectTimeout: CONNECT_DEADLINE_MS, persistence },
  });
  const sessions = expireSessions(aedes, persistence, limits.expiryS, log, () => metrics.sessionExpired());
  aedes.on('client', (client) => overflowing.delete(client.id));
  await aedes.listen();
  aedes.on('clientError', (client, error) => log.debug({ client: client.id, err: error.message }, 'client error'));
  aedes.on('connectionError', (_client, error) => log.debug({ err: error.message }, 'connection error'));
  aedes.on('clientReady', (client) => log.debug({ client: client.id }, 'client connected'));

  // Every door goes through the packet-size guard; only the first refusal is a warning, so a flood is not a log flood.
  const oversized = new RefusalLog(log, { countField: 'refused' });
  // What the doors refuse before MQTT (a WebSocket upgrade with a bad target) and what their listeners report.
  const doors = doorRefusals(log);
  metrics.registry.counter(
    'broker_listener_refused_total',
    'Requests refused at the MQTT listeners before MQTT (a WebSocket handshake whose target is not a URL), and listener errors, by reason',
    () => [...doors.totals].map(([reason, n]) => [{ reason }, n] as const),
  );
  const guarded: ConnectionHandler = {
    handle(connection, req, openedAt) {
      const conn = guardConnection(connection, (error) => {
        metrics.oversizedPacket();
        oversized.record('oversized', 'closed a connection that sent an oversized MQTT packet', { err: error.message });
      });
      const address = remoteAddress(connection, req);
      if (address) addresses.set(conn, address);
      const client = aedes.handle(conn, req);
      const deadline = setTimeout(
        () => {
          if (client.connected) return;
          log.debug({ address }, 'closed a connection that sent no CONNECT in time');
          conn.destroy();
        },
        Math.max(0, CONNECT_DEADLINE_MS - (Date.now() - openedAt)),
      );
      conn.once('close', () => clearTimeout(deadline));
    },
  };

  const listeners: Listener[] = [];
  try {
    listeners.push(await tcpListener(guarded, options.port, options.host, doors));
    if (options.wsPort > 0) listeners.push(await webSocketListener(guarded, options.wsPort, options.host, doors));
    if (options.tlsPort > 0) {
      if (!options.tls) throw new Error('BROKER_TLS_PORT is set but no certificate is available');
      listeners.push(await tlsListener(guarded, options.tlsPort, options.tls, options.host, doors));
    }
    if (options.socket) {
      try {
        listeners.push(await unixListener(guarded, options.socket, doors));
      } catch (error) {
        log.error({ path: options.socket, err: errorMessage(error) }, `MQTT over the Unix socket is off: ${errorMessage(error)}`);
      }
    }
  } catch (error) {
    stop();
    doors.stop();
    sessions.stop();
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
    localClient(account) {
      return openLocalClient({ aedes, retained: persistence, permissions, metrics }, account);
    },
    async close() {
      stop();
      doors.stop();
      sessions.stop();
      // Closing aedes first disconnects clients, so the listeners' close() is not held up by open sockets.
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await Promise.all(listeners.map((l) => l.close()));
    },
  };
}

/**
 * Forgets the persistent sessions whose client has been away `expiryS` (0: never), as Mosquitto's
 * persistent_client_expiration does; checked every tenth of that, at most once a second and at least once a minute.
 */
function expireSessions(aedes: EmbeddedAedes, store: SessionStore, expiryS: number, log: Logger, expired: () => void): { stop(): void } {
  if (expiryS === 0) return { stop() {} };
  const awaySince = new Map<string, number>();
  aedes.on('clientDisconnect', (client) => {
    if (!client.clean && client.id) awaySince.set(client.id, Date.now());
  });
  aedes.on('client', (client) => awaySince.delete(client.id));
  const timer = setInterval(
    () => {
      const now = Date.now();
      for (const [id, since] of awaySince) {
        if (now - since < expiryS * 1000) continue;
        awaySince.delete(id);
        // A client that took its session back meanwhile (a takeover reports the old connection's end late) keeps it.
        if (aedes.connected[id]) continue;
        store.forget(id).then(
          () => {
            expired();
            log.info({ client: id, expiryS }, 'forgot a persistent session whose client stayed away (BROKER_SESSION_EXPIRY_S)');
          },
          (error: unknown) => log.warn({ client: id, err: String(error) }, 'could not forget an expired session'),
        );
      }
    },
    Math.min(60_000, Math.max(1000, expiryS * 100)),
  );
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
