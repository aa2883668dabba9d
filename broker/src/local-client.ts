/**
 * A client of the broker that lives in the broker's own process, for a hot path only (the gateway's gravity out and
 * LED state in, when it hosts the broker): what it publishes and what it is given cross no MQTT packet, no stream
 * and no parser, while the broker's rules stay those of a connected client of the same account:
 *
 * - it logs in with an account, as a CONNECT does (Permissions.login), and is that account from then on;
 * - `publish` is QoS 0, not retained: the account's write permission (Permissions.mayPublish, as the authorizePublish
 *   hook applies it) and the largest payload (MAX_PUBLISH_BYTES) are checked, and a refusal is counted in
 *   broker_publishes_refused_total as a client's is, but thrown at the caller rather than dropped silently (there is
 *   no connection to keep: the caller is this process's own code). An accepted publish is counted in
 *   broker_publishes_total under its account, then handed to `aedes.publish(packet, callback)` (docs/Aedes.md,
 *   "aedes.publish (packet, callback)": "Directly deliver packet on behalf of server to subscribed clients. Bypass
 *   authorizePublish"), which routes it exactly as a client's QoS 0 publish (aedes.js publish(): publishFuncsSimple,
 *   storeRetained, emitPacket, callPublished);
 * - `subscribe` checks the filter as the authorizeSubscribe hook does (Permissions.maySubscribe; a refusal counted
 *   in broker_subscriptions_refused_total), then follows it through `aedes.subscribe(topic, deliverfunc, callback)`
 *   (docs/Aedes.md: "Directly subscribe a topic in server side. Bypass authorizeSubscribe"; the deliverfunc must call
 *   its callback before it returns, which ours always does). Each message is then checked as authorizeForward does
 *   (Permissions.mayRead), and a filter starting with a wildcard is not given `$` topics [MQTT-4.7.2-1], as Aedes
 *   does for its clients (blockDollarSignTopics in lib/handlers/subscribe.js).
 *
 * What differs from a connected client: it is no connection, so it is not in broker_clients, has no client id, no
 * session, no will and no keepalive; Aedes publishes no `$SYS/<id>/new/subscribes` for its subscriptions (its own
 * handler does that for a SUBSCRIBE packet, lib/handlers/subscribe.js completeSubscribe) and emits its `publish`
 * event with a null client, as for the broker's own messages.
 */
import type { Account } from '@gravity-led/shared';
import type { AedesPublishPacket, PublishPacket } from 'aedes';
import type { BrokerMetrics } from './broker-metrics.js';
import { MAX_PUBLISH_BYTES, type Permissions, type Role } from './permissions.js';

/** A message given to a local subscriber; `retained` only for the retained message(s) given at subscribe time. */
export type LocalMessageHandler = (topic: string, payload: Buffer, retained: boolean) => void;

/** Why the local client refused a call. */
export type LocalClientRefusal = 'bad-credentials' | 'not-authorized' | 'too-large' | 'invalid-topic' | 'closed';

export class LocalClientError extends Error {
  constructor(
    readonly reason: LocalClientRefusal,
    message: string,
  ) {
    super(message);
    this.name = 'LocalClientError';
  }
}

export interface LocalSubscription {
  readonly filter: string;
  /** Stops the deliveries at once (nothing is given to the handler after this call) and removes it from the broker. */
  unsubscribe(): Promise<void>;
}

export interface LocalClient {
  /** The account the credentials belong to. */
  readonly account: Role;
  /**
   * Publishes at QoS 0, not retained; throws a LocalClientError (and nothing is delivered) when the account may not
   * write `topic`, the payload is over MAX_PUBLISH_BYTES, the topic is not a topic name, or the client or broker is
   * closed. `done` runs when Aedes has handed the message to every subscriber.
   */
  publish(topic: string, payload: string | Buffer, done?: (error?: Error | null) => void): void;
  /**
   * Follows `filter`: first the retained messages matching it (marked retained, MQTT 3.1.1 section 3.3.1.3), then
   * every live one (not marked, [MQTT-3.3.1-9]) in the broker's order. Resolves once the retained ones are given;
   * rejects with a LocalClientError when the account may read nothing the filter matches or it is not a filter.
   */
  subscribe(filter: string, handler: LocalMessageHandler): Promise<LocalSubscription>;
  /** Undoes every subscription; the client refuses every call afterwards. */
  close(): Promise<void>;
}

/** The retained messages in the broker's persistence, as aedes-persistence v11 gives them. */
export interface RetainedStore {
  /**
   * aedes-persistence v11 (README, "instance.createRetainedStreamCombi(patterns)"): "a stream that will load all
   * retained messages matching given patterns (according to the MQTT spec) asynchronously". The in-memory store
   * returns `Readable.from()` of a generator (asyncPersistence.js); a Readable is an async iterator, which is how it is
   * read here. The single-pattern createRetainedStream is deprecated there.
   */
  createRetainedStreamCombi(patterns: string[]): AsyncIterable<{ topic: string; payload: Buffer | string }>;
}

/** What the local client needs of the broker it lives in. */
export interface LocalBroker {
  readonly aedes: {
    readonly closed: boolean;
    publish(packet: PublishPacket, callback: (error?: Error) => void): void;
    subscribe(topic: string, deliverfunc: (packet: AedesPublishPacket, callback: () => void) => void, callback: () => void): void;
    unsubscribe(topic: string, deliverfunc: (packet: AedesPublishPacket, callback: () => void) => void, callback: () => void): void;
  };
  readonly retained: RetainedStore;
  readonly permissions: Permissions;
  readonly metrics: BrokerMetrics;
}

function noop(): void {}

/** A topic name a PUBLISH may carry: not empty, no wildcard [MQTT-3.3.2-2] (lib/handlers/publish.js checks the same). */
function isTopicName(topic: string): boolean {
  return topic.length > 0 && !topic.includes('+') && !topic.includes('#');
}

/** A topic filter [MQTT-4.7.1]: not empty, `+` only as a whole level, `#` only as the whole last level. */
function isTopicFilter(filter: string): boolean {
  if (filter.length === 0) return false;
  const levels = filter.split('/');
  return levels.every((level, i) => {
    if (level === '#') return i === levels.length - 1;
    if (level === '+') return true;
    return !level.includes('+') && !level.includes('#');
  });
}

/** `$` topics are not matched by a filter whose first level is a wildcard [MQTT-4.7.2-1]. */
function startsWithWildcard(filter: string): boolean {
  return filter.startsWith('+') || filter.startsWith('#');
}

function asBuffer(payload: Buffer | string): Buffer {
  return typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
}

/** The broker's local client for `account`; throws a LocalClientError when the credentials are no account's. */
export function openLocalClient(broker: LocalBroker, account: Account): LocalClient {
  const role = broker.permissions.login(account.username, Buffer.from(account.password, 'utf8'));
  if (role === undefined) throw new LocalClientError('bad-credentials', 'local client: bad username or password');
  return new InProcessClient(broker, role);
}

class InProcessClient implements LocalClient {
  private readonly subscriptions = new Set<Subscription>();
  private closed = false;

  constructor(
    private readonly broker: LocalBroker,
    readonly account: Role,
  ) {}

  private refuseIfClosed(): void {
    if (this.closed) throw new LocalClientError('closed', 'local client: closed');
    if (this.broker.aedes.closed) throw new LocalClientError('closed', 'local client: the broker is closed');
  }

  publish(topic: string, payload: string | Buffer, done: (error?: Error | null) => void = noop): void {
    this.refuseIfClosed();
    const { permissions, metrics, aedes } = this.broker;
    if (!isTopicName(topic)) throw new LocalClientError('invalid-topic', `local client: not a topic name: ${JSON.stringify(topic)}`);
    // The same checks, in the same order, as the authorizePublish hook (hooks.ts) makes for a connected client.
    if (!permissions.mayPublish(this.account, topic)) {
      metrics.publishRefused(this.account, 'not-authorized');
      throw new LocalClientError('not-authorized', `local client: the ${this.account} account may not publish to ${topic}`);
    }
    const bytes = asBuffer(payload);
    if (bytes.length > MAX_PUBLISH_BYTES) {
      metrics.publishRefused(this.account, 'too-large');
      throw new LocalClientError(
        'too-large',
        `local client: a payload of ${bytes.length} bytes to ${topic} is over the largest accepted (${MAX_PUBLISH_BYTES})`,
      );
    }
    metrics.published(this.account);
    aedes.publish({ cmd: 'publish', topic, payload: bytes, qos: 0, retain: false, dup: false }, done);
  }

  async subscribe(filter: string, handler: LocalMessageHandler): Promise<LocalSubscription> {
    this.refuseIfClosed();
    if (!isTopicFilter(filter)) throw new LocalClientError('invalid-topic', `local client: not a topic filter: ${JSON.stringify(filter)}`);
    if (!this.broker.permissions.maySubscribe(this.account, filter)) {
      this.broker.metrics.subscriptionRefused(this.account);
      throw new LocalClientError('not-authorized', `local client: the ${this.account} account may read nothing that ${filter} matches`);
    }
    const subscription = new Subscription(this.broker, this.account, filter, handler, () => this.subscriptions.delete(subscription));
    this.subscriptions.add(subscription);
    await subscription.start();
    return subscription;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.subscriptions].map((s) => s.unsubscribe()));
  }
}

class Subscription implements LocalSubscription {
  /** Live messages that came while the retained ones were being read: given after them. Undefined once live. */
  private waiting: { topic: string; payload: Buffer }[] | undefined = [];
  private active = true;
  private readonly noDollar: boolean;

  constructor(
    private readonly broker: LocalBroker,
    private readonly account: Role,
    readonly filter: string,
    private readonly handler: LocalMessageHandler,
    private readonly forget: () => void,
  ) {
    this.noDollar = startsWithWildcard(filter);
  }

  /** What the account may be given of `topic`: authorizeForward's check, and the `$` rule. */
  private readable(topic: string): boolean {
    if (this.noDollar && topic.startsWith('$')) return false;
    return this.broker.permissions.mayRead(this.account, topic);
  }

  /**
   * Aedes' deliverfunc: called by its emitter (mqemitter) for each message whose topic matches, in the order Aedes
   * emits them; the callback is called before returning, as docs/Aedes.md requires. The packet is Aedes' own, shared
   * with every other subscriber: only its topic and payload are read.
   */
  private readonly deliver = (packet: AedesPublishPacket, callback: () => void): void => {
    try {
      if (!this.active || !this.readable(packet.topic)) return;
      const payload = asBuffer(packet.payload);
      if (this.waiting) this.waiting.push({ topic: packet.topic, payload });
      else this.give(packet.topic, payload, false);
    } finally {
      callback();
    }
  };

  /**
   * A handler that throws must not break Aedes' delivery to the other subscribers (its emitter waits for every
   * callback): the error is thrown again on the next tick, uncaught, as one thrown by an MQTT client's message
   * listener would be.
   */
  private give(topic: string, payload: Buffer, retained: boolean): void {
    try {
      this.handler(topic, payload, retained);
    } catch (error) {
      process.nextTick(() => {
        throw error;
      });
    }
  }

  /**
   * Live first, then retained: the live subscription is in place before the retained messages are read, so nothing
   * published meanwhile is missed. A live message that comes during the read waits; when the read is done the
   * retained messages are given (marked retained), except one whose topic already had a live message meanwhile: Aedes
   * stores a retained message before it emits it (aedes.js: storeRetained comes before emitPacket), so the read may
   * have found that very message, or one older than it; either way the live one is newer or the same, and giving the
   * retained one would let an older value overtake it, or give the same one twice. Then the waiting live messages, in
   * their order. Aedes' own SUBSCRIBE handler instead sends the retained ones as they are read, beside live ones.
   */
  async start(): Promise<void> {
    const { aedes, retained } = this.broker;
    try {
      await new Promise<void>((resolve, reject) =>
        // Aedes calls back with an error for a filter of too many levels (aedes.js subscribe()), untyped.
        aedes.subscribe(this.filter, this.deliver, ((error?: Error) => (error ? reject(error) : resolve())) as () => void),
      );
      const found: { topic: string; payload: Buffer }[] = [];
      for await (const packet of retained.createRetainedStreamCombi([this.filter])) {
        found.push({ topic: packet.topic, payload: asBuffer(packet.payload) });
      }
      const live = this.waiting ?? [];
      this.waiting = undefined;
      if (!this.active) return;
      const overtaken = new Set(live.map((message) => message.topic));
      for (const message of found) {
        if (this.active && !overtaken.has(message.topic) && this.readable(message.topic)) this.give(message.topic, message.payload, true);
      }
      for (const message of live) {
        if (this.active) this.give(message.topic, message.payload, false);
      }
    } catch (error) {
      await this.unsubscribe();
      throw error;
    }
  }

  async unsubscribe(): Promise<void> {
    if (!this.active) return;
    this.active = false;
    this.waiting = undefined;
    this.forget();
    // Aedes' emitter removes the function on its next turn (mqemitter removeListener): `active` stops it before.
    await new Promise<void>((resolve) => this.broker.aedes.unsubscribe(this.filter, this.deliver, resolve));
  }
}
