/**
 * The permissions applied to Aedes through its hooks (preConnect, authenticate, authorizePublish,
 * authorizeSubscribe, authorizeForward), and what each refusal costs the client: never more than the refused packet.
 *
 * - A refused PUBLISH is dropped and the connection stays, as Mosquitto does for MQTT 3.1.1: the spec lets a server
 *   that does not authorize a publish "either make a positive acknowledgement, according to the normal QoS rules, or
 *   close the Network Connection" [MQTT-3.3.5-2], and closing is what made Home Assistant reconnect forever over its
 *   birth message. Aedes' authorizePublish has only the second way: an error closes the connection (its docs, and
 *   moscajs/aedes#210, "There is none in MQTT 3.1.1"). So the hook accepts the packet, which lets Aedes acknowledge it
 *   (PUBACK for QoS 1, PUBREC/PUBCOMP for QoS 2: lib/handlers/publish.js), and marks it; Aedes then hands that same
 *   packet object to broker.publish() (enqueuePublish in lib/handlers/publish.js, and the will in lib/client.js
 *   close()), which drops a marked one before it is stored as retained or delivered.
 * - A refused SUBSCRIBE gets failure 0x80 in its SUBACK [MQTT-3.9.3] and the connection stays.
 * - A refused CONNECT gets its CONNACK return code and the connection is closed [MQTT-3.2.2-5]: 4 for a wrong
 *   account, 2 "identifier rejected" for a client id another account holds [MQTT-3.1.3-9], and 1 "unacceptable
 *   protocol version" for MQTT 5, which Aedes 1.x does not speak (its README: "MQTT 5.0 (not support yet)") and which
 *   MQTT 5 clients report as "unsupported protocol version" (paho, Home Assistant's client: _handle_connack maps it to
 *   reason 132; libmosquitto and mqtt.js alike).
 *
 * Each refusal is counted (BrokerMetrics) and logged once: connections once per reason, then summed up every minute;
 * publishes and subscriptions once per connection and topic.
 */

import { type Logger, RefusalLog } from '@gravity-led/shared';
import { Aedes, type AedesOptions, type AuthErrorCode, type AuthenticateError, type Client, type PublishPacket } from 'aedes';
import mqttPacket from 'mqtt-packet';
import type { BrokerMetrics, ConnectRefusal, PublishRefusal } from './broker-metrics.js';
import { MAX_PUBLISH_BYTES, type Permissions, type Role } from './permissions.js';

// mqtt-packet, which Aedes writes every packet with, builds a 2-byte Buffer for each of the 65,536 16-bit numbers the
// first time it writes one (numbers.js): 65,536 Buffer objects, 6.8 MB of heap for as long as the process lives, in
// whichever process hosts the broker. Turned off by its documented switch (README, "writeToStream": "set before any
// writeToStream calls"), once, as this module loads: a number is written from a 2-byte allocation instead
// (docs/performance.md).
mqttPacket.writeToStream.cacheNumbers = false;

/** How often the repeated connection refusals are summed up in the log. */
export const REFUSAL_SUMMARY_MS = 60_000;

/** Topics and filters warned about per connection; beyond this, refusals of that connection are counted only. */
const MAX_WARNED_PER_CLIENT = 32;

type Done = (error?: Error | null) => void;
/** Aedes' publish as its handlers call it (the typings only show the public two-argument form). */
type InternalPublish = (packet: PublishPacket, client: Client | null, done?: Done) => void;

/** Aedes whose publish() drops the packets that authorizePublish refused; see the top of this file. */
class RefusingAedes extends Aedes {
  readonly refused = new WeakSet<PublishPacket>();

  override publish(packet: PublishPacket, clientOrDone: unknown, maybeDone?: unknown): void {
    if (this.refused.has(packet)) {
      const done = (typeof clientOrDone === 'function' ? clientOrDone : maybeDone) as Done | undefined;
      done?.(null);
      return;
    }
    (Aedes.prototype.publish as unknown as InternalPublish).call(this, packet, clientOrDone as Client | null, maybeDone as Done);
  }

  /** The connected clients by client id (Aedes keeps them in `clients`, untyped). */
  get connected(): Readonly<Record<string, Client>> {
    return (this as unknown as { clients: Record<string, Client> }).clients;
  }
}

export type EmbeddedAedes = RefusingAedes;

export interface HookOptions {
  readonly permissions: Permissions;
  readonly metrics: BrokerMetrics;
  readonly log: Logger;
  /** The remote address behind a client, for the log lines. */
  readonly addressOf: (client: Client) => string | undefined;
  /** Further Aedes options (timeouts). */
  readonly aedes?: Omit<AedesOptions, 'preConnect' | 'authenticate' | 'authorizePublish' | 'authorizeSubscribe' | 'authorizeForward'>;
}

function authError(message: string, code: AuthErrorCode): AuthenticateError {
  return Object.assign(new Error(message), { returnCode: code });
}

/** Says yes the first time a connection is refused `key`, for at most MAX_WARNED_PER_CLIENT keys per connection. */
class OncePerClient {
  private readonly seen = new WeakMap<object, Set<string>>();
  /** Refusals on behalf of no client (a will left by a client of another broker). */
  private readonly nobody = {};

  first(client: Client | null, key: string): boolean {
    const owner = client ?? this.nobody;
    let keys = this.seen.get(owner);
    if (!keys) {
      keys = new Set();
      this.seen.set(owner, keys);
    }
    if (keys.has(key) || keys.size >= MAX_WARNED_PER_CLIENT) return false;
    keys.add(key);
    return true;
  }
}

/** Creates the broker (not yet listening) with the permission hooks in place. */
export function createEmbeddedAedes(options: HookOptions): {
  aedes: EmbeddedAedes;
  roleOf: (client: Client | null) => Role | undefined;
  stop(): void;
} {
  const { permissions, metrics, log, addressOf } = options;
  const roles = new WeakMap<Client, Role>();
  const roleOf = (client: Client | null): Role | undefined => (client ? roles.get(client) : undefined);
  const connects = new RefusalLog(log, {
    summary: { everyMs: REFUSAL_SUMMARY_MS, message: 'MQTT connections refused in the last minute' },
  });
  const takeovers = new RefusalLog(log, { summary: { everyMs: REFUSAL_SUMMARY_MS, message: 'MQTT session takeovers in the last minute' } });
  const warned = new OncePerClient();

  const refuseConnect = (client: Client, reason: ConnectRefusal, message: string) => {
    metrics.connectRefused(reason);
    connects.record(reason, message, { reason, address: addressOf(client), client: client.id || undefined });
  };

  const refusePublish = (client: Client | null, role: Role | undefined, packet: PublishPacket, reason: PublishRefusal) => {
    const account = role ?? 'operator';
    metrics.publishRefused(account, reason);
    const fields = {
      client: client?.id,
      account: role,
      address: client ? addressOf(client) : undefined,
      topic: packet.topic,
      qos: packet.qos,
      reason,
    };
    const message = 'dropped a publish the account may not make; the connection stays';
    if (warned.first(client, `publish ${packet.topic}`))
      log.warn(fields, `${message} (further ones to this topic are counted, not logged)`);
    else log.debug(fields, message);
    aedes.refused.add(packet);
  };

  const aedes = new RefusingAedes({
    ...options.aedes,

    preConnect(client, packet, done) {
      // [MQTT-3.1.2-2] Aedes itself answers CONNACK 0x01 to any protocol level but 3 (MQTT 3.1) and 4 (3.1.1).
      if (packet.protocolVersion !== 3 && packet.protocolVersion !== 4) {
        refuseConnect(
          client,
          'protocol-version',
          `refused an MQTT ${packet.protocolVersion === 5 ? '5' : `level ${packet.protocolVersion}`} connection: the embedded broker speaks MQTT 3.1.1; choose 3.1.1 in the client (Home Assistant: MQTT protocol 3.1.1, its default), or use an MQTT 5 broker through MQTT_URL`,
        );
      }
      done(null, true);
    },

    authenticate(client, username, password, done) {
      const role = permissions.login(username, password);
      if (role === undefined) {
        refuseConnect(client, 'bad-credentials', 'refused an MQTT connection: bad username or password');
        return done(authError('bad username or password', 4 as AuthErrorCode), false);
      }
      const holder = aedes.connected[client.id];
      const holderRole = holder && holder !== client ? roles.get(holder) : undefined;
      if (holderRole !== undefined) {
        if (!permissions.mayTakeOver(role, holderRole)) {
          refuseConnect(
            client,
            'client-id-in-use',
            `refused an MQTT connection: its client id is held by a connected ${holderRole} client`,
          );
          return done(authError('identifier rejected: the client id is in use by another account', 2 as AuthErrorCode), false);
        }
        // Aedes then disconnects the holder as the spec requires [MQTT-3.1.4-2].
        metrics.takenOver(role);
        takeovers.record(`takeover ${role}`, 'a new connection took over the client id of a connected client of the same account', {
          client: client.id,
          account: role,
          address: addressOf(client),
        });
      }
      roles.set(client, role);
      done(null, true);
    },

    authorizePublish(client, packet, done) {
      // The broker's own messages, and wills of clients of another broker (client null), pass.
      if (client === null) return done(null);
      const role = roleOf(client);
      if (role === undefined || !permissions.mayPublish(role, packet.topic)) refusePublish(client, role, packet, 'not-authorized');
      else if (packet.payload.length > MAX_PUBLISH_BYTES) refusePublish(client, role, packet, 'too-large');
      else metrics.published(role);
      done(null);
    },

    authorizeSubscribe(client, subscription, done) {
      const role = roleOf(client);
      if (role !== undefined && permissions.maySubscribe(role, subscription.topic)) return done(null, subscription);
      metrics.subscriptionRefused(role ?? 'operator');
      const fields = { client: client.id, account: role, address: addressOf(client), filter: subscription.topic };
      const message = 'refused a subscription that can reach no topic the account may read (SUBACK 0x80); the connection stays';
      if (warned.first(client, `subscribe ${subscription.topic}`)) log.warn(fields, message);
      else log.debug(fields, message);
      // A null subscription is answered with the failure return code 0x80.
      done(null, null);
    },

    authorizeForward(client, packet) {
      const role = roleOf(client);
      return role !== undefined && permissions.mayRead(role, packet.topic) ? packet : null;
    },
  });

  metrics.clients = () => {
    const counts = new Map<Role, number>([
      ['operator', 0],
      ['service', 0],
    ]);
    for (const client of Object.values(aedes.connected)) {
      const role = roles.get(client);
      if (role) counts.set(role, (counts.get(role) ?? 0) + 1);
    }
    return counts;
  };

  return {
    aedes,
    roleOf,
    stop() {
      connects.stop();
      takeovers.stop();
    },
  };
}
