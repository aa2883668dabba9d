/**
 * The manual control topics end to end, driven with Debian's mosquitto_pub as a person types it: they apply with
 * reason `manual`, invalid payloads change nothing, a connected phone takes precedence, the stale watchdog leaves
 * a manual setting alone, and losing the broker or SIGTERM turns it off.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { collect, mosquittoPub, operatorClient, WsClient } from '../helpers/clients.js';
import { StateWatcher } from '../helpers/leds.js';
import { TestSystem } from '../helpers/system.js';
import { sleep, waitFor } from '../helpers/wait.js';

const FAILSAFE_MS = 400;

describe('manual control over leds/set', () => {
  let system: TestSystem;
  let mqtt: MqttClient;
  let leds: StateWatcher;

  const pub = async (topic: string, message: string) => {
    const result = await mosquittoPub(system, `gravity-led/${topic}`, message);
    assert.equal(result.code, 0, result.stderr);
  };

  before(async () => {
    system = await TestSystem.start({ env: { FAILSAFE_TIMEOUT_MS: String(FAILSAFE_MS) } });
    mqtt = await operatorClient(system);
    leds = new StateWatcher(mqtt);
  });

  after(async () => {
    mqtt?.end(true);
    await system?.stop();
  });

  it('JSON {"left","right"} sets both LEDs with reason manual; one key changes only that LED', async () => {
    await pub('leds/set', '{"left":30,"right":60.5}');
    let state = await leds.until('manual 30/60.5', (s) => s.left === 30 && s.right === 60.5);
    assert.equal(state.reason, 'manual');
    await pub('leds/set', '{"left":10}');
    state = await leds.until('left = 10', (s) => s.left === 10);
    assert.equal(state.right, 60.5, 'the right LED is untouched');
    assert.equal(state.reason, 'manual');
  });

  it('per-LED topics take OFF, a duty, and ON (back to the last duty set)', async () => {
    await pub('leds/left/set', 'OFF');
    await leds.until('left off', (s) => s.left === 0 && s.right === 60.5);
    await pub('leds/right/set', '25');
    await leds.until('right = 25', (s) => s.right === 25 && s.left === 0);
    await pub('leds/left/set', 'ON');
    const state = await leds.until('left back on', (s) => s.left === 10);
    assert.equal(state.right, 25);
    assert.equal(state.reason, 'manual');
  });

  it('a manual setting outlives the stale-stream timeout: it is an operator command, not a stream', async () => {
    const before = leds.states.length;
    await sleep(FAILSAFE_MS * 3);
    assert.equal(leds.states.length, before, 'no state change');
    assert.deepEqual([leds.last?.left, leds.last?.right, leds.last?.reason], [10, 25, 'manual']);
  });

  it('invalid payloads change nothing and are logged once per kind', async () => {
    const driver = system.service('led-driver');
    const from = driver.lines.length;
    const before = leds.states.length;
    const bad: [string, string][] = [
      ['leds/set', '{"left":101}'],
      ['leds/set', '{"left":-1}'],
      ['leds/set', '{"right":"50"}'],
      ['leds/set', '{"left":1e999}'],
      ['leds/set', '{"left":'],
      ['leds/set', '[10,20]'],
      ['leds/set', '{"brightness":20}'],
      ['leds/set', '40'],
      ['leds/left/set', 'HALF'],
      ['leds/left/set', '100.5'],
      ['leds/right/set', 'NaN'],
      ['leds/right/set', ''],
      ['leds/right/set', '-0.5'],
    ];
    for (const [topic, message] of bad) await pub(topic, message);
    // A good command after the bad ones: once it shows, every bad one before it has been handled.
    await pub('leds/set', '{"left":11}');
    await leds.until('left = 11', (s) => s.left === 11);
    assert.deepEqual(
      leds.states.slice(before).map((s) => [s.left, s.right]),
      [[11, 25]],
      'no state between the bad payloads and the good one',
    );
    const kinds = driver.lines
      .slice(from)
      .filter((l) => l.msg.startsWith('ignored a payload'))
      .map((l) => `${l.topic} ${l.kind}`);
    for (const expected of [
      'gravity-led/leds/set out-of-range',
      'gravity-led/leds/set bad-shape',
      'gravity-led/leds/set bad-json',
      'gravity-led/leds/left/set not-a-number',
      'gravity-led/leds/left/set out-of-range',
      'gravity-led/leds/right/set empty',
    ]) {
      assert.ok(kinds.includes(expected), `${expected} logged (got ${kinds.join(', ')})`);
    }
    assert.equal(new Set(kinds).size, kinds.length, 'each kind is logged once');
  });

  it('a retained command is history: a led-driver starting later does not apply it', async () => {
    const retained = await operatorClient(system);
    await new Promise<void>((resolve, reject) =>
      retained.publish('gravity-led/leds/set', '{"left":77}', { retain: true, qos: 1 }, (e) => (e ? reject(e) : resolve())),
    );
    // The running driver gets it live, which is a command like any other.
    await leds.until('left = 77', (s) => s.left === 77);
    const driver = system.service('led-driver');
    const from = driver.lines.length;
    await driver.restart();
    await driver.waitForLog('connected to MQTT broker', 10_000, from);
    await leds.until('the new driver starts dark', (s) => s.reason === 'start' && s.left === 0);
    await sleep(300);
    assert.equal(leds.last?.left, 0, 'the retained command was not applied');
    assert.ok(!driver.lines.slice(from).some((l) => l.msg === 'manual LED setting applied'));
    // Clear the retained message again so it cannot affect anything else.
    await new Promise<void>((resolve) => retained.publish('gravity-led/leds/set', '', { retain: true, qos: 1 }, () => resolve()));
    retained.end(true);
  });

  it('while a phone is connected manual commands are refused; the phone drives; afterwards manual works again', async () => {
    await pub('leds/set', '{"left":1,"right":1}');
    await leds.until('manual 1/1', (s) => s.left === 1 && s.right === 1 && s.reason === 'manual');
    const occupancy = collect(mqtt, 'gravity-led/gateway/clients');
    const driver = system.service('led-driver');
    const from = driver.lines.length;
    const controller = await WsClient.controller(system);
    await waitFor('clients = 1', () => occupancy.messages.some((m) => JSON.parse(m).clients === 1));

    const before = leds.states.length;
    await pub('leds/set', '{"left":50}');
    await pub('leds/right/set', '50');
    await pub('leds/left/set', 'ON');
    await driver.waitForLog('ignored a payload', 5000, from);
    const refusals = driver.lines.slice(from).filter((l) => l.kind === 'controller-active');
    assert.ok(refusals.length >= 1 && refusals.length <= 3, 'refusals are logged once per topic and kind');
    assert.equal(leds.states.length, before, 'refused commands change nothing');

    controller.send('0 45 89');
    await leds.until('phone drives right = 45', (s) => s.right === 45 && s.reason === 'gravity');
    controller.close();
    await controller.closed();
    await leds.until('controller-left', (s) => s.reason === 'controller-left');

    // The phone's last gravity is still fresh for FAILSAFE_TIMEOUT_MS; after it, manual control is back.
    await sleep(FAILSAFE_MS + 200);
    await pub('leds/set', '{"right":70}');
    await leds.until('manual right = 70', (s) => s.right === 70 && s.reason === 'manual');
  });

  it('losing the broker turns a manual setting off, and it stays off after reconnecting', async () => {
    await pub('leds/set', '{"left":12,"right":13}');
    await leds.until('manual 12/13', (s) => s.left === 12 && s.right === 13);
    mqtt.end(true);
    const broker = system.service('broker');
    const driver = system.service('led-driver');
    const from = driver.lines.length;
    await broker.restart();
    await broker.waitForLog('broker ready');
    await driver.waitForLog('connected to MQTT broker', 15_000, from);
    mqtt = await operatorClient(system);
    leds = new StateWatcher(mqtt);
    const state = await leds.until('a retained state', () => true, 10_000);
    assert.deepEqual([state.left, state.right, state.reason], [0, 0, 'broker-lost']);
  });

  it('SIGTERM turns a manual setting off before the led-driver exits', async () => {
    await system.service('gateway').waitForLog('connected to MQTT broker', 15_000, 0);
    await pub('leds/set', '{"left":40,"right":40}');
    await leds.until('manual 40/40', (s) => s.left === 40 && s.right === 40);
    const driver = system.service('led-driver');
    driver.kill('SIGTERM');
    assert.equal((await driver.exited()).code, 0);
    const state = await leds.until('shutdown', (s) => s.reason === 'shutdown');
    assert.deepEqual([state.left, state.right], [0, 0]);
  });
});
