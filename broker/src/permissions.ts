/**
 * Who may connect, and what each account may publish and read. Two accounts exist and nobody else gets in:
 *
 * | account | may publish | may read |
 * | --- | --- | --- |
 * | services (gateway, led-driver) | anything under TOPIC_PREFIX and HA_DISCOVERY_PREFIX | the same |
 * | operator (a person's MQTT tools, Home Assistant) | the inputs: `gravity`, `leds/set`, `leds/<led>/set`, `gateway/max-clients/set`; and Home Assistant's birth and will topic `HA_DISCOVERY_PREFIX/status` | everything under TOPIC_PREFIX and HA_DISCOVERY_PREFIX, and the broker's own `$SYS` topics |
 *
 * So the operator can drive the LEDs, but cannot forge what the services report (`leds/state`, the status topics,
 * the occupancy, the discovery configs). Reading is checked per message, the way Mosquitto applies its ACLs: a
 * subscription is granted when its filter can match a topic the account may read (MQTT Explorer's `#` shows our
 * topics), and each message is delivered only when its topic is readable; a filter that can match nothing readable
 * is refused. These are rules only: hooks.ts applies them to the broker.
 */

import { haStatusTopic, type Secrets, secretEquals, type Topics, VARIABLES } from '@gravity-led/shared';

export type Role = 'service' | 'operator';

/** Largest publish payload accepted; gravity and state messages are well under 100 bytes. */
export const MAX_PUBLISH_BYTES = 4096;

/** The broker's own topics ($SYS/<broker id>/heartbeat, .../new/clients, ...): read-only information. */
const SYS = '$SYS';

/** True when `topic` is `root` itself or lies below it. */
function under(topic: string, root: string): boolean {
  return topic === root || topic.startsWith(`${root}/`);
}

/**
 * True when some topic at or under `root` matches the subscription `filter` (MQTT 3.1.1 section 4.7). A `#` or
 * `+` in the first level never matches a topic that starts with `$` [MQTT-4.7.2-1], so `#` does not reach `$SYS`.
 */
export function filterReaches(filter: string, root: string): boolean {
  const levels = filter.split('/');
  const rootLevels = root.split('/');
  for (let i = 0; i < rootLevels.length; i++) {
    const level = levels[i];
    // A filter that ends above the root names only topics above it.
    if (level === undefined) return false;
    const dollarRoot = i === 0 && root.startsWith('$');
    if (level === '#') return !dollarRoot;
    if (level === '+') {
      if (dollarRoot) return false;
      continue;
    }
    if (level !== rootLevels[i]) return false;
  }
  // Every level of the root matched: whatever the filter says below it names topics under the root.
  return true;
}

export class Permissions {
  private readonly operatorPublishes: ReadonlySet<string>;
  private readonly readable: Readonly<Record<Role, readonly string[]>>;
  private readonly writable: readonly string[];

  constructor(
    private readonly secrets: Pick<Secrets, 'operator' | 'service'>,
    prefix: string,
    topics: Topics,
    /** HA_DISCOVERY_PREFIX: Home Assistant's discovery topics, written by the services, read by HA as the operator. */
    discoveryPrefix: string = VARIABLES.HA_DISCOVERY_PREFIX.default,
  ) {
    this.operatorPublishes = new Set([
      topics.gravity,
      topics.ledsSet,
      topics.ledsLeftSet,
      topics.ledsRightSet,
      topics.maxClientsSet,
      // Home Assistant publishes its birth message there on connecting and sets its last will there.
      haStatusTopic(discoveryPrefix),
    ]);
    this.writable = [prefix, discoveryPrefix];
    this.readable = { service: [prefix, discoveryPrefix], operator: [prefix, discoveryPrefix, SYS] };
  }

  /** The account these credentials belong to, or undefined. Both checks always run, so the time taken does not tell which account a guess was close to. */
  login(username: string | undefined, password: Buffer | undefined): Role | undefined {
    const { service, operator } = this.secrets;
    const isService = [secretEquals(username, service.username), secretEquals(password, service.password)].every(Boolean);
    const isOperator = [secretEquals(username, operator.username), secretEquals(password, operator.password)].every(Boolean);
    return isService ? 'service' : isOperator ? 'operator' : undefined;
  }

  mayPublish(role: Role, topic: string): boolean {
    if (role === 'service') return this.writable.some((root) => under(topic, root));
    return this.operatorPublishes.has(topic);
  }

  mayRead(role: Role, topic: string): boolean {
    return this.readable[role].some((root) => under(topic, root));
  }

  /** Whether a subscription to `filter` can ever deliver something to `role`: otherwise it is refused. */
  maySubscribe(role: Role, filter: string): boolean {
    return this.readable[role].some((root) => filterReaches(filter, root));
  }

  /**
   * A new connection with the client id of a connected client takes the session over [MQTT-3.1.4-2]. That is allowed
   * to the same account (a tool reconnecting before the broker noticed its old connection died), and to the services
   * over the operator (so a service can never be locked out); the operator can never take over a service's id,
   * which would kick the gateway or the led-driver off and flap the LEDs. A refused takeover is refused as the spec
   * allows, "identifier rejected" [MQTT-3.1.3-9], and the connected client stays.
   */
  mayTakeOver(newcomer: Role, holder: Role): boolean {
    return newcomer === holder || newcomer === 'service';
  }
}
