/**
 * The broker's local client (broker/src/local-client.ts), against a real embedded broker started by startBroker and
 * real MQTT clients over TCP (mqtt.js, as the led-driver connects): the same permissions as a connected client of
 * its account, the largest payload, the retained message given at subscribe time and marked so, a live message
 * never overtaken by the older retained one, and messages crossing both ways between it and TCP clients.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type LocalClient, LocalClientError, MAX_PUBLISH_BYTES, type RunningBroker } from '@gravity-led/broker';
import { topicsFor } from '@gravity-led/shared';
import mqtt, { type MqttClient } from 'mqtt';
import { startEmbeddedBroker } from '../helpers/embedded-broker.js';
import { parseExposition } from '../helpers/metrics.js';
import { waitFor } from '../helpers/wait.js';

const SERVICE = { username: 'local-client-service', password: 'local-client-service-password-1234' };
const OPERATOR = { username: 'local-client-operator', password: 'local-client-operator-password-1234' };
const topics = topicsFor('gravity-led');

type Received = [topic: string, payload: string, retained: boolean];

describe('the broker local client', () => {
  let broker: RunningBroker;
  let url: string;
  const opened: { end(): unknown }[] = [];
  let n = 0;
  /** A topic of its own for each test, under the prefix both accounts read and the services write. */
  const fresh = () => `gravity-led/test/local/${++n}`;

  before(async () => {
    ({ broker, url } = await startEmbeddedBroker({ service: SERVICE, operator: OPERATOR }));
  });

  after(async () => {
    for (const client of opened) client.end();
    await broker.close();
  });

  async function tcpClient(account = SERVICE): Promise<MqttClient> {
    const client = mqtt.connect(url, { ...account, reconnectPeriod: 0 });
    opened.push({ end: () => client.end(true) });
    await new Promise<void>((resolve, reject) => client.once('connect', () => resolve()).once('error', reject));
    return client;
  }

  function local(account = SERVICE): LocalClient {
    const client = broker.localClient(account);
    opened.push({ end: () => client.close() });
    return client;
  }

  /** A TCP subscriber to `topic` recording what it is given. */
  async function tcpReader(topic: string, qos: 0 | 1 = 1): Promise<{ client: MqttClient; received: Received[] }> {
    const client = await tcpClient();
    const received: Received[] = [];
    client.on('message', (t, payload, packet) => received.push([t, payload.toString(), packet.retain]));
    await client.subscribeAsync(topic, { qos });
    return { client, received };
  }

  const count = (name: string, labels: Record<string, string>) => parseExposition(broker.metrics.registry.render()).count(name, labels);

  it('refuses credentials that are no account', () => {
    assert.throws(
      () => broker.localClient({ username: SERVICE.username, password: 'wrong' }),
      (error: unknown) => error instanceof LocalClientError && error.reason === 'bad-credentials',
    );
  });

  it('a publish the account may not make is refused with a clear error, counted, and never delivered', async () => {
    // The operator may drive the inputs, never forge the led-driver's state (permissions.ts).
    const { received } = await tcpReader(topics.ledsState);
    const refusedBefore = count('gravity_led_broker_publishes_refused_total', { account: 'operator', reason: 'not-authorized' });
    assert.throws(
      () => local(OPERATOR).publish(topics.ledsState, '{"forged":true}'),
      (error: unknown) =>
        error instanceof LocalClientError &&
        error.reason === 'not-authorized' &&
        /operator account may not publish to gravity-led\/leds\/state/.test(error.message),
    );
    assert.equal(count('gravity_led_broker_publishes_refused_total', { account: 'operator', reason: 'not-authorized' }), refusedBefore + 1);
    // A fence on the same topic from the service account: whatever was delivered before it has arrived with it.
    local().publish(topics.ledsState, 'fence');
    await waitFor('the fence', () => received.length > 0);
    assert.deepEqual(received, [[topics.ledsState, 'fence', false]]);
  });

  it('a subscription that can reach nothing the account may read is refused, counted, and given nothing', async () => {
    const refusedBefore = count('gravity_led_broker_subscriptions_refused_total', { account: 'service' });
    const refused: Received[] = [];
    await assert.rejects(
      local().subscribe('$SYS/#', (t, p, r) => refused.push([t, p.toString(), r])),
      (error: unknown) => error instanceof LocalClientError && error.reason === 'not-authorized',
    );
    await assert.rejects(
      local(OPERATOR).subscribe('elsewhere/#', (t, p, r) => refused.push([t, p.toString(), r])),
      (error: unknown) => error instanceof LocalClientError && error.reason === 'not-authorized',
    );
    assert.equal(count('gravity_led_broker_subscriptions_refused_total', { account: 'service' }), refusedBefore + 1);
    // The operator may read $SYS: a client connecting is announced there, and reaches the operator's subscription only.
    const sys: string[] = [];
    await local(OPERATOR).subscribe('$SYS/+/new/clients', (t) => sys.push(t));
    await tcpClient();
    await waitFor('the $SYS announcement', () => sys.length > 0);
    assert.deepEqual(refused, []);
  });

  it('a filter starting with a wildcard is not given $SYS topics [MQTT-4.7.2-1]', async () => {
    const all: string[] = [];
    const sys: string[] = [];
    const everything = local(OPERATOR);
    await everything.subscribe('#', (t) => all.push(t));
    await everything.subscribe('$SYS/#', (t) => sys.push(t));
    await tcpClient();
    await waitFor('the $SYS announcement', () => sys.some((t) => t.endsWith('/new/clients')));
    const topic = fresh();
    local().publish(topic, 'fence');
    await waitFor('the fence', () => all.includes(topic));
    assert.deepEqual(
      all.filter((t) => t.startsWith('$')),
      [],
    );
  });

  it('a payload over MAX_PUBLISH_BYTES is refused and counted; one of exactly MAX_PUBLISH_BYTES is delivered', async () => {
    const topic = fresh();
    const { received } = await tcpReader(topic);
    const before = count('gravity_led_broker_publishes_refused_total', { account: 'service', reason: 'too-large' });
    assert.throws(
      () => local().publish(topic, Buffer.alloc(MAX_PUBLISH_BYTES + 1, 'x')),
      (error: unknown) => error instanceof LocalClientError && error.reason === 'too-large',
    );
    // Counted in bytes, not characters.
    assert.throws(
      () => local().publish(topic, 'é'.repeat(MAX_PUBLISH_BYTES / 2 + 1)),
      (error: unknown) => error instanceof LocalClientError && error.reason === 'too-large',
    );
    assert.equal(count('gravity_led_broker_publishes_refused_total', { account: 'service', reason: 'too-large' }), before + 2);
    local().publish(topic, Buffer.alloc(MAX_PUBLISH_BYTES, 'y'));
    await waitFor('the largest payload', () => received.length > 0);
    assert.deepEqual(received, [[topic, 'y'.repeat(MAX_PUBLISH_BYTES), false]]);
  });

  it('refuses a topic name with wildcards and a malformed filter', async () => {
    assert.throws(
      () => local().publish('gravity-led/+', 'x'),
      (error: unknown) => error instanceof LocalClientError && error.reason === 'invalid-topic',
    );
    assert.throws(
      () => local().publish('', 'x'),
      (error: unknown) => error instanceof LocalClientError && error.reason === 'invalid-topic',
    );
    for (const filter of ['gravity-led/#/x', 'gravity-led/a+', '']) {
      await assert.rejects(
        local().subscribe(filter, () => {}),
        (error: unknown) => error instanceof LocalClientError && error.reason === 'invalid-topic',
        filter,
      );
    }
  });

  it('a TCP client (mqtt.js, as the led-driver) receives what the local client publishes: QoS 0, not retained, counted as the account', async () => {
    const { received, client } = await tcpReader(topics.gravity, 0);
    const packets: { qos: number; retain: boolean }[] = [];
    client.on('message', (_t, _p, packet) => packets.push({ qos: packet.qos, retain: packet.retain }));
    const acceptedBefore = count('gravity_led_broker_publishes_total', { account: 'service' });
    const gravity = local();
    let handed = 0;
    for (let i = 1; i <= 3; i++) gravity.publish(topics.gravity, `{"x":0,"y":${i},"z":9.8}`, () => handed++);
    await waitFor('three gravity values', () => received.length === 3);
    assert.deepEqual(
      received.map(([, payload]) => payload),
      ['{"x":0,"y":1,"z":9.8}', '{"x":0,"y":2,"z":9.8}', '{"x":0,"y":3,"z":9.8}'],
    );
    assert.deepEqual(packets, [
      { qos: 0, retain: false },
      { qos: 0, retain: false },
      { qos: 0, retain: false },
    ]);
    assert.equal(handed, 3, 'each publish calls back once Aedes has handed it on');
    assert.equal(count('gravity_led_broker_publishes_total', { account: 'service' }), acceptedBefore + 3);
  });

  it('the local subscriber receives, in order and not marked retained, what a TCP client publishes (QoS 1, retained)', async () => {
    const topic = fresh();
    const received: Received[] = [];
    await local().subscribe(topic, (t, p, r) => received.push([t, p.toString(), r]));
    const publisher = await tcpClient();
    for (let i = 1; i <= 5; i++) publisher.publish(topic, `state ${i}`, { qos: 1, retain: true });
    await waitFor('five states', () => received.length === 5);
    // Live messages to an established subscription carry RETAIN 0 [MQTT-3.3.1-9], as Aedes sends them to its clients.
    assert.deepEqual(
      received,
      [1, 2, 3, 4, 5].map((i) => [topic, `state ${i}`, false]),
    );
  });

  it('gives the retained message at subscribe time, marked retained, before subscribe resolves; then live ones unmarked', async () => {
    const topic = fresh();
    const publisher = await tcpClient();
    await publisher.publishAsync(topic, 'kept', { qos: 1, retain: true });
    const received: Received[] = [];
    await local().subscribe(topic, (t, p, r) => received.push([t, p.toString(), r]));
    assert.deepEqual(received, [[topic, 'kept', true]]);
    await publisher.publishAsync(topic, 'news', { qos: 1, retain: true });
    await waitFor('the live one', () => received.length === 2);
    assert.deepEqual(received[1], [topic, 'news', false]);
  });

  it('a filter with wildcards is given every retained message it matches', async () => {
    const root = fresh();
    const publisher = await tcpClient();
    await publisher.publishAsync(`${root}/a`, 'A', { qos: 1, retain: true });
    await publisher.publishAsync(`${root}/b`, 'B', { qos: 1, retain: true });
    const received: Received[] = [];
    await local().subscribe(`${root}/+`, (t, p, r) => received.push([t, p.toString(), r]));
    assert.deepEqual(received.sort(), [
      [`${root}/a`, 'A', true],
      [`${root}/b`, 'B', true],
    ]);
  });

  it('a live message that comes while the retained one is read is not overtaken by it: the older retained one is dropped', async () => {
    const topic = fresh();
    const publisher = await tcpClient();
    await publisher.publishAsync(topic, 'old', { qos: 1, retain: true });
    const received: Received[] = [];
    const subscribed = local().subscribe(topic, (t, p, r) => received.push([t, p.toString(), r]));
    // The live subscription is in place as subscribe() returns; the retained message is read after that, so this
    // value, published at once, comes while the read is pending.
    local().publish(topic, 'new');
    await subscribed;
    assert.deepEqual(received, [[topic, 'new', false]]);
    // And live ones keep coming after it, in order.
    local().publish(topic, 'newer');
    await waitFor('the next one', () => received.length === 2);
    assert.deepEqual(received[1], [topic, 'newer', false]);
  });

  it('a retained message published while the retained ones are read is given once, as live, never as an older retained one', async () => {
    const topic = fresh();
    const publisher = await tcpClient();
    await publisher.publishAsync(topic, 'old', { qos: 1, retain: true });
    const received: Received[] = [];
    const subscribed = local().subscribe(topic, (t, p, r) => received.push([t, p.toString(), r]));
    // Aedes stores a retained message before it emits it: the read may find this one, or the old one.
    broker.aedes.publish({ cmd: 'publish', topic, payload: Buffer.from('new'), qos: 1, retain: true, dup: false }, () => {});
    await subscribed;
    await waitFor('the new one', () => received.length > 0);
    assert.deepEqual(received, [[topic, 'new', false]]);
  });

  it('unsubscribe and close stop the deliveries at once; a closed client refuses every call', async () => {
    const topic = fresh();
    const client = local();
    const first: string[] = [];
    const second: string[] = [];
    const subscription = await client.subscribe(topic, (_t, p) => first.push(p.toString()));
    await client.subscribe(topic, (_t, p) => second.push(p.toString()));
    const { received } = await tcpReader(topic);
    const publisher = local();
    publisher.publish(topic, '1');
    await waitFor('the first', () => received.length === 1);
    await subscription.unsubscribe();
    publisher.publish(topic, '2');
    await waitFor('the second', () => received.length === 2);
    await client.close();
    publisher.publish(topic, '3');
    await waitFor('the third', () => received.length === 3);
    assert.deepEqual(first, ['1']);
    assert.deepEqual(second, ['1', '2']);
    assert.throws(
      () => client.publish(topic, 'x'),
      (error: unknown) => error instanceof LocalClientError && error.reason === 'closed',
    );
    await assert.rejects(
      client.subscribe(topic, () => {}),
      (error: unknown) => error instanceof LocalClientError && error.reason === 'closed',
    );
  });

  it('unsubscribing from inside the handler stops the retained and waiting messages behind it', async () => {
    const root = fresh();
    const publisher = await tcpClient();
    await publisher.publishAsync(`${root}/a`, 'A', { qos: 1, retain: true });
    await publisher.publishAsync(`${root}/b`, 'B', { qos: 1, retain: true });
    const received: string[] = [];
    const client = local();
    await client.subscribe(`${root}/+`, (_t, p) => {
      received.push(p.toString());
      void client.close();
    });
    assert.equal(received.length, 1);
  });
});
