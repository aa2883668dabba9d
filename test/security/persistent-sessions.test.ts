/**
 * Persistent sessions on the embedded broker, as Node-RED's mqtt nodes make them: its broker config node with "Use
 * clean session" off connects with clean session 0 and its own client id, and an mqtt-in node subscribes at QoS 1
 * (Node-RED's mqtt node documentation). While such a client is away, the broker keeps its messages for it
 * [MQTT-3.1.2-5]; here the operator publishes 5,000 of 4 KB to a topic it subscribed. The broker must keep at most
 * BROKER_MAX_QUEUED_MESSAGES of them (the newest: Mosquitto's max_queued_messages keeps the queue and drops what
 * comes beyond it; we drop the oldest, since the LED topics mean "the latest"), its memory bounded, and forget a
 * session whose client stays away BROKER_SESSION_EXPIRY_S (Mosquitto's persistent_client_expiration).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { INSPECT, LiveHeap } from '../helpers/live-heap.js';
import { rssBytes } from '../helpers/memory.js';
import { scrape } from '../helpers/metrics.js';
import { TestSystem } from '../helpers/system.js';
import { sleep, waitFor } from '../helpers/wait.js';

const MESSAGES = 5000;
const ROUNDS = 3;
/** BROKER_MAX_QUEUED_MESSAGES' default. */
const MAX_QUEUED = 1000;
/** Just under the broker's 4 KiB payload limit: each message is a fair share of memory. */
const PAYLOAD_BYTES = 4000;
const TOPIC = 'gravity-led/gravity';

/** Node-RED's broker config node with "Use clean session" off: MQTT 3.1.1, its own client id, clean session 0. */
function nodeRed(system: TestSystem, clientId: string): Promise<{ client: MqttClient; sessionPresent: boolean; received: string[] }> {
  const { operatorUsername: username, operatorPassword: password } = system.secrets;
  const client = mqtt.connect(`mqtt://127.0.0.1:${system.ports.broker}`, {
    clientId,
    clean: false,
    protocolVersion: 4,
    keepalive: 60,
    username,
    password,
    reconnectPeriod: 0,
  });
  const received: string[] = [];
  // The queued messages come right after CONNACK, before any subscribe of ours: listen from the start.
  client.on('message', (_topic, payload) => received.push(payload.subarray(0, payload.indexOf(0x3a)).toString()));
  return new Promise((resolve, reject) => {
    client.once('connect', (connack) => resolve({ client, sessionPresent: connack.sessionPresent, received }));
    client.once('error', reject);
  });
}

/** Publishes `count` messages at QoS 1, numbered from `from`, 100 awaiting their PUBACK at a time. */
async function publishMany(client: MqttClient, count: number, from = 0): Promise<void> {
  const filler = 'x'.repeat(PAYLOAD_BYTES);
  for (let i = 0; i < count; i += 100) {
    await Promise.all(
      Array.from({ length: Math.min(100, count - i) }, (_, j) => client.publishAsync(TOPIC, `${from + i + j}:${filler}`, { qos: 1 })),
    );
  }
}

async function operator(system: TestSystem): Promise<MqttClient> {
  const { operatorUsername: username, operatorPassword: password } = system.secrets;
  return mqtt.connectAsync(`mqtt://127.0.0.1:${system.ports.broker}`, { username, password, reconnectPeriod: 0 });
}

/** Waits until no message has arrived for `quietMs`. */
async function quiet(received: string[], quietMs = 1500): Promise<void> {
  let seen = -1;
  while (seen !== received.length) {
    seen = received.length;
    await sleep(quietMs);
  }
}

describe('persistent sessions (Node-RED) on the embedded broker', () => {
  let system: TestSystem;
  let heap: LiveHeap;

  before(async () => {
    system = await TestSystem.start({ services: ['broker'], env: { LOG_LEVEL: 'info' }, execArgv: { broker: INSPECT } });
    heap = await LiveHeap.attach(system.service('broker'));
  });

  after(async () => {
    heap?.close();
    await system?.stop();
  });

  it(`a QoS 1 subscriber away while ${MESSAGES} messages arrive, three times over, gets the newest ${MAX_QUEUED}, in order, the last one last; the broker's memory stays bounded`, async () => {
    const first = await nodeRed(system, 'node-red-leds');
    assert.equal(first.sessionPresent, false);
    await first.client.subscribeAsync(TOPIC, { qos: 1 });
    await first.client.endAsync();

    // What the broker holds is its live memory after a full collection (LiveHeap: heap and Buffers); RSS also holds
    // what it read and has not collected yet, so it is reported, and checked only against a generous bound.
    const pid = system.service('broker').child.pid as number;
    const liveBefore = await heap.bytes();
    const rss = [rssBytes(pid)];
    const publisher = await operator(system);
    for (let round = 0; round < ROUNDS; round++) {
      await publishMany(publisher, MESSAGES, round * MESSAGES);
      rss.push(rssBytes(pid));
    }
    await publisher.endAsync();
    const held = (await heap.bytes()) - liveBefore;

    const back = await nodeRed(system, 'node-red-leds');
    assert.equal(back.sessionPresent, true, 'the session was kept while its client was away');
    await quiet(back.received);
    await back.client.endAsync();
    const metrics = await scrape(`http://127.0.0.1:${system.ports.brokerMetrics}/metrics`);
    const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
    process.stdout.write(
      `# kept for the client away: ${back.received.length} of ${ROUNDS * MESSAGES} (first ${back.received[0]}, last ${back.received.at(-1)}); broker holds +${mb(held)} MB live, RSS after each burst (MB): ${rss.map(mb).join(', ')}; dropped ${metrics.count('gravity_led_broker_queued_messages_dropped_total')}\n`,
    );
    const total = ROUNDS * MESSAGES;
    assert.ok(back.received.length <= MAX_QUEUED, `${back.received.length} messages were kept for the client`);
    assert.deepEqual(
      back.received,
      Array.from({ length: MAX_QUEUED }, (_, i) => String(total - MAX_QUEUED + i)),
      'the newest, in the order they were published',
    );
    assert.equal(metrics.count('gravity_led_broker_queued_messages_dropped_total'), total - MAX_QUEUED);
    assert.equal(metrics.count('gravity_led_broker_queued_messages'), 0, 'every delivered message was acknowledged and forgotten');
    // 15,000 messages of 4 KB are 60 MB; the 1,000 kept are 4 MB.
    assert.ok(held < 12 * 1024 * 1024, `the broker holds ${mb(held)} MB more after the bursts`);
    // RSS gets the collector's headroom (docs/security.md): it rose 35-45 MB over the last two bursts either way.
    const grown = (rss.at(-1) as number) - (rss[0] as number);
    assert.ok(grown < 100 * 1024 * 1024, `the broker's RSS grew by ${mb(grown)} MB`);
    const warnings = system.service('broker').lines.filter((l) => l.msg.includes('queue of a persistent session is full'));
    assert.equal(warnings.length, 1, 'the full queue is logged once, not once per dropped message');
  });

  it('the session is still live after that: a message published while it is connected arrives, once', async () => {
    const back = await nodeRed(system, 'node-red-leds');
    assert.equal(back.sessionPresent, true);
    const publisher = await operator(system);
    await publishMany(publisher, 3);
    await publisher.endAsync();
    await waitFor('3 messages', () => (back.received.length >= 3 ? true : undefined), 5000);
    await sleep(300);
    await back.client.endAsync();
    assert.deepEqual(back.received, ['0', '1', '2']);
  });
});

describe('persistent sessions expire (BROKER_SESSION_EXPIRY_S)', () => {
  let system: TestSystem;

  before(async () => {
    system = await TestSystem.start({ services: ['broker'], env: { LOG_LEVEL: 'info', BROKER_SESSION_EXPIRY_S: '2' } });
  });

  after(async () => {
    await system?.stop();
  });

  it('a client away longer than BROKER_SESSION_EXPIRY_S comes back to no session and nothing queued; one back in time keeps its own', async () => {
    const gone = await nodeRed(system, 'node-red-gone');
    await gone.client.subscribeAsync(TOPIC, { qos: 1 });
    await gone.client.endAsync();
    const publisher = await operator(system);
    await publishMany(publisher, 10);
    await sleep(3500);
    const stays = await nodeRed(system, 'node-red-stays');
    await stays.client.subscribeAsync(TOPIC, { qos: 1 });
    await stays.client.endAsync();
    await publishMany(publisher, 5);
    await publisher.endAsync();

    const late = await nodeRed(system, 'node-red-gone');
    const onTime = await nodeRed(system, 'node-red-stays');
    await quiet(late.received, 800);
    await late.client.endAsync();
    await onTime.client.endAsync();
    assert.equal(late.sessionPresent, false, 'the expired session was forgotten');
    assert.deepEqual(late.received, [], 'nothing was kept for an expired session');
    assert.equal(onTime.sessionPresent, true);
    assert.deepEqual(onTime.received, ['0', '1', '2', '3', '4']);
    const metrics = await scrape(`http://127.0.0.1:${system.ports.brokerMetrics}/metrics`);
    assert.equal(metrics.count('gravity_led_broker_sessions_expired_total'), 1);
  });
});
