/**
 * The led-driver process as its container runs it, on this machine: LED_BACKEND=auto with the real `pigpio` package
 * (or its absence) falls back to sim in one line; LED_BACKEND=sysfs drives a fake PWM tree end to end over MQTT,
 * with LED_GAMMA shaping the PWM duty while the state topic keeps the seed's duty.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { mosquittoPub, operatorClient } from '../helpers/clients.js';
import { FakeSysfs } from '../helpers/fake-sysfs.js';
import { StateWatcher } from '../helpers/leds.js';
import { TestSystem } from '../helpers/system.js';
import { waitFor } from '../helpers/wait.js';

describe('led-driver on a machine without GPIO', () => {
  it('LED_BACKEND=auto tries the real pigpio package, then sysfs, and says in one line why it simulates', async () => {
    const system = await TestSystem.start({ services: ['led-driver'], env: { LED_BACKEND: 'auto' } });
    try {
      const driver = system.service('led-driver');
      const line = await driver.waitForLog('LED_BACKEND=auto');
      assert.match(
        line.msg,
        /^LED_BACKEND=auto: no GPIO available, using simulated LEDs \(pigpio: (the pigpio package is not installed|pigpio's native module did not load).*; sysfs: LED_LEFT_PIN=5: GPIO 5 has no hardware PWM/,
      );
      assert.equal(driver.lines.filter((l) => l.msg.startsWith('LED_BACKEND=auto')).length, 1);
      assert.equal((await driver.waitForLog('led-driver ready')).backend, 'sim');
      const notJson = driver.raw.filter((l) => !l.startsWith('{'));
      assert.deepEqual(notJson, [], "pigpio's multi-line banner does not leak into the log");
    } finally {
      await system.stop();
    }
  });
});

describe('led-driver with LED_BACKEND=sysfs on a fake kernel PWM tree', () => {
  let sysfs: FakeSysfs;
  let system: TestSystem;
  let mqtt: MqttClient;
  let leds: StateWatcher;

  before(async () => {
    sysfs = new FakeSysfs({ 0: 2, 2: 4 });
    system = await TestSystem.start({
      services: ['broker', 'led-driver'],
      env: {
        LED_BACKEND: 'sysfs',
        LED_SYSFS_ROOT: sysfs.root,
        LED_RIGHT_PIN: '18',
        LED_LEFT_PIN: '19',
        PWM_FREQUENCY: '1000',
        LED_GAMMA: '2',
      },
    });
    mqtt = await operatorClient(system);
    leds = new StateWatcher(mqtt);
  });

  after(async () => {
    mqtt?.end(true);
    await system?.stop();
    sysfs?.dispose();
  });

  it('a gravity value lights GPIO 18 through PWM channel 2 with the gamma-shaped duty; the state keeps the seed duty', async () => {
    assert.equal(sysfs.read(2, 2, 'period'), '1000000');
    assert.equal(sysfs.read(2, 2, 'enable'), '1');
    assert.equal((await mosquittoPub(system, 'gravity-led/gravity', '0 40 91.6')).code, 0);
    await leds.until('right = 40', (s) => s.right === 40 && s.left === 0);
    // 40 % with gamma 2 is 16 % of the 1 ms period.
    await waitFor('duty of channel 2', () => sysfs.read(2, 2, 'duty_cycle') === '160000');
    assert.equal(sysfs.read(2, 3, 'duty_cycle'), '0');
    assert.equal((await mosquittoPub(system, 'gravity-led/gravity', '0 -100 0')).code, 0);
    await leds.until('left = 100', (s) => s.left === 100);
    await waitFor('duty of channel 3', () => sysfs.read(2, 3, 'duty_cycle') === '1000000');
    assert.equal(sysfs.read(2, 2, 'duty_cycle'), '0');
  });

  it('SIGTERM turns both channels off, disables and unexports them, then exits 0', async () => {
    const driver = system.service('led-driver');
    driver.kill('SIGTERM');
    assert.equal((await driver.exited()).code, 0);
    assert.deepEqual(sysfs.events, ['export 2', 'export 3', 'unexport 2', 'unexport 3']);
    assert.equal(sysfs.exported(2, 2), false);
    assert.equal(sysfs.exported(2, 3), false);
  });
});
