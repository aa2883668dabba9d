/**
 * Latest value wins on both sides of the led-driver: LatestValueInput (only the newest gravity value of one socket
 * read reaches the LEDs) and LatestValuePublisher (QoS 1, at most MAX_IN_FLIGHT messages awaiting their PUBACK, the newest always
 * last, again after a reconnect). The publisher is tried against real brokers: the embedded Aedes, in this process,
 * and Debian's Mosquitto.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RunningBroker } from '@gravity-led/broker';
import { LatestValueInput } from '@gravity-led/led-driver';
import { LatestValuePublisher } from '@gravity-led/shared';
import mqtt, { type MqttClient } from 'mqtt';
import { startEmbeddedBroker } from '../helpers/embedded-broker.js';
import { MOSQUITTO_SERVICE, MosquittoBroker } from '../helpers/mosquitto-broker.js';
import { sleep, waitFor } from '../helpers/wait.js';

describe('LatestValueInput', () => {
  it('applies only the newest of the values pushed in one turn, after the turn', async () => {
    const applied: number[] = [];
    const input = new LatestValueInput<number>((v) => applied.push(v));
    for (let i = 1; i <= 1000; i++) input.push(i);
    assert.deepEqual(applied, [], 'nothing is applied before the turn ends');
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(applied, [1000]);
    assert.equal(input.superseded, 999);
  });

  it('applies each value at once when they come one turn at a time', async () => {
    const applied: number[] = [];
    const input = new LatestValueInput<number>((v) => applied.push(v));
    for (let i = 1; i <= 5; i++) {
      input.push(i);
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.deepEqual(applied, [1, 2, 3, 4, 5]);
  });

  it('flush() applies the waiting value now, so that a message after it takes effect after it; cancel() forgets it', async () => {
    const applied: number[] = [];
    const input = new LatestValueInput<number>((v) => applied.push(v));
    input.push(1);
    input.flush();
    applied.push(-1);
    input.push(2);
    input.cancel();
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(applied, [1, -1]);
  });
});

const SERVICE = { username: 'publisher-test', password: 'publisher-test-password-1234' };
const OPERATOR = { username: 'publisher-reader', password: 'publisher-reader-password-1234' };

async function connected(
  url: string,
  account: { username: string; password: string },
  extra: mqtt.IClientOptions = {},
): Promise<MqttClient> {
  const client = mqtt.connect(url, { ...account, reconnectPeriod: 0, ...extra });
  await new Promise<void>((resolve, reject) => client.once('connect', () => resolve()).once('error', reject));
  return client;
}

for (const broker of ['aedes', 'mosquitto'] as const) {
  describe(`LatestValuePublisher on ${broker}`, () => {
    let aedes: RunningBroker | undefined;
    let mosquitto: MosquittoBroker | undefined;
    let url: string;
    let service: { username: string; password: string };
    let n = 0;

    before(async () => {
      if (broker === 'aedes') {
        ({ broker: aedes, url } = await startEmbeddedBroker({ service: SERVICE, operator: OPERATOR }));
        service = SERVICE;
      } else {
        mosquitto = await MosquittoBroker.start();
        url = mosquitto.url;
        service = MOSQUITTO_SERVICE;
      }
    });

    after(async () => {
      await aedes?.close();
      await mosquitto?.stop();
    });

    /** A publisher on a fresh topic and a subscriber recording it (QoS 1, so nothing is dropped on the way). */
    async function pair(retain: boolean, minIntervalMs?: number) {
      const topic = `gravity-led/test/publisher/${++n}`;
      const reader = await connected(url, service);
      const received: { payload: string; qos: number; retain: boolean }[] = [];
      reader.on('message', (_t, payload, packet) => received.push({ payload: payload.toString(), qos: packet.qos, retain: packet.retain }));
      await reader.subscribeAsync(topic, { qos: 1 });
      const client = await connected(url, service, { reconnectPeriod: 100 });
      const publisher = new LatestValuePublisher(client, topic, { retain, ...(minIntervalMs ? { minIntervalMs } : {}) });
      const close = () => {
        reader.end(true);
        client.end(true);
      };
      return { topic, reader, received, client, publisher, close };
    }

    it('a burst becomes a few messages at QoS 1, in order, ending on the newest', async () => {
      const { received, publisher, close } = await pair(true);
      for (let i = 1; i <= 2000; i++) publisher.publish(String(i));
      await waitFor('the newest value', () => received.at(-1)?.payload === '2000');
      await sleep(100);
      const values = received.map((m) => Number(m.payload));
      assert.ok(values.length < 2000, `${values.length} messages for 2000 values: no pacing`);
      assert.deepEqual(
        values,
        [...values].sort((a, b) => a - b),
        'in order',
      );
      assert.equal(values.at(-1), 2000);
      assert.ok(
        received.every((m) => m.qos === 1),
        'at QoS 1',
      );
      assert.equal(publisher.superseded, 2000 - values.length);
      close();
    });

    it('values given one at a time each go out', async () => {
      const { received, publisher, close } = await pair(false);
      for (let i = 1; i <= 5; i++) {
        publisher.publish(String(i));
        await waitFor(`value ${i}`, () => received.at(-1)?.payload === String(i));
      }
      assert.deepEqual(
        received.map((m) => m.payload),
        ['1', '2', '3', '4', '5'],
      );
      close();
    });

    it('with minIntervalMs: at most one message per interval, and the last value still goes out', async () => {
      const { received, publisher, close } = await pair(false, 200);
      const start = performance.now();
      let i = 0;
      while (performance.now() - start < 700) {
        publisher.publish(String(++i));
        await sleep(5);
      }
      await waitFor('the last value', () => received.at(-1)?.payload === String(i), 2000);
      // 700 ms at one message per 200 ms: the first at once, then about 3 more, the last one at most 200 ms late.
      assert.ok(received.length <= 5, `${received.length} messages in 700 ms with a 200 ms interval`);
      assert.ok(received.length >= 2, 'values went out while they were being given');
      close();
    });

    it('publishes the newest value again after a reconnect (a restarted broker forgets retained messages)', async () => {
      const { received, client, publisher, close } = await pair(true);
      publisher.publish('before');
      await waitFor('the value', () => received.at(-1)?.payload === 'before');
      const from = received.length;
      // The connection drops; mqtt.js reconnects (reconnectPeriod 100 here, the services back off themselves).
      client.stream.destroy();
      await waitFor('the value again after the reconnect', () => received.slice(from).some((m) => m.payload === 'before'), 5000);
      publisher.publish('after');
      await waitFor('a new value', () => received.at(-1)?.payload === 'after');
      close();
    });

    it('keeps the value given while disconnected, and it goes out once connected', async () => {
      const { received, client, publisher, close } = await pair(true);
      client.options.reconnectPeriod = 0;
      client.stream.destroy();
      await waitFor('the disconnect', () => !client.connected);
      publisher.publish('while away');
      publisher.publish('newest while away');
      assert.equal(publisher.waiting, true);
      client.reconnect();
      await waitFor('the newest value', () => received.at(-1)?.payload === 'newest while away', 5000);
      assert.ok(!received.some((m) => m.payload === 'while away'), 'the superseded value never went out');
      close();
    });
  });
}
