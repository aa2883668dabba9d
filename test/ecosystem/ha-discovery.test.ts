/**
 * Home Assistant MQTT discovery, read as Home Assistant reads it (mosquitto_sub with the operator's account under
 * the discovery prefix): retained configs whose keys are all documented fields of HA's MQTT light (default/basic
 * schema) and whose topics are ours; HA's commands work; HA_DISCOVERY=false removes the entities again.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { MqttClient } from 'mqtt';
import { mosquittoPub, operatorClient } from '../helpers/clients.js';
import { StateWatcher } from '../helpers/leds.js';
import { ROOT, TestSystem } from '../helpers/system.js';

const run = promisify(execFile);

/** The configuration variables of HA's MQTT light with the default ("basic") schema, from its documentation. */
const LIGHT_KEYS = new Set([
  'availability',
  'availability_mode',
  'availability_template',
  'availability_topic',
  'brightness_command_template',
  'brightness_command_topic',
  'brightness_scale',
  'brightness_state_topic',
  'brightness_value_template',
  'color_mode_state_topic',
  'color_mode_value_template',
  'color_temp_command_template',
  'color_temp_command_topic',
  'color_temp_state_topic',
  'color_temp_value_template',
  'command_topic',
  'device',
  'effect_command_template',
  'effect_command_topic',
  'effect_list',
  'effect_state_topic',
  'effect_value_template',
  'enabled_by_default',
  'encoding',
  'entity_category',
  'entity_picture',
  'icon',
  'json_attributes_template',
  'json_attributes_topic',
  'max_mireds',
  'min_mireds',
  'name',
  'object_id',
  'on_command_type',
  'optimistic',
  'origin',
  'payload_available',
  'payload_not_available',
  'payload_off',
  'payload_on',
  'qos',
  'retain',
  'schema',
  'state_topic',
  'state_value_template',
  'unique_id',
]);
const DEVICE_KEYS = new Set([
  'configuration_url',
  'connections',
  'hw_version',
  'identifiers',
  'manufacturer',
  'model',
  'model_id',
  'name',
  'serial_number',
  'suggested_area',
  'sw_version',
  'via_device',
]);
const AVAILABILITY_KEYS = new Set(['payload_available', 'payload_not_available', 'topic', 'value_template']);
const ORIGIN_KEYS = new Set(['name', 'sw_version', 'support_url']);

interface Retained {
  retained: boolean;
  topic: string;
  payload: string;
}

/** mosquitto_sub as HA subscribes: the operator's account, `-F` printing the retain flag, topic and payload. */
async function readRetained(system: TestSystem, filter: string, count: number): Promise<Retained[]> {
  const { operatorUsername, operatorPassword } = system.secrets;
  const args = ['-h', '127.0.0.1', '-p', String(system.ports.broker), '-u', operatorUsername, '-P', operatorPassword];
  const { stdout } = await run('mosquitto_sub', [...args, '-t', filter, '-C', String(count), '-W', '10', '-F', '%r\t%t\t%p'], {
    timeout: 15_000,
  });
  return stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((line) => {
      const [flag, topic, ...rest] = line.split('\t');
      return { retained: flag === '1', topic: topic ?? '', payload: rest.join('\t') };
    });
}

function subset(keys: Iterable<string>, allowed: Set<string>, where: string): void {
  for (const key of keys) assert.ok(allowed.has(key), `${where}: "${key}" is not a documented field`);
}

describe('Home Assistant discovery', () => {
  let system: TestSystem;
  let mqtt: MqttClient;
  let leds: StateWatcher;
  let configs: { topic: string; config: Record<string, unknown>; retained: boolean }[] = [];

  before(async () => {
    system = await TestSystem.start({ env: { HA_DISCOVERY: 'true', FAILSAFE_TIMEOUT_MS: '300' } });
    mqtt = await operatorClient(system);
    leds = new StateWatcher(mqtt);
    configs = (await readRetained(system, 'homeassistant/#', 2)).map((m) => ({
      topic: m.topic,
      retained: m.retained,
      config: JSON.parse(m.payload) as Record<string, unknown>,
    }));
  });

  after(async () => {
    mqtt?.end(true);
    await system?.stop();
  });

  it('announces two retained light configs at <prefix>/light/<node>/<object>/config', () => {
    assert.deepEqual(configs.map((c) => c.topic).sort(), [
      'homeassistant/light/gravity-led/left/config',
      'homeassistant/light/gravity-led/right/config',
    ]);
    for (const c of configs) assert.equal(c.retained, true, `${c.topic} is retained`);
  });

  it('uses only documented fields, with the required ones present and well typed', () => {
    const version = (JSON.parse(readFileSync(join(ROOT, 'led-driver/package.json'), 'utf8')) as { version: string }).version;
    for (const { topic, config } of configs) {
      subset(Object.keys(config), LIGHT_KEYS, topic);
      assert.equal(typeof config.command_topic, 'string', 'command_topic is required');
      assert.equal(config.schema ?? 'basic', 'basic', 'the default schema reads our state through value templates');
      assert.ok(['last', 'first', 'brightness'].includes(config.on_command_type as string));
      assert.ok(Number.isInteger(config.brightness_scale) && (config.brightness_scale as number) >= 1);
      assert.ok([0, 1, 2].includes(config.qos as number));
      assert.equal(typeof config.name, 'string');
      const device = config.device as Record<string, unknown>;
      subset(Object.keys(device), DEVICE_KEYS, `${topic} device`);
      assert.ok(Array.isArray(device.identifiers) && device.identifiers.length > 0);
      for (const key of ['name', 'model', 'manufacturer']) assert.equal(typeof device[key], 'string', `device.${key}`);
      assert.equal(device.sw_version, version);
      subset(Object.keys(config.origin as object), ORIGIN_KEYS, `${topic} origin`);
      const availability = config.availability as Record<string, unknown>[];
      assert.ok(Array.isArray(availability) && availability.length > 0);
      for (const a of availability) subset(Object.keys(a), AVAILABILITY_KEYS, `${topic} availability`);
    }
    const ids = configs.map((c) => c.config.unique_id);
    assert.equal(new Set(ids).size, ids.length, 'unique ids are unique');
    const devices = new Set(configs.map((c) => JSON.stringify((c.config.device as { identifiers: unknown }).identifiers)));
    assert.equal(devices.size, 1, 'one device holds both lights');
  });

  it("points at our topics: state from the LED's own calm state topic, commands on the LED set topics, availability from the status topic", async () => {
    for (const { topic, config } of configs) {
      const led = topic.includes('/left/') ? 'left' : 'right';
      // Not leds/state, which changes at the phone's rate: HA's recorder would store every change.
      assert.equal(config.state_topic, `gravity-led/leds/${led}/state`);
      assert.equal(config.brightness_state_topic, `gravity-led/leds/${led}/state`);
      assert.equal(config.state_value_template, '{{ value_json.state }}');
      assert.equal(config.brightness_value_template, '{{ value_json.brightness }}');
      // What the state topic really carries (retained) is what the templates read.
      const [state] = await readRetained(system, config.state_topic as string, 1);
      assert.equal(state?.retained, true);
      const value = JSON.parse(state?.payload ?? '{}') as Record<string, unknown>;
      assert.ok(value.state === config.payload_on || value.state === config.payload_off, `state ${value.state}`);
      assert.equal(typeof value.brightness, 'number');
      assert.equal(config.command_topic, `gravity-led/leds/${led}/set`);
      assert.equal(config.brightness_command_topic, `gravity-led/leds/${led}/set`);
      assert.equal(config.brightness_scale, 100, 'HA brightness 1..100 is our duty in percent');
      const [availability] = config.availability as { topic: string; payload_available: string }[];
      assert.equal(availability?.topic, 'gravity-led/led-driver/status');
      // What the status topic really carries is what HA will compare with.
      const [status] = await readRetained(system, availability?.topic ?? '', 1);
      assert.equal(status?.payload, availability?.payload_available ?? 'online');
    }
  });

  it("Home Assistant's commands work: brightness as a number, off as payload_off", async () => {
    const left = configs.find((c) => c.topic.includes('/left/'))?.config as Record<string, string>;
    assert.equal((await mosquittoPub(system, left.brightness_command_topic as string, '40')).code, 0);
    const state = await leds.until('left = 40', (s) => s.left === 40);
    assert.equal(state.reason, 'manual');
    assert.equal((await mosquittoPub(system, left.command_topic as string, left.payload_off ?? 'OFF')).code, 0);
    await leds.until('left off', (s) => s.left === 0);
  });

  it('HA_DISCOVERY=false after it was true removes the configs (empty retained messages)', async () => {
    const driver = system.service('led-driver');
    system.env.HA_DISCOVERY = 'false';
    const from = driver.lines.length;
    await driver.restart();
    await driver.waitForLog('connected to MQTT broker', 10_000, from);
    const removed = async () => driver.lines.slice(from).filter((l) => l.msg.includes('removed a Home Assistant discovery config')).length;
    for (let i = 0; (await removed()) < 2; i++) {
      assert.ok(i < 250, 'both configs removed within 5 s');
      await new Promise((r) => setTimeout(r, 20));
    }
    // A fresh subscriber, as HA after a restart, finds nothing retained any more.
    const { operatorUsername, operatorPassword } = system.secrets;
    const args = ['-h', '127.0.0.1', '-p', String(system.ports.broker), '-u', operatorUsername, '-P', operatorPassword];
    const result = await run('mosquitto_sub', [...args, '-t', 'homeassistant/#', '--retained-only', '-W', '2', '-v']).then(
      (r) => r.stdout,
      (e: { stdout?: string }) => e.stdout ?? '',
    );
    assert.equal(result.trim(), '', 'no retained discovery config is left');
  });
});
