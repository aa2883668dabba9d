/**
 * How a service joins the broker: its own account, a retained `online` on connect, a retained `offline` as its
 * last will, and reconnection with backoff. QoS 0 messages are never queued while offline: a stale gravity
 * value replayed after an outage would move the LEDs to where the phone no longer is.
 *
 * Every connection is a fresh session (clean start), and a restarted broker may have lost every retained message:
 * subscribe and re-publish retained topics in a `connect` handler, which runs again after each reconnect.
 */
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import type { Duplex } from 'node:stream';
import type * as Mqtt from 'mqtt';
import type { MqttClient } from 'mqtt';
import type { Account } from './secrets.js';
import { OFFLINE, ONLINE } from './topics.js';

// mqtt.js is loaded on first use, not at import: it is the costliest module to load (about 100 files, a third of a
// service's start-up CPU), and the broker, which reaches this file through the shared index and starts first, never
// connects as a client.
const requireModule = createRequire(import.meta.url);
let mqttModule: typeof Mqtt | undefined;
function mqttLib(): typeof Mqtt {
  mqttModule ??= requireModule('mqtt') as typeof Mqtt;
  return mqttModule;
}

export interface ServiceConnectionOptions {
  readonly url: string;
  /** Read again before each reconnection attempt: a live account (followSecrets) is followed. */
  readonly account: Account;
  /** Short service name, used in the client id. */
  readonly service: string;
  /** Retained availability topic of this service. */
  readonly statusTopic: string;
  /** Keepalive in seconds; short, so a dead broker is noticed quickly. */
  readonly keepalive?: number;
  /**
   * Topics subscribed on every connect, each with its QoS, before `online` is announced: for a service whose `online`
   * means "ready to receive" (the led-driver), so that nobody acts on it while the subscriptions are still missing.
   * QoS 1 for what must not be lost (a broker may drop QoS 0 toward a busy subscriber), QoS 0 for a stream whose
   * next value supersedes the last.
   */
  readonly subscriptions?: Readonly<Record<string, 0 | 1>>;
  /**
   * A new connection to the broker, called for every (re)connection instead of opening `url`: for a broker hosted in
   * this process (its connectInProcess()), so that the messages cross no socket. `url` is then only what logs say.
   */
  readonly connection?: () => Duplex;
}

export const RECONNECT_MIN_MS = 250;
export const RECONNECT_MAX_MS = 5000;

/** The wait before the next attempt: doubled after every failed one, up to the ceiling. */
export function nextReconnectDelay(previousMs: number): number {
  return Math.min(Math.max(previousMs * 2, RECONNECT_MIN_MS), RECONNECT_MAX_MS);
}

/** Stops the reconnection loop of a service client, so that a deliberate disconnect stays disconnected. */
const stopReconnecting = new WeakMap<MqttClient, () => void>();

export function connectService(options: ServiceConnectionOptions): MqttClient {
  const clientOptions: Mqtt.IClientOptions = {
    clientId: `${options.service}-${randomBytes(4).toString('hex')}`,
    username: options.account.username,
    password: options.account.password,
    clean: true,
    keepalive: options.keepalive ?? 5,
    connectTimeout: 5000,
    // mqtt.js retries at a fixed period; we schedule the attempts ourselves to back off (see below).
    reconnectPeriod: 0,
    queueQoSZero: false,
    // mqtt.js's option for mqtt-packet's number cache: 65,536 pre-built 2-byte Buffers (6.8 MB of heap in every
    // process with an MQTT client), against a 2-byte allocation per number written (docs/performance.md).
    writeCache: false,
    will: { topic: options.statusTopic, payload: Buffer.from(OFFLINE), qos: 1, retain: true },
    // mqtt.js traces every packet through the `debug` package, about a dozen calls per message even when tracing is
    // off; a no-op instead keeps that off the hot path. DEBUG=mqttjs* still turns the tracing on.
    ...(process.env.DEBUG ? {} : { log: () => {} }),
  };
  const { connection } = options;
  const client = connection ? new (mqttLib().MqttClient)(connection, clientOptions) : mqttLib().connect(options.url, clientOptions);
  let delay = RECONNECT_MIN_MS;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  client.on('connect', () => {
    noDelay(client);
    delay = RECONNECT_MIN_MS;
    const announce = () => client.publish(options.statusTopic, ONLINE, { qos: 1, retain: true });
    const subscriptions = Object.entries(options.subscriptions ?? {});
    if (subscriptions.length === 0) return announce();
    client.subscribe(Object.fromEntries(subscriptions.map(([topic, qos]) => [topic, { qos }])), (error) => {
      if (error) client.emit('error', new Error(`could not subscribe: ${error.message}`, { cause: error }));
      announce();
    });
  });
  // Every lost connection and every failed attempt ends in `close`: wait, then try again, waiting longer each time.
  // The timer is deliberately not unref'd: while the broker is away it is what keeps the service alive.
  client.on('close', () => {
    if (stopped || timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      if (stopped) return;
      // The account as it is now: a live one (followSecrets) may have changed since, when a restarted service
      // generated new secrets; the broker, refusing the old password, is waiting for the new one.
      client.options.username = options.account.username;
      client.options.password = options.account.password;
      client.reconnect();
    }, delay);
    delay = nextReconnectDelay(delay);
  });
  stopReconnecting.set(client, () => {
    stopped = true;
    clearTimeout(timer);
    timer = undefined;
  });
  return client;
}

/**
 * mqtt.js opens its TCP (and TLS) sockets with Nagle's algorithm on, so a small publish can wait for the ACK of the
 * previous one: tens of milliseconds on loopback with delayed ACKs. Every message here is small and urgent (a gravity
 * value, an LED state), so each goes out at once. Set per connection: a reconnect brings a new socket.
 */
function noDelay(client: MqttClient): void {
  const stream = client.stream as unknown as { setNoDelay?: (on: boolean) => unknown };
  if (typeof stream.setNoDelay === 'function') stream.setNoDelay(true);
}

/** Publishes the retained `offline` and disconnects, for a clean shutdown (the will covers unclean ones). */
export function disconnectService(client: MqttClient, statusTopic: string, timeoutMs = 1000): Promise<void> {
  stopReconnecting.get(client)?.();
  return new Promise((resolve) => {
    const timer = setTimeout(() => client.end(true, () => resolve()), timeoutMs);
    const finish = () =>
      client.end(false, () => {
        clearTimeout(timer);
        resolve();
      });
    if (!client.connected) {
      clearTimeout(timer);
      client.end(true, () => resolve());
      return;
    }
    client.publish(statusTopic, OFFLINE, { qos: 1, retain: true }, finish);
  });
}
