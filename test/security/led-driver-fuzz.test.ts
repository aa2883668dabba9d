/**
 * Fuzzing the led-driver over MQTT: every topic it reads gets thousands of invalid payloads (NaN, Infinity, huge
 * numbers, wrong types, broken JSON, binary junk). None may change the LEDs, the process must keep running with
 * bounded memory, and each kind of refusal is logged once, not once per message. The seed is printed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { operatorClient } from '../helpers/clients.js';
import {
  type FuzzInput,
  invalidInputs,
  possiblyAcceptedClients,
  possiblyAcceptedLedCommand,
  possiblyAcceptedManualSet,
  possiblyAcceptedPayload,
  possiblyAcceptedStatus,
} from '../helpers/fuzz.js';
import { StateWatcher } from '../helpers/leds.js';
import { MEMORY_GROWTH_BOUND, rssBytes } from '../helpers/memory.js';
import { Prng } from '../helpers/prng.js';
import { TestSystem } from '../helpers/system.js';
import { sleep } from '../helpers/wait.js';

const GRAVITY = 'gravity-led/gravity';

function payload(input: FuzzInput): Buffer | string {
  return 'bytes' in input ? input.bytes : input.text;
}

/** Publishes in batches, waiting for the client's socket to drain between them rather than for each message. */
async function publishAll(client: MqttClient, topic: string, inputs: readonly FuzzInput[]): Promise<void> {
  for (let at = 0; at < inputs.length; at += 500) {
    for (const input of inputs.slice(at, at + 500)) client.publish(topic, payload(input), { qos: 0 });
    await new Promise<void>((resolve) => client.publish(topic, 'x x x x', { qos: 1 }, () => resolve()));
  }
}

describe('led-driver fuzz over MQTT', () => {
  const rng = Prng.fromEnv('led-driver-fuzz');
  let system: TestSystem;
  let operator: MqttClient;
  let service: MqttClient;
  let leds: StateWatcher;
  let pid: number;
  let rssAtStart: number;

  before(async () => {
    // No gateway: its status and occupancy messages are forged here, and must be refused when malformed.
    system = await TestSystem.start({ services: ['broker', 'led-driver'], env: { FAILSAFE_TIMEOUT_MS: '600000', LOG_LEVEL: 'info' } });
    operator = await operatorClient(system);
    leds = new StateWatcher(operator);
    const { serviceUsername, servicePassword } = system.secrets;
    service = mqtt.connect(`mqtt://127.0.0.1:${system.ports.broker}`, {
      username: serviceUsername,
      password: servicePassword,
      reconnectPeriod: 0,
    });
    await new Promise<void>((resolve, reject) => {
      service.once('connect', () => resolve());
      service.once('error', reject);
    });
    operator.publish(GRAVITY, '0 33 50');
    await leds.until('right = 33', (s) => s.right === 33);
    pid = system.service('led-driver').child.pid as number;
    rssAtStart = rssBytes(pid);
  });

  after(async () => {
    operator?.end(true);
    service?.end(true);
    await system?.stop();
  });

  /** A valid gravity message from `client` after its junk: the LEDs follow it only once all the junk was handled. */
  async function sentinel(client: MqttClient, right: number): Promise<void> {
    client.publish(GRAVITY, `0 ${right} 50`, { qos: 1 });
    await leds.until(`right = ${right}`, (s) => s.right === right, 30_000);
  }

  function assertHealthy(): void {
    assert.ok(system.service('led-driver').running, 'the led-driver process is running');
    const growth = rssBytes(pid) - rssAtStart;
    assert.ok(growth < MEMORY_GROWTH_BOUND, `the led-driver grew by ${Math.round(growth / 1024 / 1024)} MB`);
  }

  it('12,000 invalid gravity payloads (and payloads up to the broker limit) change nothing', async () => {
    const inputs = invalidInputs(rng, 12_000, possiblyAcceptedPayload);
    // Some oversized ones too: over the led-driver's 1 KiB, under the broker's 4 KiB.
    for (let i = 0; i < 20; i++) inputs.push({ text: `0 50 ${'9'.repeat(rng.int(1100, 4000))}` });
    const before = leds.states.length;
    await publishAll(operator, GRAVITY, inputs);
    await sentinel(operator, 34);
    assert.deepEqual(
      leds.states.slice(before).map((s) => s.right),
      [34],
      'only the valid message moved the LEDs',
    );
    assertHealthy();
  });

  it('invalid manual commands on leds/set, leds/left/set and leds/right/set change nothing', async () => {
    const before = leds.states.length;
    await publishAll(
      operator,
      'gravity-led/leds/set',
      invalidInputs(rng, 1500, possiblyAcceptedManualSet, ['{"left":10,"right":0}', '{"right":55}', '{"left":0}']),
    );
    for (const led of ['left', 'right']) {
      await publishAll(
        operator,
        `gravity-led/leds/${led}/set`,
        invalidInputs(rng, 1500, possiblyAcceptedLedCommand, ['ON', 'OFF', '50', '12.5']),
      );
    }
    await sentinel(operator, 35);
    assert.deepEqual(
      leds.states.slice(before).map((s) => s.right),
      [35],
    );
    assertHealthy();
  });

  it("forged, malformed gateway status and occupancy messages change nothing (a service's own account sending junk)", async () => {
    const before = leds.states.length;
    await publishAll(service, 'gravity-led/gateway/status', invalidInputs(rng, 1500, possiblyAcceptedStatus, ['online', 'offline']));
    await publishAll(
      service,
      'gravity-led/gateway/clients',
      invalidInputs(rng, 1500, possiblyAcceptedClients, ['{"clients":1,"maxClients":1}', '{"clients":0,"maxClients":1}']),
    );
    await sentinel(service, 36);
    assert.deepEqual(
      leds.states.slice(before).map((s) => s.right),
      [36],
    );
    assertHealthy();
  });

  it('each kind of refusal is logged once per topic, not once per message', async () => {
    await sleep(100);
    const refusals = system.service('led-driver').lines.filter((l) => l.msg.startsWith('ignored a payload'));
    const perKind = new Map<string, number>();
    for (const line of refusals) {
      const key = `${line.topic} ${line.kind}`;
      perKind.set(key, (perKind.get(key) ?? 0) + 1);
    }
    for (const [key, count] of perKind) assert.equal(count, 1, `${key} was logged ${count} times`);
    const topics = new Set(refusals.map((l) => l.topic));
    for (const topic of [
      GRAVITY,
      'gravity-led/leds/set',
      'gravity-led/leds/left/set',
      'gravity-led/leds/right/set',
      'gravity-led/gateway/status',
      'gravity-led/gateway/clients',
    ]) {
      assert.ok(topics.has(topic), `no refusal was logged for ${topic}`);
    }
    const kinds = new Set(refusals.filter((l) => l.topic === GRAVITY).map((l) => l.kind));
    for (const kind of ['not-a-number', 'out-of-range', 'wrong-count', 'bad-json', 'bad-shape', 'too-large']) {
      assert.ok(kinds.has(kind), `no ${kind} refusal on the gravity topic: ${[...kinds].join(', ')}`);
    }
    assert.ok(refusals.length < 60, `${refusals.length} refusal lines for ~21,000 bad payloads`);
  });
});
