/**
 * The gateway's MqttBridge on its two hot-path links (gateway/src/hot-path.ts), against a real broker and a
 * led-driver stand-in over TCP (mqtt.js, the service account, as the led-driver connects):
 *
 * - hosted (hostBroker, GATEWAY_HOSTS_BROKER): gravity and leds/state go through the broker's local client and never
 *   cross the bridge's MQTT connection, while the gateway's status, its occupancy and the led-driver's status still do;
 * - over TCP (MQTT_URL, any broker): everything crosses the MQTT connection, as before.
 *
 * On both the bridge behaves alike: the retained state at start marked retained, live states in order, gravity in
 * order with its generation and `onSent`, nothing published (nor queued) before the connection is up, availability
 * from the connection and the led-driver's status, and nothing more given after close().
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type HostedBroker, hostBroker, MqttBridge } from '@gravity-led/gateway';
import { createLogger, encodeLedState, type LedState, loadConfig, loadSecrets, topicsFor } from '@gravity-led/shared';
import mqtt, { type MqttClient } from 'mqtt';
import { freePort } from '../helpers/ports.js';
import { sleep, waitFor } from '../helpers/wait.js';

const topics = topicsFor('gravity-led');
const log = createLogger('gateway', { LOG_LEVEL: 'silent', LOG_FORMAT: 'json' });

describe('the gateway bridge on its hot-path links', () => {
  let dir: string;
  let hosted: HostedBroker;
  let url: string;
  let service: { username: string; password: string };
  const cleanups: (() => unknown)[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gravity-led-hot-path-'));
    const port = await freePort();
    const config = loadConfig({
      DATA_DIR: dir,
      BROKER_HOST: '127.0.0.1',
      BROKER_PORT: String(port),
      BROKER_WS_PORT: '0',
      BROKER_TLS_PORT: '0',
      BROKER_METRICS_PORT: '0',
      LOG_LEVEL: 'silent',
      LOG_FORMAT: 'json',
    });
    hosted = await hostBroker(config);
    url = `mqtt://127.0.0.1:${port}`;
    const { username, password } = loadSecrets(config).service;
    service = { username, password };
  });

  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    await hosted.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The led-driver's side: its status and a retained state, then gravity followed. */
  async function driver(): Promise<{ client: MqttClient; gravity: string[] }> {
    const client = mqtt.connect(url, { ...service, reconnectPeriod: 0 });
    cleanups.push(() => client.end(true));
    await new Promise<void>((resolve, reject) => client.once('connect', () => resolve()).once('error', reject));
    const gravity: string[] = [];
    client.on('message', (topic, payload) => {
      if (topic === topics.gravity) gravity.push(payload.toString());
    });
    await client.subscribeAsync(topics.gravity, { qos: 0 });
    await client.publishAsync(topics.driverStatus, 'online', { qos: 1, retain: true });
    return { client, gravity };
  }

  const state = (right: number, reason: LedState['reason'] = 'gravity'): string =>
    encodeLedState({ left: 0, right, reason, ts: 1_000 + right });

  for (const link of ['hosted', 'tcp'] as const) {
    it(`${link === 'hosted' ? 'hosting the broker: gravity and leds/state through its local client, the rest on MQTT' : 'over TCP: everything on MQTT'}`, async () => {
      const { client: led, gravity } = await driver();
      await led.publishAsync(topics.ledsState, state(7, 'start'), { qos: 1, retain: true });

      const bridge =
        link === 'hosted' ? new MqttBridge('in-process', service, topics, log, hosted) : new MqttBridge(url, service, topics, log);
      let closed = false;
      cleanups.push(() => (closed ? undefined : bridge.close()));
      const sent: string[] = [];
      const received: string[] = [];
      bridge.client.on('packetsend', (packet) => {
        if (packet.cmd === 'publish') sent.push(packet.topic);
      });
      bridge.client.on('packetreceive', (packet) => {
        if (packet.cmd === 'publish') received.push(packet.topic);
      });
      const states: [number, string, boolean][] = [];
      bridge.on('state', (s, retained) => states.push([s.right, s.reason, retained]));
      const availability: boolean[] = [];
      bridge.on('availability', (available) => availability.push(available));

      // Not connected yet: refused at once, nothing queued, no onSent.
      let early = 0;
      assert.equal(bridge.client.connected, false);
      assert.equal(
        bridge.publishGravity({ x: 0, y: 99, z: 9.8 }, () => early++),
        false,
      );

      await waitFor('availability', () => availability.at(-1) === true);
      bridge.publishClients(1, 2);
      // The retained state, given for the new subscription, marked retained.
      await waitFor('the retained state', () => states.length > 0);
      assert.deepEqual(states, [[7, 'start', true]]);

      let handed = 0;
      for (let y = 1; y <= 3; y++)
        assert.equal(
          bridge.publishGravity({ x: 0, y, z: 9.8, seq: y }, () => handed++),
          true,
        );
      await waitFor('three gravity values', () => gravity.length === 3);
      assert.deepEqual(
        gravity.map((g) => JSON.parse(g).y),
        [1, 2, 3],
        'only what was published while connected, in order',
      );
      assert.ok(
        gravity.every((g) => JSON.parse(g).gen === 1),
        'each value carries the generation of the occupancy before it',
      );
      await waitFor('onSent', () => handed === 3);
      assert.equal(early, 0);

      for (let right = 1; right <= 5; right++) led.publish(topics.ledsState, state(right), { qos: 1, retain: true });
      await waitFor('five live states', () => states.length === 6);
      assert.deepEqual(
        states.slice(1),
        [1, 2, 3, 4, 5].map((right) => [right, 'gravity', false]),
      );
      assert.deepEqual(bridge.lastState?.right, 5);

      // Availability follows the led-driver's status, on the MQTT connection in either case.
      await led.publishAsync(topics.driverStatus, 'offline', { qos: 1, retain: true });
      await waitFor('unavailable', () => availability.at(-1) === false);
      await led.publishAsync(topics.driverStatus, 'online', { qos: 1, retain: true });
      await waitFor('available again', () => availability.at(-1) === true);

      // What crossed the bridge's MQTT connection.
      assert.ok(sent.includes(topics.gatewayStatus), 'the gateway status goes on MQTT');
      assert.ok(sent.includes(topics.gatewayClients), 'the occupancy goes on MQTT');
      assert.ok(received.includes(topics.driverStatus), "the led-driver's status comes on MQTT");
      if (link === 'hosted') {
        assert.ok(!sent.includes(topics.gravity), 'gravity does not cross the in-process MQTT connection');
        assert.ok(!received.includes(topics.ledsState), 'leds/state does not cross the in-process MQTT connection');
      } else {
        assert.equal(sent.filter((t) => t === topics.gravity).length, 3);
        assert.equal(received.filter((t) => t === topics.ledsState).length, 6);
      }

      // After close() nothing more is given, through either link.
      closed = true;
      await bridge.close();
      await led.publishAsync(topics.ledsState, state(42), { qos: 1, retain: true });
      await sleep(100);
      assert.equal(states.length, 6);
      await led.publishAsync(topics.ledsState, state(0, 'shutdown'), { qos: 1, retain: true });
    });
  }
});
