/**
 * Home Assistant's MQTT integration as it really connects (test/helpers/home-assistant.ts models it from HA's source
 * and docs): its own client id, birth `online` and will `offline` on `homeassistant/status`, discovery subscriptions,
 * the discovered lights' state, availability and command topics. Against the embedded broker, where HA's MQTT 5
 * option is refused at CONNECT (Aedes speaks 3.1.1), and against Debian's Mosquitto through MQTT_URL, the broker of
 * HA's own Mosquitto add-on, with MQTT 3.1.1 and MQTT 5.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { operatorClient, WsClient } from '../helpers/clients.js';
import { type HaLight, HomeAssistant, haBrightness } from '../helpers/home-assistant.js';
import { StateWatcher } from '../helpers/leds.js';
import { scrape } from '../helpers/metrics.js';
import { MOSQUITTO_OPERATOR, MosquittoBroker } from '../helpers/mosquitto-broker.js';
import { TestSystem } from '../helpers/system.js';
import { sleep, waitFor } from '../helpers/wait.js';

const RED = 'Red LED (left)';
const GREEN = 'Green LED (right)';
/** The issue's bar: a client that behaves as HA does keeps one connection for at least this long. */
const HOLD_MS = 10_000;

/** HA_DISCOVERY on; a short fail-safe so a phone that stops hands back to HA quickly. */
const ENV = { HA_DISCOVERY: 'true', FAILSAFE_TIMEOUT_MS: '300' };

/** The light is in the state HA shows for a duty: on with its brightness for that duty (scale 100), or off. */
function shows(light: HaLight, duty: number): boolean {
  if (duty === 0) return light.isOn === false;
  return light.isOn === true && light.brightness === haBrightness(duty, 100);
}

/** Discovery configs that reached HA after its birth message, live (a re-announcement, not the retained replay). */
function reannounced(ha: HomeAssistant, birth: number): string[] {
  return ha.discovery
    .filter((m) => m.at >= birth && !m.retain)
    .map((m) => m.topic)
    .sort();
}

/** What the issue asks of HA on either broker: both lights, green to 50 % with a brightness command, off with OFF. */
async function driveGreen(system: TestSystem, ha: HomeAssistant): Promise<void> {
  const green = await ha.available(GREEN);
  await ha.turnOn(green, 50);
  await waitFor('the green LED at 50 %', () => system.simLeds?.right === 50);
  await waitFor('HA to show green on at 50 %', () => shows(green, 50));
  assert.equal(system.simLeds?.left, 0);
  await ha.turnOff(green);
  await waitFor('the green LED off', () => system.simLeds?.right === 0);
  await waitFor('HA to show green off', () => shows(green, 0));
}

describe('Home Assistant on the embedded broker (MQTT 3.1.1, its default)', () => {
  let system: TestSystem;
  let ha: HomeAssistant;
  let observer: MqttClient;
  const haStatus: string[] = [];
  let connectedAt = 0;

  before(async () => {
    system = await TestSystem.start({ env: ENV });
    observer = await operatorClient(system);
    observer.on('message', (topic, payload) => {
      if (topic === 'homeassistant/status') haStatus.push(payload.toString());
    });
    await observer.subscribeAsync('homeassistant/status');
    const { operatorUsername, operatorPassword } = system.secrets;
    ha = await HomeAssistant.connect({
      url: `mqtt://127.0.0.1:${system.ports.broker}`,
      username: operatorUsername,
      password: operatorPassword,
    });
    connectedAt = Date.now();
  });

  after(async () => {
    ha?.stop();
    observer?.end(true);
    await system?.stop();
  });

  it('publishes its birth message, keeps its connection and shows both lights available', async () => {
    await ha.born();
    await waitFor('the birth message to reach other clients', () => haStatus.includes('online'));
    await ha.available(RED);
    await ha.available(GREEN);
    await sleep(500);
    assert.equal(ha.closes, 0, `the broker dropped Home Assistant ${ha.closes} times`);
    assert.equal(ha.connects, 1);
    const broker = await scrape(`http://127.0.0.1:${system.ports.brokerMetrics}/metrics`);
    assert.equal(broker.count('gravity_led_broker_publishes_refused_total', { account: 'operator', reason: 'not-authorized' }), 0);
  });

  it('gets the discovery configs again after its birth message, as HA asks integrations to do', async () => {
    const birth = await ha.born();
    await waitFor('both configs announced again after the birth message', () => reannounced(ha, birth).length >= 2);
    assert.deepEqual(
      [...new Set(reannounced(ha, birth))],
      ['homeassistant/light/gravity-led/left/config', 'homeassistant/light/gravity-led/right/config'],
    );
  });

  it('drives the green LED to 50 % with a brightness command and off with OFF, and shows what the LED does', async () => {
    await driveGreen(system, ha);
    const red = ha.light(RED);
    await ha.turnOn(red, 30);
    await waitFor('the red LED at 30 %', () => system.simLeds?.left === 30);
    await waitFor('HA to show red on at 30 %', () => shows(red, 30));
    await ha.turnOff(red);
    await waitFor('HA to show red off', () => shows(red, 0));
  });

  it('records a phone session calmly: at most two state changes a second per light, ending on the applied value', async (t) => {
    const green = await ha.available(GREEN);
    const red = ha.light(RED);
    const before = { green: green.recorded.length, red: red.recorded.length };
    const leds = new StateWatcher(observer);
    await leds.until('the retained state', () => true);
    const statesBefore = leds.states.length;
    const phone = await WsClient.controller(system);
    // 3 s of a phone tilting right and back at 100 frames a second: a new duty nearly every frame.
    const started = Date.now();
    let y = 0;
    for (let i = 0; Date.now() - started < 3000; i++) {
      y = Math.round(50 + 40 * Math.sin(i / 15));
      phone.send(`0 ${y} 80`);
      await sleep(10);
    }
    const streamedMs = Date.now() - started;
    // Then held still (the same frame, so the fail-safe stays fed) until the state has settled.
    for (const end = Date.now() + 1500; Date.now() < end; ) {
      phone.send(`0 ${y} 80`);
      await sleep(30);
    }
    const applied = system.simLeds?.right;
    assert.equal(applied, y, 'the led-driver applied the last frame');
    assert.ok(shows(green, y), `HA shows ${green.isOn ? `on ${green.brightness}` : 'off'}, the LED is at ${y} %`);
    const recorded = green.recorded.length - before.green;
    const changes = leds.states.length - statesBefore;
    // At most one change per 500 ms, plus the first and the settled one; `leds/state` changed with nearly every frame.
    const bound = Math.ceil((streamedMs + 1500) / 500) + 2;
    t.diagnostic(`in ${streamedMs + 1500} ms: leds/state changed ${changes} times, HA recorded ${recorded} changes of the green light`);
    assert.ok(recorded <= bound, `HA recorded ${recorded} changes of the green light in ${streamedMs + 1500} ms (bound ${bound})`);
    assert.ok(changes > 4 * bound, `leds/state changed only ${changes} times: the phone did not stream`);
    assert.deepEqual(red.recorded.slice(before.red), [], 'the red LED stayed off, and HA recorded nothing for it');
    phone.close();
    await phone.closed();
    // The phone leaving turns the LED off at once (a fail-safe is not held back).
    await waitFor('HA to show green off after the phone left', () => shows(green, 0));
  });

  it('kept one connection all along (at least 10 s), and its will reaches other clients when it vanishes', async () => {
    await sleep(Math.max(0, connectedAt + HOLD_MS - Date.now()));
    assert.ok(ha.connected);
    assert.equal(ha.closes, 0);
    assert.equal(ha.connects, 1);
    ha.stop();
    await waitFor("HA's last will on homeassistant/status", () => haStatus.at(-1) === 'offline');
    assert.ok(system.service('led-driver').running);
  });
});

describe('Home Assistant with MQTT 5 on the embedded broker', () => {
  let system: TestSystem;

  before(async () => {
    system = await TestSystem.start({ env: ENV });
  });

  after(async () => {
    await system?.stop();
  });

  it('is refused at CONNECT with "unsupported protocol version", which HA shows; counted, and logged once', async () => {
    const { operatorUsername, operatorPassword } = system.secrets;
    const broker = system.service('broker');
    const from = broker.mark;
    const attempts = 3;
    for (let i = 0; i < attempts; i++) {
      const refusal = await HomeAssistant.connect({
        url: `mqtt://127.0.0.1:${system.ports.broker}`,
        username: operatorUsername,
        password: operatorPassword,
        protocolVersion: 5,
      }).then(
        (ha) => {
          ha.stop();
          return undefined;
        },
        (error: { code?: number }) => error,
      );
      // Aedes answers 3.1.1's return code 1 "unacceptable protocol version" [MQTT-3.1.2-2]; paho (HA's client),
      // libmosquitto and mqtt.js all report it to an MQTT 5 client as "unsupported protocol version".
      assert.equal(refusal?.code, 1, 'an MQTT 5 CONNECT was not refused with return code 1');
    }
    const warnings = () => broker.linesAtLeast(40, from).filter((l) => /MQTT 5/.test(l.msg));
    await waitFor('the warning', () => warnings().length > 0);
    assert.equal(warnings().length, 1, 'logged once');
    assert.match(warnings()[0]?.msg ?? '', /3\.1\.1/, 'the line says what to choose instead');
    const metrics = await scrape(`http://127.0.0.1:${system.ports.brokerMetrics}/metrics`);
    assert.equal(metrics.count('gravity_led_broker_connections_refused_total', { reason: 'protocol-version' }), attempts);
  });
});

/**
 * HA logs in here with an account that Mosquitto's ACL limits as the embedded broker limits its operator: stricter
 * than the add-on, which lets HA's own `homeassistant` user read and write everything.
 */
describe("Home Assistant on Mosquitto through MQTT_URL (the broker of HA's Mosquitto add-on)", () => {
  let mosquitto: MosquittoBroker;
  let system: TestSystem;
  const has: { version: 4 | 5; ha: HomeAssistant; connectedAt: number }[] = [];

  before(async () => {
    mosquitto = await MosquittoBroker.start();
    system = await TestSystem.start({ services: ['gateway', 'led-driver'], env: { ...ENV, ...mosquitto.serviceEnv } });
    await system.service('led-driver').waitForLog('connected to MQTT broker', 30_000);
    for (const version of [4, 5] as const) {
      const ha = await HomeAssistant.connect({ url: mosquitto.url, ...MOSQUITTO_OPERATOR, protocolVersion: version });
      has.push({ version, ha, connectedAt: Date.now() });
    }
  });

  after(async () => {
    for (const { ha } of has) ha.stop();
    await system?.stop();
    await mosquitto?.stop();
  });

  for (const version of [4, 5] as const) {
    const entry = () => has.find((h) => h.version === version) as (typeof has)[number];
    const name = version === 4 ? 'MQTT 3.1.1' : 'MQTT 5';

    it(`${name}: birth message, both lights available, the configs again after the birth`, async () => {
      const { ha } = entry();
      const birth = await ha.born();
      await ha.available(RED);
      await ha.available(GREEN);
      await waitFor('both configs announced again after the birth message', () => reannounced(ha, birth).length >= 2);
      assert.equal(ha.closes, 0);
    });

    it(`${name}: green to 50 % with a brightness command, off with OFF`, async () => {
      await driveGreen(system, entry().ha);
    });
  }

  it('MQTT 3.1.1: a publish the ACL denies is acknowledged (3.1.1 has no reason code) and dropped; the connection stays', async () => {
    const ha = has.find((h) => h.version === 4)?.ha as HomeAssistant;
    for (const qos of [1, 2] as const) await ha.client.publishAsync('gravity-led/leds/state', '{"left":9,"right":9}', { qos });
    await sleep(200);
    assert.ok(ha.connected);
    assert.notEqual(system.simLeds?.left, 9);
  });

  it('MQTT 5: a publish the ACL denies gets "Not authorized" (0x87) in its PUBACK or PUBREC, and the connection stays', async () => {
    const ha = has.find((h) => h.version === 5)?.ha as HomeAssistant;
    for (const qos of [1, 2] as const) {
      const refusal = await ha.client.publishAsync('gravity-led/leds/state', '{"left":9,"right":9}', { qos }).then(
        () => undefined,
        (error: { code?: number }) => error,
      );
      assert.equal(refusal?.code, 0x87, `QoS ${qos}`);
    }
    await sleep(200);
    assert.ok(ha.connected);
  });

  it('both kept one connection all along (at least 10 s)', async () => {
    for (const { ha, connectedAt, version } of has) {
      await sleep(Math.max(0, connectedAt + HOLD_MS - Date.now()));
      assert.ok(ha.connected, `MQTT ${version}: disconnected`);
      assert.equal(ha.closes, 0, `MQTT ${version}: dropped`);
      assert.equal(ha.connects, 1, `MQTT ${version}: reconnected`);
    }
  });
});
