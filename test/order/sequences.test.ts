/**
 * Publish sequences, packet by packet, on the embedded broker (Aedes 1.2, as installed) and on Debian's Mosquitto.
 *
 * First what each broker does with two PUBLISH packets in one TCP write toward one live subscriber (the facts of
 * moscajs/aedes#994 and #955, both open): on Aedes a QoS 0 message overtakes a retained or QoS 1 one written just
 * before it, and the retained QoS 0 one is then lost by Aedes' per-subscriber dedupe. Then the rule the services
 * follow because of that (shared/src/latest-value-publisher.ts), and the sequences the services really write: the
 * gateway's QoS 1 occupancy next to its QoS 0 gravity (played here by a bare socket with the services' account, in
 * front of the real led-driver), and the led-driver's state next to its status and discovery messages.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { BROKERS, type BrokerSystem, startOn } from '../helpers/brokers.js';
import { StateWatcher } from '../helpers/leds.js';
import { type PublishOptions, publishPacket, RawMqttClient } from '../helpers/raw-mqtt.js';
import { sleep, waitFor } from '../helpers/wait.js';

const PREFIX = 'gravity-led';
const RUN = 'a1b2c3d4';

interface Received {
  topic: string;
  payload: string;
  qos: number;
}

/** An operator client recording every message on `filters`, subscribed at QoS 1 (what arrives at 0 was sent at 0). */
async function recorder(b: BrokerSystem, filters: string[]): Promise<{ client: MqttClient; received: Received[] }> {
  const client = await b.operator();
  const received: Received[] = [];
  client.on('message', (topic, payload, packet) => received.push({ topic, payload: payload.toString(), qos: packet.qos }));
  await new Promise<void>((resolve, reject) => client.subscribe(filters, { qos: 1 }, (error) => (error ? reject(error) : resolve())));
  return { client, received };
}

const lit = (s: { left: number; right: number }) => s.left > 0 || s.right > 0;

for (const broker of BROKERS) {
  describe(`publish sequences on ${broker}`, () => {
    let b: BrokerSystem;
    let operator: MqttClient;
    let leds: StateWatcher;
    let n = 0;

    before(async () => {
      // The led-driver alone: the tests speak as the gateway. A long fail-safe, so that only the messages act.
      b = await startOn(broker, { FAILSAFE_TIMEOUT_MS: '600000', HA_DISCOVERY: 'true' }, ['led-driver']);
      operator = await b.operator();
      leds = new StateWatcher(operator);
      await waitFor('the retained state', () => leds.last);
    });

    after(async () => {
      operator?.end(true);
      await b?.stop();
    });

    /** Two messages in one TCP write, from the services' account, to one live subscriber: what it receives, in order. */
    async function twoInOneWrite(first: PublishOptions, second: PublishOptions): Promise<string[]> {
      const base = `${PREFIX}/test/${++n}`;
      const { client, received } = await recorder(b, [`${base}/#`]);
      const publisher = await RawMqttClient.connect({ port: b.mqttPort, ...b.serviceAccount });
      publisher.write(publishPacket(`${base}/a`, 'first', first), publishPacket(`${base}/b`, 'second', second));
      await waitFor('the second message', () => received.some((m) => m.payload === 'second'));
      // Whatever else is coming has come by now.
      await sleep(300);
      publisher.end();
      client.end(true);
      return received.map((m) => m.payload);
    }

    describe('what the broker does with two publishes in one write', () => {
      const aedes = broker === 'aedes';

      it(`retained QoS 0, then QoS 0: ${aedes ? 'the retained one is lost (moscajs/aedes#994, #955)' : 'both, in order'}`, async () => {
        const got = await twoInOneWrite({ qos: 0, retain: true }, { qos: 0 });
        assert.deepEqual(got, aedes ? ['second'] : ['first', 'second']);
      });

      it(`QoS 1, then QoS 0: ${aedes ? 'in reverse order' : 'in order'}`, async () => {
        assert.deepEqual(await twoInOneWrite({ qos: 1 }, { qos: 0 }), aedes ? ['second', 'first'] : ['first', 'second']);
      });

      it(`retained QoS 1, then QoS 0: ${aedes ? 'in reverse order' : 'in order'}`, async () => {
        assert.deepEqual(await twoInOneWrite({ qos: 1, retain: true }, { qos: 0 }), aedes ? ['second', 'first'] : ['first', 'second']);
      });

      it('QoS 0, then QoS 0: in order', async () => {
        assert.deepEqual(await twoInOneWrite({ qos: 0 }, { qos: 0 }), ['first', 'second']);
      });

      it('the rule the services follow, everything at QoS 1 (retained or not): every message, in order', async () => {
        const base = `${PREFIX}/test/${++n}`;
        const { client, received } = await recorder(b, [`${base}/#`]);
        const publisher = await RawMqttClient.connect({ port: b.mqttPort, ...b.serviceAccount });
        // The led-driver's kinds of message, mixed as a burst mixes them: state, a per-LED state, status, discovery.
        const sequence: [string, PublishOptions][] = [
          ['state', { qos: 1, retain: true }],
          ['left', { qos: 1 }],
          ['state', { qos: 1, retain: true }],
          ['status', { qos: 1, retain: true }],
          ['left', { qos: 1, retain: true }],
          ['config', { qos: 1, retain: true }],
          ['state', { qos: 1, retain: true }],
          ['left', { qos: 1 }],
        ];
        publisher.write(...sequence.map(([topic, options], i) => publishPacket(`${base}/${topic}`, String(i), options)));
        await waitFor('every message', () => received.length >= sequence.length);
        await sleep(300);
        publisher.end();
        client.end(true);
        assert.deepEqual(
          received.map((m) => m.payload),
          sequence.map((_, i) => String(i)),
        );
      });
    });

    describe("the gateway's occupancy (QoS 1) next to its gravity (QoS 0), in front of the real led-driver", () => {
      let gateway: RawMqttClient;
      const occupancy = (clients: number, gen: number, run = RUN) =>
        publishPacket(`${PREFIX}/gateway/clients`, JSON.stringify({ clients, maxClients: 1, run, gen }), { qos: 1, retain: true });
      const gravity = (y: number, gen: number, run = RUN) =>
        publishPacket(`${PREFIX}/gravity`, JSON.stringify({ x: 0, y, z: 90, run, gen }), { qos: 0 });

      before(async () => {
        gateway = await RawMqttClient.connect({
          port: b.mqttPort,
          ...b.serviceAccount,
          will: { topic: `${PREFIX}/gateway/status`, payload: 'offline' },
        });
        gateway.write(publishPacket(`${PREFIX}/gateway/status`, 'online', { qos: 1, retain: true }), occupancy(1, 1));
        await sleep(100);
        gateway.write(gravity(30, 1));
        await leds.until('right = 30', (s) => s.right === 30);
      });

      after(() => gateway?.destroy());

      it("the old phone's 0 and the new phone's first value in one write: the LEDs stay lit (no stale controller-left)", async () => {
        const from = leds.states.length;
        // What the gateway writes when a phone reconnects at once: 0 (the old one left), 1 (the new one), its value.
        gateway.write(occupancy(0, 2), occupancy(1, 3), gravity(45, 3));
        await leds.seen('right = 45', (s) => s.right === 45, from);
        await sleep(300);
        gateway.write(gravity(46, 3));
        await leds.until('right = 46', (s) => s.right === 46);
        const states = leds.states.slice(from);
        const litAt = states.findIndex((s) => s.right === 45);
        const offAfter = states.slice(litAt).filter((s) => !lit(s));
        assert.deepEqual(offAfter, [], 'nothing switched the new phone off once its first value had lit the LEDs');
      });

      it('a value from a phone that has gone, delivered after the occupancy that says so, does not light the LEDs', async () => {
        const from = leds.states.length;
        // The order a broker may deliver them in (MQTT orders nothing across topics): the 0, then the older value.
        gateway.write(occupancy(0, 4), gravity(55, 3));
        await leds.seen('off, controller-left', (s) => !lit(s) && s.reason === 'controller-left', from);
        await sleep(300);
        const states = leds.states.slice(from);
        const offAt = states.findIndex((s) => s.reason === 'controller-left');
        assert.deepEqual(states.slice(offAt).filter(lit), [], 'the gone phone lit nothing after the controller-left');
      });

      it('a value injected by hand (no generation) drives the LEDs as before', async () => {
        await new Promise<void>((resolve, reject) =>
          operator.publish(`${PREFIX}/gravity`, '0 40 91.6', { qos: 1 }, (error) => (error ? reject(error) : resolve())),
        );
        await leds.until('right = 40', (s) => s.right === 40 && s.left === 0);
      });

      it("a restarted gateway's messages (another run) count whatever their number: its 0 turns the LEDs off", async () => {
        gateway.write(occupancy(1, 1, 'e5f6a7b8'), gravity(25, 1, 'e5f6a7b8'));
        await leds.until('right = 25', (s) => s.right === 25);
        gateway.write(occupancy(0, 2, 'e5f6a7b8'));
        await leds.until('off, controller-left', (s) => !lit(s) && s.reason === 'controller-left');
      });
    });

    it('the led-driver publishes everything at QoS 1: its state before its online, its shutdown state before its offline', async () => {
      // Everything the led-driver publishes: its state, the per-LED states for Home Assistant, its status, discovery.
      const { client, received } = await recorder(b, [
        `${PREFIX}/leds/state`,
        `${PREFIX}/leds/+/state`,
        `${PREFIX}/led-driver/status`,
        'homeassistant/#',
      ]);
      const driver = b.system.service('led-driver');
      const from = received.length;
      driver.kill('SIGTERM');
      await driver.exited(10_000);
      await waitFor('the offline status', () => received.slice(from).some((m) => m.payload === 'offline'));
      const stopped = received.slice(from);
      const shutdownAt = stopped.findIndex((m) => m.topic.endsWith('/leds/state') && JSON.parse(m.payload).reason === 'shutdown');
      const offlineAt = stopped.findIndex((m) => m.payload === 'offline');
      assert.ok(shutdownAt >= 0 && shutdownAt < offlineAt, `the shutdown state, then offline: ${JSON.stringify(stopped)}`);

      const restartFrom = received.length;
      await driver.restart('connected to MQTT broker');
      await waitFor('online and both discovery configs', () => {
        const since = received.slice(restartFrom);
        return since.some((m) => m.payload === 'online') && since.filter((m) => m.topic.startsWith('homeassistant/')).length >= 2;
      });
      const started = received.slice(restartFrom);
      const stateAt = started.findIndex((m) => m.topic.endsWith('/leds/state') && JSON.parse(m.payload).reason === 'start');
      const onlineAt = started.findIndex((m) => m.payload === 'online');
      assert.ok(stateAt >= 0 && stateAt < onlineAt, `the start state, then online: ${JSON.stringify(started)}`);
      const notQos1 = [...stopped, ...started].filter((m) => m.qos !== 1);
      assert.deepEqual(notQos1, [], 'every message the led-driver published was QoS 1');
      assert.ok(
        started.some((m) => m.topic.endsWith('/leds/left/state')),
        `the per-LED states were among them: ${JSON.stringify(started.map((m) => m.topic))}`,
      );
      client.end(true);
    });
  });
}
