/**
 * How a service joins the broker: its own account, a retained `online` on connect, a retained `offline` as its
 * last will, and reconnection with backoff. QoS 0 messages are never queued while offline: a stale gravity
 * value replayed after an outage would move the LEDs to where the phone no longer is.
 */
import { randomBytes } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import type { Account } from './secrets.js';
import { OFFLINE, ONLINE } from './topics.js';

export interface ServiceConnectionOptions {
  readonly url: string;
  readonly account: Account;
  /** Short service name, used in the client id. */
  readonly service: string;
  /** Retained availability topic of this service. */
  readonly statusTopic: string;
  /** Keepalive in seconds; short, so a dead broker is noticed quickly. */
  readonly keepalive?: number;
}

export const RECONNECT_MIN_MS = 250;
export const RECONNECT_MAX_MS = 5000;

export function connectService(options: ServiceConnectionOptions): MqttClient {
  const client = mqtt.connect(options.url, {
    clientId: `${options.service}-${randomBytes(4).toString('hex')}`,
    username: options.account.username,
    password: options.account.password,
    clean: true,
    keepalive: options.keepalive ?? 5,
    connectTimeout: 5000,
    reconnectPeriod: RECONNECT_MIN_MS,
    queueQoSZero: false,
    resubscribe: true,
    will: { topic: options.statusTopic, payload: Buffer.from(OFFLINE), qos: 1, retain: true },
    // mqtt.js traces every packet through the `debug` package, about a dozen calls per message even when tracing is
    // off; a no-op instead keeps that off the hot path. DEBUG=mqttjs* still turns the tracing on.
    ...(process.env.DEBUG ? {} : { log: () => {} }),
  });
  // Backoff: each failed attempt doubles the wait up to the ceiling; a successful connect resets it.
  client.on('connect', () => {
    noDelay(client);
    client.options.reconnectPeriod = RECONNECT_MIN_MS;
    client.publish(options.statusTopic, ONLINE, { qos: 1, retain: true });
  });
  client.on('reconnect', () => {
    const current = client.options.reconnectPeriod ?? RECONNECT_MIN_MS;
    client.options.reconnectPeriod = Math.min(current * 2, RECONNECT_MAX_MS);
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
