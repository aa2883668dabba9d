/**
 * The operator's MQTT tools as they really connect, against the embedded broker, modelled on their source:
 *
 * - MQTT Explorer (thomasnordquist/MQTT-Explorer): app/src/model/ConnectionOptions.ts createEmptyConnection() gives a
 *   client id `mqtt-explorer-` + 8 hex characters and the subscriptions `#` and `$SYS/#` at QoS 0;
 *   backend/src/DataSource/MqttSource.ts connects with mqtt.js' defaults (MQTT 3.1.1, clean session, keepalive 60 s,
 *   reconnect after 1 s) and `resubscribe: false`, sends one SUBSCRIBE per subscription on every connect, shows a
 *   refused one as an error (stateMachine.setError), and publishes from its panel with the QoS and retain flag chosen.
 * - Node-RED's mqtt nodes (node-red/node-red, @node-red/nodes/core/network/10-mqtt.js): all the mqtt in and out nodes
 *   of one mqtt-broker config node share its one connection; the config node has its own client id (a session that is
 *   not clean needs one), "Use clean session" unticked (clean: false), keepalive 60 s, reconnect every 5 s
 *   (mqttReconnectTime); an mqtt in node subscribes with its QoS, again on every connect; an mqtt out node publishes
 *   msg.payload (an object as JSON) with msg.qos and msg.retain.
 *
 * A refused publish is dropped and a refused subscription gets 0x80, the connection stays; both are counted in the
 * broker's metrics and logged once per connection and topic.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { operatorClient, WsClient } from '../helpers/clients.js';
import { StateWatcher } from '../helpers/leds.js';
import { scrape } from '../helpers/metrics.js';
import { TestSystem } from '../helpers/system.js';
import { sleep, waitFor, within } from '../helpers/wait.js';

/** MQTT Explorer's connection: its options, its two default subscriptions, what it shows. */
class MqttExplorer {
  readonly client: MqttClient;
  readonly clientId = `mqtt-explorer-${randomBytes(4).toString('hex')}`;
  /** The tree it shows: the last payload of every topic. */
  readonly tree = new Map<string, string>();
  readonly errors: string[] = [];
  closes = 0;

  constructor(system: TestSystem, subscriptions = ['#', '$SYS/#']) {
    const { operatorUsername, operatorPassword } = system.secrets;
    this.client = mqtt.connect(`mqtt://127.0.0.1:${system.ports.broker}`, {
      resubscribe: false,
      username: operatorUsername,
      password: operatorPassword,
      clientId: this.clientId,
    });
    this.client.on('connect', () => {
      for (const topic of subscriptions) this.subscribe(topic);
    });
    this.client.on('close', () => {
      this.closes++;
    });
    this.client.on('message', (topic, payload) => this.tree.set(topic, payload.toString()));
  }

  subscribe(topic: string): void {
    this.client.subscribe(topic, { qos: 0 }, (error) => {
      if (error) this.errors.push(`${topic}: ${error.message}`);
    });
  }

  end(): void {
    this.client.end(true);
  }
}

/** One mqtt-broker config node of Node-RED and the connection its nodes share. */
function nodeRedBroker(system: TestSystem, clientId: string, extra: IClientOptions = {}): MqttClient {
  const { operatorUsername, operatorPassword } = system.secrets;
  return mqtt.connect(`mqtt://127.0.0.1:${system.ports.broker}`, {
    clientId,
    username: operatorUsername,
    password: operatorPassword,
    keepalive: 60,
    clean: false,
    reconnectPeriod: 5000,
    ...extra,
  });
}

function connected(client: MqttClient): Promise<{ sessionPresent: boolean }> {
  return new Promise((resolve, reject) => {
    client.once('connect', (connack) => resolve({ sessionPresent: connack.sessionPresent }));
    client.once('error', reject);
  });
}

describe('MQTT tools as they connect: MQTT Explorer, Node-RED, and refused publishes and subscriptions', () => {
  let system: TestSystem;
  let observer: MqttClient;
  let leds: StateWatcher;
  let metricsUrl: string;
  /** Every tool client a test opened, ended even when the test failed half-way. */
  const opened: MqttClient[] = [];

  before(async () => {
    system = await TestSystem.start({ env: { HA_DISCOVERY: 'true', FAILSAFE_TIMEOUT_MS: '300' } });
    observer = await operatorClient(system);
    leds = new StateWatcher(observer);
    await leds.until('the retained state', () => true);
    metricsUrl = `http://127.0.0.1:${system.ports.brokerMetrics}/metrics`;
  });

  after(async () => {
    for (const client of [observer, ...opened]) client?.end(true);
    await system?.stop();
  });

  it("MQTT Explorer's default `#` and `$SYS/#` are granted: it shows our topics and the broker's, nothing else, and stays connected", async () => {
    const explorer = new MqttExplorer(system);
    opened.push(explorer.client);
    await waitFor('MQTT Explorer to show the retained state', () => explorer.tree.has('gravity-led/leds/state'));
    // A new client connecting shows up under $SYS, as it does on any broker.
    const other = await operatorClient(system);
    await waitFor('a $SYS message', () => [...explorer.tree.keys()].some((t) => t.startsWith('$SYS/') && t.endsWith('/new/clients')));
    other.end(true);
    for (const topic of [
      'gravity-led/leds/state',
      'gravity-led/leds/left/state',
      'gravity-led/leds/right/state',
      'gravity-led/led-driver/status',
      'gravity-led/gateway/status',
      'gravity-led/gateway/clients',
      'homeassistant/light/gravity-led/left/config',
    ]) {
      await waitFor(`MQTT Explorer to show ${topic}`, () => explorer.tree.has(topic));
    }
    for (const topic of explorer.tree.keys())
      assert.match(topic, /^(gravity-led|homeassistant|\$SYS)\//, `MQTT Explorer was shown ${topic}`);
    assert.deepEqual(explorer.errors, [], 'MQTT Explorer shows no subscribe error');

    // After a phone's burst, what it shows for each LED is what the led-driver applied.
    const phone = await WsClient.controller(system);
    for (let i = 0; i < 150; i++) {
      phone.send(`0 ${10 + (i % 80)} 80`);
      await sleep(5);
    }
    const last = 10 + (149 % 80);
    await waitFor('the applied state', () => system.simLeds?.right === last);
    await waitFor(
      'MQTT Explorer to show the settled right LED',
      () => explorer.tree.get('gravity-led/leds/right/state') === `{"state":"ON","brightness":${last}}`,
    );
    assert.equal(JSON.parse(explorer.tree.get('gravity-led/leds/state') ?? '{}').right, last);
    phone.close();
    await phone.closed();
    await waitFor('both LEDs off after the phone left', () => system.simLeds?.right === 0);
    // The phone keeps precedence over manual commands for FAILSAFE_TIMEOUT_MS after its last frame.
    await sleep(400);

    // A subscription to another application's topics can deliver nothing: refused (0x80), and it stays connected.
    explorer.subscribe('zigbee2mqtt/#');
    await waitFor('the refusal', () => explorer.errors.length > 0);
    assert.match(explorer.errors[0] ?? '', /^zigbee2mqtt\/#/);
    // A publish from its panel to a topic the operator may not write is dropped; the connection stays.
    await within(
      explorer.client.publishAsync('gravity-led/leds/state', '{"left":99,"right":99,"reason":"gravity","ts":1}', {
        qos: 1,
        retain: true,
      }),
      5000,
      'the publish to be acknowledged',
    );
    await within(explorer.client.publishAsync('gravity-led/leds/set', '{"left":25}', { qos: 0 }), 5000, 'the publish to be acknowledged');
    await leds.until('left = 25 from the publish panel', (s) => s.left === 25);
    assert.ok(!leds.states.some((s) => s.left === 99), 'the forged state reached a subscriber');
    assert.equal(explorer.closes, 0, 'MQTT Explorer was disconnected');
    assert.ok(explorer.client.connected);
    // A fresh subscriber gets the led-driver's retained state, not the forged one.
    const fresh = await operatorClient(system);
    const retained = new StateWatcher(fresh);
    const state = await retained.until('the retained state', () => true);
    assert.equal(state.left, 25);
    fresh.end(true);
    explorer.end();
  });

  it('Node-RED: its own client id and a persistent session; a mistaken mqtt out node costs nothing but its message', async () => {
    const clientId = `nodered_${randomBytes(4).toString('hex')}`;
    let broker = nodeRedBroker(system, clientId);
    opened.push(broker);
    const first = await connected(broker);
    let closes = 0;
    broker.on('close', () => {
      closes++;
    });
    // mqtt in: gravity-led/leds/state, QoS 1, output "a parsed JSON object".
    const received: { left: number; right: number }[] = [];
    broker.on('message', (topic, payload) => {
      if (topic === 'gravity-led/leds/state') received.push(JSON.parse(payload.toString()) as { left: number; right: number });
    });
    const granted = await broker.subscribeAsync('gravity-led/leds/state', { qos: 1 });
    assert.equal(granted[0]?.qos, 1, 'the QoS 1 subscription is granted');
    await waitFor('the retained state in the mqtt in node', () => received.length > 0);

    // mqtt out, msg.qos 1: a JSON object is sent as its text.
    await within(
      broker.publishAsync('gravity-led/leds/set', JSON.stringify({ left: 20, right: 0 }), { qos: 1 }),
      5000,
      'the publish to be acknowledged',
    );
    await waitFor('the mqtt in node to get left = 20', () => received.some((s) => s.left === 20));
    // A second mqtt out node, mistakenly on the state topic: dropped, and the shared connection stays.
    await within(
      broker.publishAsync('gravity-led/leds/state', JSON.stringify({ left: 66, right: 66 }), { qos: 1, retain: true }),
      5000,
      'the publish to be acknowledged',
    );
    await within(
      broker.publishAsync('gravity-led/leds/set', JSON.stringify({ left: 35 }), { qos: 1 }),
      5000,
      'the publish to be acknowledged',
    );
    await waitFor('the mqtt in node to get left = 35', () => received.some((s) => s.left === 35));
    assert.ok(!received.some((s) => s.left === 66), 'the mistaken message reached the mqtt in node');
    assert.equal(closes, 0, "Node-RED's connection was dropped");

    // Node-RED restarts (a full deploy): the same client id, clean false, finds its session.
    await broker.endAsync();
    broker = nodeRedBroker(system, clientId);
    opened.push(broker);
    const again = await connected(broker);
    assert.equal(first.sessionPresent, false);
    assert.equal(again.sessionPresent, true, 'the persistent session was kept');
    broker.end(true);
  });

  it('a refused publish is logged once per connection and topic, counted, and never costs the connection', async () => {
    const broker = system.service('broker');
    const from = broker.mark;
    const before = await scrape(metricsUrl);
    const refusedBefore = before.count('gravity_led_broker_publishes_refused_total', { account: 'operator', reason: 'not-authorized' });
    const a = await operatorClient(system);
    opened.push(a);
    for (let i = 0; i < 20; i++) {
      const qos = (i % 3) as 0 | 1 | 2;
      await within(
        a.publishAsync('gravity-led/leds/state', `{"left":${50 + i},"right":0}`, { qos }),
        5000,
        'the publish to be acknowledged',
      );
      await within(
        a.publishAsync('gravity-led/gateway/clients', '{"clients":0,"maxClients":1}', { qos }),
        5000,
        'the publish to be acknowledged',
      );
    }
    const b = await operatorClient(system);
    opened.push(b);
    await within(b.publishAsync('gravity-led/leds/state', '{"left":49,"right":0}', { qos: 1 }), 5000, 'the publish to be acknowledged');
    assert.ok(a.connected && b.connected, 'a refused publish closed the connection');
    const dropped = () => broker.linesAtLeast(40, from).filter((l) => l.msg.includes('dropped a publish'));
    await waitFor('the warnings', () => dropped().length >= 3);
    await sleep(200);
    assert.deepEqual(
      dropped()
        .map((l) => `${l.client === a.options.clientId ? 'a' : 'b'} ${l.topic}`)
        .sort(),
      ['a gravity-led/gateway/clients', 'a gravity-led/leds/state', 'b gravity-led/leds/state'],
    );
    const after = await scrape(metricsUrl);
    assert.equal(
      after.count('gravity_led_broker_publishes_refused_total', { account: 'operator', reason: 'not-authorized' }) - refusedBefore,
      41,
    );
    assert.ok(!leds.states.some((s) => s.left >= 49 && s.left <= 69), 'a forged state reached a subscriber');
    a.end(true);
    b.end(true);
  });

  it("the broker's /metrics, /healthz and /readyz on BROKER_METRICS_PORT", async () => {
    const s = await scrape(metricsUrl);
    assert.match(s.contentType, /^text\/plain; version=0\.0\.4/);
    assert.equal(s.value('gravity_led_broker_clients', { account: 'service' }), 2, 'the gateway and the led-driver');
    assert.ok((s.value('gravity_led_broker_publishes_total', { account: 'service' }) ?? 0) > 0);
    assert.ok((s.value('gravity_led_broker_subscriptions_refused_total', { account: 'operator' }) ?? 0) >= 1);
    for (const path of ['/healthz', '/readyz']) {
      const response = await fetch(`http://127.0.0.1:${system.ports.brokerMetrics}${path}`);
      assert.equal(response.status, 200, path);
    }
  });
});
