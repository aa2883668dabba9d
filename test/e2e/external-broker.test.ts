/**
 * MQTT_URL really does accept "any MQTT 3.1.1/5 broker": gateway and led-driver run against Debian's Mosquitto,
 * with a password file and an ACL, instead of the embedded broker. The data path, the retained state and the
 * last will (the gateway killed -> LEDs off) must all work there too.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { WsClient } from '../helpers/clients.js';
import { StateWatcher } from '../helpers/leds.js';
import { MOSQUITTO_OPERATOR, MosquittoBroker } from '../helpers/mosquitto-broker.js';
import { TestSystem } from '../helpers/system.js';
import { waitFor } from '../helpers/wait.js';

describe('with Mosquitto as the broker (MQTT_URL)', () => {
  let mosquitto: MosquittoBroker;
  let system: TestSystem;
  let operator: MqttClient;
  let leds: StateWatcher;
  const status = new Map<string, string>();

  before(async () => {
    // A password file and an ACL: the operator may read everything under the prefix and inject gravity.
    mosquitto = await MosquittoBroker.start();
    system = await TestSystem.start({
      services: ['gateway', 'led-driver'],
      env: { ...mosquitto.serviceEnv, FAILSAFE_TIMEOUT_MS: '5000' },
    });
    await system.service('gateway').waitForLog('connected to MQTT broker', 30_000);
    await system.service('led-driver').waitForLog('connected to MQTT broker', 30_000);

    operator = mqtt.connect(mosquitto.url, { ...MOSQUITTO_OPERATOR, reconnectPeriod: 0 });
    await new Promise<void>((resolve, reject) => operator.once('connect', () => resolve()).once('error', reject));
    operator.on('message', (topic, payload) => {
      if (topic.endsWith('/status')) status.set(topic, payload.toString());
    });
    operator.subscribe(['gravity-led/gateway/status', 'gravity-led/led-driver/status']);
    leds = new StateWatcher(operator);
  });

  after(async () => {
    operator?.end(true);
    await system?.stop();
    await mosquitto?.stop();
  });

  it('both services announce themselves online, retained', async () => {
    await waitFor(
      'both statuses online',
      () => status.get('gravity-led/gateway/status') === 'online' && status.get('gravity-led/led-driver/status') === 'online',
    );
  });

  it('a phone frame drives the LEDs and the state comes back to the phone and to MQTT tools', async () => {
    const client = await WsClient.controller(system);
    client.send('0 50 86.6');
    const frame = await client.next('state', (f) => f.right === 50, 10_000);
    assert.equal(frame.left, 0);
    await leds.until('right = 50 on the state topic', (s) => s.right === 50 && s.left === 0);
    client.close();
    await client.closed();
  });

  it('the operator injects a value by hand, as with the embedded broker', async () => {
    await new Promise<void>((resolve, reject) =>
      operator.publish('gravity-led/gravity', '0 -40 91.6', { qos: 1 }, (error) => (error ? reject(error) : resolve())),
    );
    await leds.until('left = 40', (s) => s.left === 40 && s.right === 0);
  });

  it("Mosquitto delivers the gateway's last will when it is killed, and the led-driver turns both LEDs off", async () => {
    const client = await WsClient.controller(system);
    client.send('0 30 95.4');
    await leds.until('right = 30', (s) => s.right === 30);
    system.service('gateway').kill('SIGKILL');
    // Mosquitto sends the will once it notices the dead TCP connection: at once for a closed socket.
    const off = await leds.until('both off', (s) => s.left === 0 && s.right === 0, 15_000);
    assert.match(off.reason, /gateway-offline|controller-left/);
    await waitFor('the gateway status to read offline', () => status.get('gravity-led/gateway/status') === 'offline', 15_000);
  });
});
