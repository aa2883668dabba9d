/** The whole data path over real sockets: a ws client's frame -> gateway -> broker -> led-driver -> state back. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { encodeGravityBinary } from '@gravity-led/shared';
import type { MqttClient } from 'mqtt';
import { MosquittoSub, mosquittoPub, operatorClient, WsClient } from '../helpers/clients.js';
import { StateWatcher } from '../helpers/leds.js';
import { TestSystem } from '../helpers/system.js';
import { sleep } from '../helpers/wait.js';

describe('phone frame to LED and back', () => {
  let system: TestSystem;
  let mqtt: MqttClient;
  let leds: StateWatcher;
  let sub: MosquittoSub;

  before(async () => {
    system = await TestSystem.start();
    mqtt = await operatorClient(system);
    leds = new StateWatcher(mqtt);
    sub = new MosquittoSub(system, 'gravity-led/leds/state');
  });

  after(async () => {
    sub?.stop();
    mqtt?.end(true);
    await system?.stop();
  });

  it('the seed text frame "0 50 86.6" sets right = 50, left = 0, seen by the client and by mosquitto_sub', async () => {
    const client = await WsClient.controller(system);
    client.send('0 50 86.6');
    const frame = await client.next('state', (f) => f.right === 50);
    assert.equal(frame.left, 0);
    assert.equal(frame.reason, 'gravity');
    const line = await sub.next('gravity-led/leds/state', (p) => JSON.parse(p).right === 50);
    assert.equal(JSON.parse(line).left, 0);
    client.close();
    await client.closed();
  });

  it('a JSON frame with seq comes back in the state with the same seq', async () => {
    const client = await WsClient.controller(system);
    client.send(JSON.stringify({ x: 0, y: -30, z: 95.4, seq: 42 }));
    const frame = await client.next('state', (f) => f.left === 30);
    assert.equal(frame.right, 0);
    assert.equal(frame.seq, 42);
    client.close();
    await client.closed();
  });

  it('a 12-byte big-endian binary frame drives the LEDs too', async () => {
    const client = await WsClient.controller(system);
    client.send(encodeGravityBinary(0, 75, 66.1));
    await client.next('state', (f) => f.right === 75 && f.left === 0);
    client.close();
    await client.closed();
  });

  it('a bad frame gets an error frame and changes nothing', async () => {
    const client = await WsClient.controller(system);
    client.send('0 20 97.9');
    await leds.until('right = 20', (s) => s.right === 20);
    const before = leds.states.length;
    for (const bad of ['1 2', 'NaN NaN NaN', '{"x":1', '{"x":1,"y":"2","z":3}', '1 2 3 4']) client.send(bad);
    client.send(new Uint8Array(11));
    const errors = await waitErrors(client, 6);
    assert.deepEqual(
      errors.map((e) => e.reason),
      ['wrong-count', 'not-a-number', 'bad-json', 'bad-shape', 'wrong-count', 'bad-binary-length'],
    );
    for (const e of errors) assert.equal(typeof e.message, 'string');
    // Still connected, and a valid frame after the bad ones works.
    client.send('0 21 97.7');
    await leds.until('right = 21', (s) => s.right === 21);
    assert.deepEqual(
      leds.states.slice(before).map((s) => s.right),
      [21],
      'no state change between the bad frames and the next good one',
    );
    client.close();
    await client.closed();
  });

  it('mosquitto_pub injection of "0 40 91.6" sets right = 40, exactly as the phone would', async () => {
    const client = await WsClient.controller(system);
    const result = await mosquittoPub(system, 'gravity-led/gravity', '0 40 91.6');
    assert.equal(result.code, 0, result.stderr);
    await client.next('state', (f) => f.right === 40 && f.left === 0);
    await sub.next('gravity-led/leds/state', (p) => JSON.parse(p).right === 40);
    client.close();
    await client.closed();
  });

  it('a frame over 1 KiB closes the socket with 1009', async () => {
    const client = await WsClient.controller(system);
    client.send(`0 10 ${'9'.repeat(2000)}`);
    assert.equal(await client.closed(), 1009);
  });

  it('the state is retained, so a late subscriber sees the current LEDs at once', async () => {
    await sleep(50);
    const late = await operatorClient(system);
    const watcher = new StateWatcher(late);
    const state = await watcher.until('a retained state', () => true);
    assert.equal(typeof state.left, 'number');
    late.end(true);
  });
});

async function waitErrors(client: WsClient, count: number) {
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    const errors = client.frames.filter((f) => f.type === 'error');
    if (errors.length >= count) return errors;
    await sleep(20);
  }
  throw new Error(`expected ${count} error frames, got ${client.frames.filter((f) => f.type === 'error').length}`);
}
