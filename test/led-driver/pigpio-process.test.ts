/**
 * Every way the led-driver process ends, with the pigpio backend on a fake that treats signals as the pigpio C
 * library does (see fake-pigpio.ts: gpioInitialise() takes every signal, and its handler runs gpioTerminate() then
 * exit(-1), exit code 255, fivdi/pigpio#10). The real led-driver process, as `npm start -w led-driver` starts it; the
 * fake is put in place of the `pigpio` package by a loader hook, and keeps the pins where the test can look at them.
 * Each way out must leave both pins at 0 and the library released, and the retained topics telling the truth.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { collect, mosquittoPub, operatorClient } from '../helpers/clients.js';
import { type FakePigpioState, lit, pigpioEnv, readPigpioState } from '../helpers/fake-pigpio.js';
import { PATIENCE_MS } from '../helpers/faults.js';
import { StateWatcher } from '../helpers/leds.js';
import { type ServiceProcess, TestSystem } from '../helpers/system.js';
import { waitFor } from '../helpers/wait.js';

describe('led-driver on pigpio: LEDs off on every way out, although the C library takes the signals', () => {
  let system: TestSystem;
  let driver: ServiceProcess | undefined;
  let mqtt: MqttClient;
  let leds: StateWatcher;
  let status: { messages: string[] };
  let stateFile: string;

  const pins = (): FakePigpioState => {
    const state = readPigpioState(stateFile);
    assert.ok(state, 'the led-driver loaded the fake pigpio');
    return state;
  };

  /** Starts the led-driver afresh and lights the green LED at `duty` % (PWM_RANGE 1000: `duty` * 10 steps). */
  async function runAndLight(duty: number): Promise<number> {
    let from = 0;
    if (driver) {
      from = driver.mark;
      await driver.restart('led-driver ready');
    } else {
      driver = await system.startService('led-driver', 'led-driver ready');
    }
    await driver.waitForLog('connected to MQTT broker', PATIENCE_MS, from);
    const y = duty;
    assert.equal((await mosquittoPub(system, 'gravity-led/gravity', `0 ${y} ${Math.sqrt(10_000 - y * y).toFixed(1)}`)).code, 0);
    await waitFor(`GPIO 18 at ${duty * 10} steps`, () => pins().pins[18]?.peak === duty * 10, PATIENCE_MS);
    return from;
  }

  /** The pins, the library and the retained topics once the process has gone. */
  async function assertLeftDarkAndReleased(): Promise<void> {
    const state = pins();
    assert.equal(state.killedBy, undefined, `pigpio's own handler ended the process (${state.killedBy}): exit 255, pins as they were`);
    assert.ok(!lit(state.pins[18]) && !lit(state.pins[5]), `both pins at 0: ${JSON.stringify(state.pins)}`);
    assert.equal(state.initialized, false, 'the library was terminated');
    const last = await leds.until('the shutdown state', (s) => s.reason === 'shutdown', PATIENCE_MS);
    assert.deepEqual([last.left, last.right], [0, 0]);
    await waitFor('led-driver offline', () => status.messages.at(-1) === 'offline', PATIENCE_MS);
  }

  before(async () => {
    system = await TestSystem.start({ services: ['broker'] });
    stateFile = join(system.dataDir, 'pigpio.json');
    const model = join(system.dataDir, 'model');
    // The device tree's model string, NUL-terminated as the kernel gives it: a Pi 4, where pigpio is the backend.
    writeFileSync(model, 'Raspberry Pi 4 Model B Rev 1.4\0');
    Object.assign(system.env, {
      LED_BACKEND: 'pigpio',
      LED_BOARD_MODEL_FILE: model,
      ...pigpioEnv(stateFile, 'exception@770,rejection@660'),
    });
    mqtt = await operatorClient(system);
    leds = new StateWatcher(mqtt);
    status = collect(mqtt, 'gravity-led/led-driver/status');
  });

  after(async () => {
    mqtt?.end(true);
    await system?.stop();
  });

  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    it(`${signal} after pigpio initialised: \`shutdown\`, both pins 0, \`offline\`, exit 0`, async () => {
      await runAndLight(40);
      assert.ok(driver);
      driver.kill(signal);
      const exit = await driver.exited(PATIENCE_MS);
      assert.deepEqual(exit, { code: 0, signal: null }, driver.raw.slice(-10).join('\n'));
      await assertLeftDarkAndReleased();
    });
  }

  it('an uncaught exception: LEDs off and the library released before the process ends (exit 1), `shutdown`, `offline`', async () => {
    const from = await runAndLight(77);
    assert.ok(driver);
    const exit = await driver.exited(PATIENCE_MS);
    assert.deepEqual(exit, { code: 1, signal: null }, driver.raw.slice(-10).join('\n'));
    await assertLeftDarkAndReleased();
    assert.ok(
      driver.linesAtLeast(60, from).some((l) => l.msg.includes('uncaught exception: fake pigpio: injected fault')),
      'the error is logged as fatal',
    );
  });

  it('an unhandled rejection: the same', async () => {
    const from = await runAndLight(66);
    assert.ok(driver);
    const exit = await driver.exited(PATIENCE_MS);
    assert.deepEqual(exit, { code: 1, signal: null }, driver.raw.slice(-10).join('\n'));
    await assertLeftDarkAndReleased();
    assert.ok(driver.linesAtLeast(60, from).some((l) => l.msg.includes('unhandled rejection: fake pigpio: injected fault')));
  });
});
