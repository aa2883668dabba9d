/**
 * The broker's accounts against someone on the LAN: password guessing is logged the way every refusal is (the first
 * one a warning, the rest counted and summed up) and counted in the broker's metrics; and a client that presents
 * the client id of a connected service cannot take its session over.
 *
 * MQTT 3.1.1 [MQTT-3.1.4-2]: "If the ClientId represents a Client already connected to the Server then the Server
 * MUST disconnect the existing Client". That holds for a connection the broker accepts; the broker may instead reject
 * the client id, "CONNACK return code 0x02 (Identifier rejected)" [MQTT-3.1.3-9], and does so when the id is held by
 * another account: the operator's account can never kick the gateway or the led-driver off (the LEDs would flap).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { mosquittoPub, operatorClient, WsClient } from '../helpers/clients.js';
import { StateWatcher } from '../helpers/leds.js';
import { scrape } from '../helpers/metrics.js';
import { TestSystem } from '../helpers/system.js';
import { sleep, waitFor } from '../helpers/wait.js';

/** Connects and resolves with the CONNACK outcome: 0 when accepted, else the refusal's return code. */
async function attempt(system: TestSystem, options: IClientOptions): Promise<{ code: number; client: MqttClient }> {
  const client = mqtt.connect(`mqtt://127.0.0.1:${system.ports.broker}`, { reconnectPeriod: 0, ...options });
  const code = await new Promise<number>((resolve) => {
    client.once('connect', () => resolve(0));
    client.once('error', (error: Error & { code?: number }) => resolve(typeof error.code === 'number' ? error.code : -1));
  });
  return { code, client };
}

describe('broker accounts: failed logins and client id takeovers', () => {
  let system: TestSystem;
  let observer: MqttClient;
  let leds: StateWatcher;
  let metricsUrl: string;
  const opened: MqttClient[] = [];

  before(async () => {
    system = await TestSystem.start({ env: { FAILSAFE_TIMEOUT_MS: '600000' } });
    observer = await operatorClient(system);
    leds = new StateWatcher(observer);
    await leds.until('the retained state', () => true);
    metricsUrl = `http://127.0.0.1:${system.ports.brokerMetrics}/metrics`;
  });

  after(async () => {
    for (const client of [observer, ...opened]) client?.end(true);
    await system?.stop();
  });

  it('failed logins: the first is a warning, the rest are counted, not logged; all are in the metrics', async () => {
    const broker = system.service('broker');
    const from = broker.mark;
    const { operatorUsername, serviceUsername } = system.secrets;
    const guesses = 30;
    for (let i = 0; i < guesses; i++) {
      const username = i % 2 === 0 ? operatorUsername : serviceUsername;
      const { code, client } = await attempt(system, { username, password: `guess-${i}-password` });
      client.end(true);
      assert.equal(code, 4, 'a wrong password is refused with "bad user name or password"');
    }
    const tool = await mosquittoPub(system, 'gravity-led/gravity', '0 1 99', { username: 'admin', password: 'admin-admin' });
    assert.notEqual(tool.code, 0);
    await sleep(200);
    const warnings = broker.linesAtLeast(40, from).filter((l) => /password/.test(l.msg));
    assert.equal(warnings.length, 1, `${warnings.length} warnings for ${guesses + 1} failed logins`);
    assert.ok(!JSON.stringify(warnings).includes('guess-'), 'a guessed password reached the log');
    const metrics = await scrape(metricsUrl);
    assert.equal(metrics.count('gravity_led_broker_connections_refused_total', { reason: 'bad-credentials' }), guesses + 1);
    // The right password still gets in at once.
    const good = await operatorClient(system);
    opened.push(good);
    assert.ok(good.connected);
  });

  it("the operator cannot take over a service's client id; the led-driver stays and the LEDs do not flap", async () => {
    const phone = await WsClient.controller(system);
    phone.send('0 40 91.6');
    await leds.until('right = 40', (s) => s.right === 40);
    const driver = system.service('led-driver');
    const driverFrom = driver.mark;
    const statesFrom = leds.states.length;
    // The led-driver's client id, as anyone who may read the broker's $SYS topics sees it connect.
    const ids = system
      .service('broker')
      .lines.filter((l) => l.msg === 'client connected' && typeof l.client === 'string')
      .map((l) => l.client as string);
    const driverId = ids.find((id) => id.startsWith('led-driver-'));
    assert.ok(driverId, `no led-driver client id among ${ids.join(', ')}`);
    const { operatorUsername, operatorPassword } = system.secrets;
    for (let i = 0; i < 3; i++) {
      const { code, client } = await attempt(system, { clientId: driverId, username: operatorUsername, password: operatorPassword });
      client.end(true);
      assert.equal(code, 2, 'the takeover is refused with "identifier rejected"');
    }
    await sleep(500);
    assert.ok(!driver.lines.slice(driverFrom).some((l) => l.msg.includes('lost the MQTT broker')), 'the led-driver was kicked off');
    assert.deepEqual(
      leds.states.slice(statesFrom).map((s) => s.reason),
      [],
      'the LED state changed while the phone held it',
    );
    assert.equal(system.simLeds?.right, 40);
    const metrics = await scrape(metricsUrl);
    assert.equal(metrics.count('gravity_led_broker_connections_refused_total', { reason: 'client-id-in-use' }), 3);
    phone.close();
    await phone.closed();
  });

  it('within one account a new connection takes the session over, as MQTT says; a service may take over from the operator', async () => {
    const { operatorUsername, operatorPassword, serviceUsername, servicePassword } = system.secrets;
    const operator = { username: operatorUsername, password: operatorPassword };
    const first = await attempt(system, { clientId: 'my-mqtt-tool', ...operator });
    opened.push(first.client);
    let firstClosed = false;
    first.client.on('close', () => {
      firstClosed = true;
    });
    const second = await attempt(system, { clientId: 'my-mqtt-tool', ...operator });
    opened.push(second.client);
    assert.equal(second.code, 0, 'the same account may take its client id over');
    await waitFor('the first connection to be closed [MQTT-3.1.4-2]', () => firstClosed);
    const service = await attempt(system, { clientId: 'my-mqtt-tool', username: serviceUsername, password: servicePassword });
    opened.push(service.client);
    assert.equal(service.code, 0, 'a service may take over an id the operator holds, so it can never be locked out');
    const metrics = await scrape(metricsUrl);
    assert.equal(metrics.count('gravity_led_broker_session_takeovers_total', { account: 'operator' }), 1);
    assert.equal(metrics.count('gravity_led_broker_session_takeovers_total', { account: 'service' }), 1);
  });
});
