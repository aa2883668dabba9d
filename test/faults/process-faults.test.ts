/**
 * Faults injected for real into the three running processes: the controller leaving, the gateway killed with
 * SIGKILL, the broker killed with SIGKILL and restarted. Each time both LEDs must go off, the state must say why,
 * and control must come back by itself once the fault is over.
 *
 * FAILSAFE_TIMEOUT_MS is long here on purpose: each of these faults has its own, immediate signal (the gateway's
 * occupancy, its last will, the lost connection), and the reason in the state proves that signal turned the LEDs
 * off before the stale-stream timer could have. The timer itself is proven in stale.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { collect, operatorClient, WsClient } from '../helpers/clients.js';
import { bothOff, light, PATIENCE_MS, pins } from '../helpers/faults.js';
import { StateWatcher } from '../helpers/leds.js';
import { TestSystem } from '../helpers/system.js';
import { sleep, waitFor } from '../helpers/wait.js';

describe('faults in the running system: LEDs off, the reason told, control resumes', () => {
  let system: TestSystem;
  let mqtt: MqttClient | undefined;
  let leds: StateWatcher;

  before(async () => {
    system = await TestSystem.start({ env: { FAILSAFE_TIMEOUT_MS: '5000' } });
    mqtt = await operatorClient(system);
    leds = new StateWatcher(mqtt);
  });

  after(async () => {
    mqtt?.end(true);
    await system?.stop();
  });

  it('the controller closes its connection: both off (`controller-left`); a new controller drives again', async () => {
    const client = await WsClient.controller(system);
    await light(client, -60);
    await pins(system, 'left = 60', (p) => p.left === 60);
    client.close();
    const off = await leds.until('both off', bothOff, PATIENCE_MS);
    assert.equal(off.reason, 'controller-left');
    await pins(system, 'off', bothOff);

    const again = await WsClient.controller(system);
    await light(again, 45);
    await pins(system, 'right = 45', (p) => p.right === 45);
    again.close();
    await leds.until('both off', bothOff, PATIENCE_MS);
  });

  it('the gateway is killed (SIGKILL): both off (`gateway-offline`, its last will); after a restart a controller drives again', async () => {
    const client = await WsClient.controller(system);
    await light(client, 70);
    await pins(system, 'right = 70', (p) => p.right === 70);
    const gateway = system.service('gateway');
    gateway.kill('SIGKILL');
    await gateway.exited();
    const off = await leds.until('both off', bothOff, PATIENCE_MS);
    assert.equal(off.reason, 'gateway-offline');
    await pins(system, 'off', bothOff);
    await client.closed(PATIENCE_MS);

    const from = gateway.mark;
    await gateway.restart('gateway ready');
    await gateway.waitForLog('connected to MQTT broker', PATIENCE_MS, from);
    const again = await WsClient.controller(system);
    await light(again, 35);
    await pins(system, 'right = 35', (p) => p.right === 35);
    again.close();
    await leds.until('both off', bothOff, PATIENCE_MS);
  });

  it('the broker is killed (SIGKILL) and restarted: off at once (`broker-lost`), values meanwhile dropped, control resumes by itself', async () => {
    const broker = system.service('broker');
    const gateway = system.service('gateway');
    const driver = system.service('led-driver');
    const client = await WsClient.controller(system);
    await light(client, 80);
    await pins(system, 'right = 80', (p) => p.right === 80);

    const marks = { gateway: gateway.mark, driver: driver.mark, frames: client.frames.length };
    mqtt?.end(true);
    mqtt = undefined;
    broker.kill('SIGKILL');
    await broker.exited();

    // No MQTT to look at: the driver's own account, and the pins themselves.
    const failsafe = await driver.waitForLog('LEDs off (fail-safe)', PATIENCE_MS, marks.driver);
    assert.equal(failsafe.reason, 'broker-lost');
    await pins(system, 'off', bothOff);
    // The phone, still connected to the gateway, is told the device cannot be driven.
    await client.next('unavailable', () => true, PATIENCE_MS, marks.frames);

    // Values sent while the broker is away are dropped, not queued for later.
    for (let i = 0; i < 10; i++) {
      client.send('0 77 63.9');
      await sleep(30);
    }
    await client.next('unavailable', (f) => String(f.reason).includes('dropped'), PATIENCE_MS, marks.frames);
    assert.ok(bothOff(system.simLeds ?? { left: -1, right: -1 }), 'still off while the broker is away');

    await broker.restart('broker ready');
    await driver.waitForLog('connected to MQTT broker', PATIENCE_MS, marks.driver);
    await gateway.waitForLog('connected to MQTT broker', PATIENCE_MS, marks.gateway);
    await client.next('available', () => true, PATIENCE_MS, marks.frames);

    // The restarted broker remembered nothing: the services published their retained messages again.
    mqtt = await operatorClient(system);
    const statuses = {
      gateway: collect(mqtt, 'gravity-led/gateway/status'),
      driver: collect(mqtt, 'gravity-led/led-driver/status'),
      clients: collect(mqtt, 'gravity-led/gateway/clients'),
    };
    leds = new StateWatcher(mqtt);
    const retained = await leds.until('the retained state', () => true, PATIENCE_MS);
    assert.deepEqual([retained.left, retained.right, retained.reason], [0, 0, 'broker-lost']);
    await waitFor('retained statuses', () => statuses.gateway.messages.includes('online') && statuses.driver.messages.includes('online'));
    await waitFor('the retained occupancy', () => statuses.clients.messages.some((m) => JSON.parse(m).clients === 1));

    // The same phone drives again, and none of the values sent during the outage ever reached the LEDs.
    await light(client, 33);
    await pins(system, 'right = 33', (p) => p.right === 33);
    const since = client.frames.slice(marks.frames).filter((f) => f.type === 'state');
    assert.ok(!since.some((f) => f.right === 77), `no state from the outage: ${JSON.stringify(since)}`);
    assert.ok(!leds.states.some((s) => s.right === 77), 'no retained or live state from the outage');
    client.close();
    await leds.until('both off', bothOff, PATIENCE_MS);
  });
});
