/**
 * A phone refused because the device is in use (1013) moves nothing. The gateway closes it as soon as it has
 * authenticated, but the values it sent right behind its auth frame are in the same read and used to be published
 * anyway: with the phone in control holding still, each refused attempt made the LEDs jump (and, in a reconnect,
 * gave the new session a value that was not its own).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { operatorClient, WsClient } from '../helpers/clients.js';
import { StateWatcher } from '../helpers/leds.js';
import { TestSystem } from '../helpers/system.js';
import { sleep } from '../helpers/wait.js';

describe('a phone refused as "in use"', () => {
  let system: TestSystem;
  let mqtt: MqttClient;
  let leds: StateWatcher;

  before(async () => {
    // A long fail-safe: the phone in control holds still, and only the refused phones could change anything.
    system = await TestSystem.start({ env: { FAILSAFE_TIMEOUT_MS: '600000' } });
    mqtt = await operatorClient(system);
    leds = new StateWatcher(mqtt);
  });

  after(async () => {
    mqtt?.end(true);
    await system?.stop();
  });

  it('never drives the LEDs, not even with a value in the same write as its auth frame', async () => {
    const owner = await WsClient.controller(system);
    owner.send('0 30 95.4');
    await leds.until('right = 30', (s) => s.right === 30);
    const from = leds.states.length;
    for (let i = 0; i < 20; i++) {
      const intruder = WsClient.connect(system.gatewayUrl);
      await intruder.opened;
      intruder.send(JSON.stringify({ type: 'auth', token: system.secrets.gatewayToken }));
      intruder.send(JSON.stringify({ x: 0, y: -70, z: 71.4, seq: i }));
      intruder.send('0 -70 71.4');
      assert.equal(await intruder.closed(), 1013);
    }
    await sleep(300);
    assert.deepEqual(leds.states.slice(from), [], 'the LEDs kept the value of the phone in control');
    owner.close();
    await owner.closed();
  });
});
