/** The pigpio backend against a fake of the pigpio module: every call, its arguments and its order. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dutySteps, openBackend, openPigpio } from '@gravity-led/led-driver';
import { ConfigError } from '@gravity-led/shared';
import { captureLog } from '../helpers/capture-log.js';
import { fakePigpio } from '../helpers/fake-pigpio.js';

const PINS = { right: 18, left: 5 };
const PI4 = () => 'Raspberry Pi 4 Model B Rev 1.4';

describe('pigpio backend', () => {
  it('sets up both pins as outputs with the PWM frequency and range, starting dark', async () => {
    const { module, calls } = fakePigpio();
    const backend = await openPigpio(PINS, { frequency: 800, range: 1000, load: async () => module, readModel: PI4 });
    assert.equal(backend.name, 'pigpio');
    assert.deepEqual(calls, [
      ['configureInterfaces', 1 | 2 | 8],
      ['initialize'],
      ['Gpio', 18, { mode: 1 }],
      ['pwmFrequency', 18, 800],
      ['pwmRange', 18, 1000],
      ['pwmWrite', 18, 0],
      ['Gpio', 5, { mode: 1 }],
      ['pwmFrequency', 5, 800],
      ['pwmRange', 5, 1000],
      ['pwmWrite', 5, 0],
    ]);
  });

  it('maps duty 0..100 onto the range, rounding to the nearest step', async () => {
    const { module, calls } = fakePigpio();
    const backend = await openPigpio({ right: 12, left: 13 }, { frequency: 2000, range: 255, load: async () => module, readModel: PI4 });
    calls.length = 0;
    backend.write({ left: 0, right: 40 });
    backend.write({ left: 33.3, right: 0 });
    backend.write({ left: 100, right: 0.1 });
    assert.deepEqual(calls, [
      ['pwmWrite', 12, 102], // 0.4 * 255 = 102
      ['pwmWrite', 13, 0],
      ['pwmWrite', 12, 0],
      ['pwmWrite', 13, 85], // 0.333 * 255 = 84.9
      ['pwmWrite', 12, 0], // 0.255 rounds down
      ['pwmWrite', 13, 255],
    ]);
    assert.deepEqual(
      [0, 0.05, 0.06, 12.34, 50, 99.95, 100].map((d) => dutySteps(d, 1000)),
      [0, 1, 1, 123, 500, 1000, 1000],
    );
    assert.equal(dutySteps(150, 1000), 1000, 'never beyond the range');
    assert.equal(dutySteps(-5, 1000), 0);
  });

  it('on close drives both pins low, then terminates the library, once', async () => {
    const { module, calls } = fakePigpio();
    const backend = await openPigpio(PINS, { frequency: 800, range: 1000, load: async () => module, readModel: PI4 });
    backend.write({ left: 0, right: 70 });
    calls.length = 0;
    await backend.close();
    await backend.close();
    assert.deepEqual(calls, [['digitalWrite', 18, 0], ['digitalWrite', 5, 0], ['terminate']]);
    assert.throws(() => backend.write({ left: 0, right: 10 }), /closed/);
  });

  it('explains an initialisation failure and what pigpio needs', async () => {
    const { module, calls } = fakePigpio({ initError: 'pigpio error -1 in gpioInitialise' });
    await assert.rejects(
      openPigpio(PINS, { frequency: 800, range: 1000, load: async () => module, readModel: PI4 }),
      /pigpio could not initialise \(pigpio error -1 in gpioInitialise\): it needs root with \/dev\/mem .* no pigpiod/,
    );
    assert.deepEqual(calls.at(-1), ['initialize']);
  });

  it('releases the library when a pin cannot be set up', async () => {
    const { module, calls } = fakePigpio({ badPin: 5 });
    await assert.rejects(
      openPigpio(PINS, { frequency: 800, range: 1000, load: async () => module, readModel: PI4 }),
      /could not set up GPIO 18 and 5: gpioSetMode: bad gpio 5/,
    );
    assert.deepEqual(calls.at(-1), ['terminate']);
  });

  it('refuses the Raspberry Pi 5 before loading anything, pointing at the sysfs backend', async () => {
    let loaded = false;
    await assert.rejects(
      openPigpio(PINS, {
        frequency: 800,
        range: 1000,
        load: async () => {
          loaded = true;
          return fakePigpio().module;
        },
        readModel: () => 'Raspberry Pi 5 Model B Rev 1.0',
      }),
      /pigpio does not support the Raspberry Pi 5 .*LED_BACKEND=sysfs/,
    );
    assert.equal(loaded, false);
  });
});

describe('backend selection', () => {
  it('LED_BACKEND=pigpio opens pigpio with the configured frequency and range', async () => {
    const { module, calls } = fakePigpio();
    const { log } = captureLog();
    const backend = await openBackend({
      kind: 'pigpio',
      pins: { right: 18, left: 5 },
      log,
      hardware: { loadPigpio: async () => module, readModel: PI4, pwmFrequency: 400, pwmRange: 40000 },
    });
    assert.equal(backend.name, 'pigpio');
    assert.ok(calls.some((c) => c[0] === 'pwmFrequency' && c[2] === 400));
    assert.ok(calls.some((c) => c[0] === 'pwmRange' && c[2] === 40000));
    await backend.close();
  });

  it('LED_BACKEND=pigpio fails loudly (no silent simulation) when pigpio cannot initialise', async () => {
    const { module } = fakePigpio({ initError: 'pigpio error -1 in gpioInitialise' });
    const { log } = captureLog();
    await assert.rejects(
      openBackend({ kind: 'pigpio', pins: PINS, log, hardware: { loadPigpio: async () => module, readModel: PI4 } }),
      /pigpio could not initialise/,
    );
  });

  it('auto uses pigpio when it initialises, and says nothing about fallbacks', async () => {
    const { module } = fakePigpio();
    const { log, records } = captureLog();
    const backend = await openBackend({ kind: 'auto', pins: PINS, log, hardware: { loadPigpio: async () => module, readModel: PI4 } });
    assert.equal(backend.name, 'pigpio');
    assert.equal(records.length, 0);
    await backend.close();
  });

  it('auto on a Raspberry Pi 1-4 never simulates: one line naming the board, what was tried and what to do', async () => {
    for (const [load, reason] of [
      [
        async () => {
          throw new Error('the pigpio package is not installed');
        },
        /tried pigpio, which cannot drive the LEDs: the pigpio package is not installed/,
      ],
      [async () => fakePigpio({ initError: 'pigpio error -1 in gpioInitialise' }).module, /tried pigpio, .*: pigpio could not initialise/],
    ] as const) {
      const { log, records } = captureLog();
      await assert.rejects(
        openBackend({ kind: 'auto', pins: PINS, log, hardware: { loadPigpio: load, readModel: PI4 } }),
        (error: unknown) => {
          // A ConfigError: runService refuses it as it refuses a bad variable, one line and exit 2.
          assert.ok(error instanceof ConfigError, String(error));
          assert.match(error.message, /^LED_BACKEND=auto on a Raspberry Pi 4 Model B Rev 1\.4: /);
          assert.match(error.message, reason);
          assert.match(error.message, /Fix that, or set LED_BACKEND=sim to run with simulated LEDs$/);
          assert.ok(!error.message.includes('\n'));
          return true;
        },
      );
      assert.deepEqual(records, [], 'and no line saying it simulates');
    }
  });

  it('auto off a Raspberry Pi simulates, with one calm line, and does not even load pigpio', async () => {
    for (const model of [undefined, 'Pine64 RockPro64 v2.1']) {
      let loaded = false;
      const { log, records } = captureLog();
      const backend = await openBackend({
        kind: 'auto',
        pins: PINS,
        log,
        hardware: {
          loadPigpio: async () => {
            loaded = true;
            return fakePigpio().module;
          },
          readModel: () => model,
        },
      });
      assert.equal(backend.name, 'sim');
      assert.equal(loaded, false);
      assert.equal(records.length, 1);
      assert.equal(records[0]?.level, 30, 'info, not a warning: nothing is wrong');
      assert.match(
        records[0]?.msg ?? '',
        /^LED_BACKEND=auto: this (machine|board \(Pine64 RockPro64 v2\.1\)) is not a Raspberry Pi, so the LEDs are simulated$/,
      );
      await backend.close();
    }
  });

  it('sim on a Raspberry Pi only when asked for, and said so', async () => {
    const { log, records } = captureLog();
    const backend = await openBackend({ kind: 'sim', pins: PINS, log, hardware: { readModel: PI4 } });
    assert.equal(backend.name, 'sim');
    assert.deepEqual(
      records.map((r) => r.msg),
      ['LED_BACKEND=sim: simulated LEDs on this Raspberry Pi 4 Model B Rev 1.4, as asked'],
    );
    await backend.close();
  });
});
