/**
 * Who may connect, publish and subscribe. Two accounts exist: the services' (gateway, led-driver), which may do
 * anything under the prefix, and the operator's (a person's MQTT tools), which may read everything under the prefix
 * and publish only the inputs: gravity and the `.../set` topics. Nobody else gets in.
 */

import { type Secrets, secretEquals, type Topics, VARIABLES } from '@gravity-led/shared';
import type { AuthErrorCode, AuthenticateError, Client, PublishPacket, Subscription } from 'aedes';

export type Role = 'service' | 'operator';

/** Largest publish payload accepted; gravity and state messages are well under 100 bytes. */
export const MAX_PUBLISH_BYTES = 4096;

const roles = new WeakMap<Client, Role>();

export function roleOf(client: Client | null): Role | undefined {
  return client ? roles.get(client) : undefined;
}

function authError(message: string, code: AuthErrorCode): AuthenticateError {
  return Object.assign(new Error(message), { returnCode: code });
}

/** True when `topic` is `prefix` itself or lies below it. */
function under(topic: string, prefix: string): boolean {
  return topic === prefix || topic.startsWith(`${prefix}/`);
}

export interface Permissions {
  authenticate(
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
    done: (error: AuthenticateError | null, success: boolean | null) => void,
  ): void;
  authorizePublish(client: Client | null, packet: PublishPacket, done: (error?: Error | null) => void): void;
  authorizeSubscribe(
    client: Client,
    subscription: Subscription,
    done: (error: Error | null, subscription?: Subscription | null) => void,
  ): void;
}

export function createPermissions(
  secrets: Pick<Secrets, 'operator' | 'service'>,
  prefix: string,
  topics: Topics,
  /** HA_DISCOVERY_PREFIX: Home Assistant's discovery topics, written by the services, read by HA as the operator. */
  discoveryPrefix: string = VARIABLES.HA_DISCOVERY_PREFIX.default,
): Permissions {
  const operatorPublishes = new Set([topics.gravity, topics.ledsSet, topics.ledsLeftSet, topics.ledsRightSet, topics.maxClientsSet]);

  function canPublish(role: Role, topic: string): boolean {
    if (role === 'service') return under(topic, prefix) || under(topic, discoveryPrefix);
    return operatorPublishes.has(topic);
  }

  function canSubscribe(role: Role, filter: string): boolean {
    // `#` or `+/...` at the top would reach other applications' topics and $SYS; only our subtree is readable.
    if (role === 'service') return under(filter, prefix) || under(filter, discoveryPrefix);
    return under(filter, prefix) || under(filter, discoveryPrefix);
  }

  return {
    authenticate(client, username, password, done) {
      // Both checks always run, so the time taken does not tell which account a guess was close to.
      const isService = [secretEquals(username, secrets.service.username), secretEquals(password, secrets.service.password)].every(Boolean);
      const isOperator = [secretEquals(username, secrets.operator.username), secretEquals(password, secrets.operator.password)].every(
        Boolean,
      );
      if (isService) roles.set(client, 'service');
      else if (isOperator) roles.set(client, 'operator');
      else return done(authError('bad username or password', 4 as AuthErrorCode), false);
      done(null, true);
    },

    authorizePublish(client, packet, done) {
      const role = roleOf(client);
      // Messages the broker publishes itself (client === null: wills are published on the client's behalf) pass.
      if (client === null) return done(null);
      if (role === undefined || !canPublish(role, packet.topic)) {
        return done(new Error(`${role ?? 'unknown'} may not publish to ${packet.topic}`));
      }
      if (packet.payload.length > MAX_PUBLISH_BYTES) return done(new Error(`payload over ${MAX_PUBLISH_BYTES} bytes`));
      done(null);
    },

    authorizeSubscribe(client, subscription, done) {
      const role = roleOf(client);
      if (role === undefined || !canSubscribe(role, subscription.topic)) {
        // A null subscription is refused with a failure return code, and the client stays connected.
        return done(null, null);
      }
      done(null, subscription);
    },
  };
}
