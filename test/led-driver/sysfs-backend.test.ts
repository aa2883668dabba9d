/**
 * The Pi 5 backend (kernel PWM through sysfs) against a fake /sys laid out as the kernel lays out each overlay
 * (test/helpers/fake-sysfs.ts): pwm-2chan's RP1 PWM0 (4 channels) and pwm-pio instances (one chip per GPIO).
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { listPwmChips, openBackend, openSysfs } from '@gravity-led/led-driver';
import { ConfigError } from '@gravity-led/shared';
import { captureLog } from '../helpers/capture-log.js';
import { fakePigpio } from '../helpers/fake-pigpio.js';
import { FakeSysfs } from '../helpers/fake-sysfs.js';

const PI5_PINS = { right: 18, left: 19 };
/** The seed's wiring: green on GPIO 18, red on GPIO 5. */
const SEED_PINS = { right: 18, left: 5 };
let sysfs: FakeSysfs | undefined;

afterEach(() => {
  sysfs?.dispose();
  sysfs = undefined;
});

describe('sysfs PWM backend on the RP1 PWM0 (dtoverlay=pwm-2chan)', () => {
  it('exports the RP1 channels of GPIO 18 and 19, sets the period from PWM_FREQUENCY and enables them dark', async () => {
    sysfs = new FakeSysfs({
      chips: [
        { chip: 0, overlay: 'none', npwm: 2 },
        { chip: 2, overlay: 'pwm-2chan' },
      ],
    });
    const backend = await openSysfs(PI5_PINS, { root: sysfs.root, chip: 'auto', frequency: 800 });
    assert.equal(backend.name, 'sysfs');
    assert.deepEqual(sysfs.events, ['export 2/2', 'export 2/3'], 'the RP1 PWM0 chip, channels 2 and 3');
    for (const channel of [2, 3]) {
      assert.equal(sysfs.read(2, channel, 'period'), '1250000', '800 Hz = 1 250 000 ns');
      assert.equal(sysfs.read(2, channel, 'duty_cycle'), '0');
      assert.equal(sysfs.read(2, channel, 'enable'), '1');
    }
    assert.equal(backend.detail, 'right: pwmchip2 (RP1 PWM0) channel 2, left: pwmchip2 (RP1 PWM0) channel 3');
    await backend.close();
  });

  it('finds PWM0 by its device-tree node, not by counting channels: the fan PWM1 has 4 channels too, and a lower number', async () => {
    sysfs = new FakeSysfs({
      chips: [
        { chip: 0, overlay: 'fan' },
        { chip: 2, overlay: 'pwm-2chan' },
      ],
    });
    assert.deepEqual(
      listPwmChips(sysfs.root).map((c) => [c.number, c.kind, c.npwm]),
      [
        [0, 'rp1-pwm1', 4],
        [2, 'rp1-pwm0', 4],
      ],
    );
    const backend = await openSysfs(PI5_PINS, { root: sysfs.root, chip: 'auto', frequency: 800 });
    assert.deepEqual(sysfs.events, ['export 2/2', 'export 2/3'], 'nothing exported on the fan chip');
    await backend.close();
  });

  it('writes each duty as nanoseconds of the period, to the right channel', async () => {
    sysfs = new FakeSysfs({ chips: [{ chip: 2, overlay: 'pwm-2chan' }] });
    const backend = await openSysfs({ right: 12, left: 13 }, { root: sysfs.root, chip: 2, frequency: 1000 });
    backend.write({ left: 0, right: 40 });
    assert.equal(sysfs.read(2, 0, 'duty_cycle'), '400000');
    assert.equal(sysfs.read(2, 1, 'duty_cycle'), '0');
    backend.write({ left: 33.33, right: 0 });
    assert.equal(sysfs.read(2, 0, 'duty_cycle'), '0');
    assert.equal(sysfs.read(2, 1, 'duty_cycle'), '333300');
    backend.write({ left: 100, right: 0 });
    assert.equal(sysfs.read(2, 1, 'duty_cycle'), '1000000');
    await backend.close();
  });

  it('on close sets both duties to 0, disables and unexports both', async () => {
    sysfs = new FakeSysfs({ chips: [{ chip: 2, overlay: 'pwm-2chan' }] });
    const backend = await openSysfs(PI5_PINS, { root: sysfs.root, chip: 'auto', frequency: 800 });
    backend.write({ left: 0, right: 90 });
    await backend.close();
    assert.deepEqual(sysfs.events, ['export 2/2', 'export 2/3', 'unexport 2/2', 'unexport 2/3']);
    assert.equal(sysfs.exported(2, 2), false);
    assert.equal(sysfs.exported(2, 3), false);
    assert.throws(() => backend.write({ left: 0, right: 10 }), /closed/);
  });

  it('closeSync (the last moments of the process) turns both dark at once, without waiting for the kernel', async () => {
    sysfs = new FakeSysfs({ chips: [{ chip: 2, overlay: 'pwm-2chan' }] });
    const backend = await openSysfs(PI5_PINS, { root: sysfs.root, chip: 'auto', frequency: 800 });
    backend.write({ left: 70, right: 90 });
    backend.closeSync();
    // Synchronously, before the fake kernel has had a tick to unexport anything.
    for (const channel of [2, 3]) {
      assert.equal(sysfs.read(2, channel, 'duty_cycle'), '0');
      assert.equal(sysfs.read(2, channel, 'enable'), '0');
    }
    assert.throws(() => backend.write({ left: 0, right: 10 }), /closed/);
    await backend.close();
  });

  it('takes over a channel left exported and lit by an earlier run, duty first so the kernel accepts the period', async () => {
    sysfs = new FakeSysfs({ chips: [{ chip: 2, overlay: 'pwm-2chan' }] });
    sysfs.leftOver(2, 2, { period: 10_000_000, duty_cycle: 9_000_000, enable: 1 });
    const backend = await openSysfs(PI5_PINS, { root: sysfs.root, chip: 'auto', frequency: 800 });
    assert.deepEqual(sysfs.events, ['export 2/3'], 'channel 2 was already there');
    assert.equal(sysfs.read(2, 2, 'duty_cycle'), '0');
    assert.equal(sysfs.read(2, 2, 'period'), '1250000');
    await backend.close();
  });

  it('LED_PWM_CHIP names the chip when there is no device-tree node to find it by', async () => {
    sysfs = new FakeSysfs({ chips: [{ chip: 5, overlay: 'none', npwm: 4 }] });
    const backend = await openSysfs(PI5_PINS, { root: sysfs.root, chip: 5, frequency: 800 });
    assert.deepEqual(sysfs.events, ['export 5/2', 'export 5/3']);
    await backend.close();
    await assert.rejects(openSysfs(PI5_PINS, { root: sysfs.root, chip: 7, frequency: 800 }), /LED_PWM_CHIP=7: there is no .*pwmchip7/);
    await assert.rejects(
      openSysfs(PI5_PINS, { root: '/nonexistent/pwm', chip: 'auto', frequency: 800 }),
      /\/nonexistent\/pwm does not exist/,
    );
  });
});

describe('sysfs PWM backend on pwm-pio (dtoverlay=pwm-pio,gpio=N: PWM on any GPIO, one chip each)', () => {
  it("drives the seed's wiring, GPIO 18 and GPIO 5, each through its own pwm-pio chip", async () => {
    sysfs = new FakeSysfs({
      chips: [
        { chip: 0, overlay: 'fan' },
        { chip: 2, overlay: 'pwm-pio', gpio: 18 },
        { chip: 3, overlay: 'pwm-pio', gpio: 5 },
      ],
    });
    const backend = await openSysfs(SEED_PINS, { root: sysfs.root, chip: 'auto', frequency: 1000 });
    assert.deepEqual(sysfs.events, ['export 2/0', 'export 3/0'], 'channel 0, the only one, of each');
    assert.equal(backend.detail, 'right: pwmchip2 (pwm-pio on GPIO 18) channel 0, left: pwmchip3 (pwm-pio on GPIO 5) channel 0');
    backend.write({ left: 25, right: 0 });
    assert.equal(sysfs.read(3, 0, 'duty_cycle'), '250000');
    assert.equal(sysfs.read(2, 0, 'duty_cycle'), '0');
    await backend.close();
    assert.deepEqual(sysfs.events.slice(2), ['unexport 2/0', 'unexport 3/0']);
  });

  it('mixes both overlays: GPIO 18 on the RP1 PWM0, GPIO 5 on pwm-pio; the chip numbers are whatever the kernel gave', async () => {
    sysfs = new FakeSysfs({
      chips: [
        { chip: 1, overlay: 'pwm-pio', gpio: 5 },
        { chip: 4, overlay: 'pwm-2chan' },
      ],
    });
    const backend = await openSysfs(SEED_PINS, { root: sysfs.root, chip: 'auto', frequency: 800 });
    assert.deepEqual(sysfs.events, ['export 4/2', 'export 1/0']);
    await backend.close();
  });

  it('a pin without PWM: one line naming each missing pin and the exact config.txt line for it', async () => {
    sysfs = new FakeSysfs({ chips: [{ chip: 2, overlay: 'pwm-2chan' }] });
    await assert.rejects(openSysfs(SEED_PINS, { root: sysfs.root, chip: 'auto', frequency: 800 }), (error: Error) => {
      assert.match(
        error.message,
        /^no PWM chip drives GPIO 5 \(LED_LEFT_PIN=5\) in .* \(found: pwmchip2 \(RP1 PWM0\)\); add "dtoverlay=pwm-pio,gpio=5" to \/boot\/firmware\/config.txt and reboot$/,
      );
      return true;
    });
    assert.deepEqual(sysfs.events, [], 'nothing exported');
    sysfs.dispose();
    sysfs = new FakeSysfs({ chips: [{ chip: 0, overlay: 'fan' }] });
    await assert.rejects(
      openSysfs(SEED_PINS, { root: sysfs.root, chip: 'auto', frequency: 800 }),
      /no PWM chip drives GPIO 18 \(LED_RIGHT_PIN=18\) or GPIO 5 \(LED_LEFT_PIN=5\) .*found: pwmchip0 \(RP1 PWM1, the fan\).*add "dtoverlay=pwm-pio,gpio=18" and "dtoverlay=pwm-pio,gpio=5"/,
    );
  });
});

describe('backend selection on a Raspberry Pi 5', () => {
  it('LED_BACKEND=sysfs opens it with the configured root, chip and frequency', async () => {
    sysfs = new FakeSysfs({ chips: [{ chip: 5, overlay: 'pwm-2chan' }] });
    const { log } = captureLog();
    const backend = await openBackend({
      kind: 'sysfs',
      pins: PI5_PINS,
      log,
      hardware: { sysfsRoot: sysfs.root, pwmChip: 5, pwmFrequency: 2000 },
    });
    assert.equal(backend.name, 'sysfs');
    assert.equal(sysfs.read(5, 2, 'period'), '500000');
    await backend.close();
  });

  it('auto uses sysfs without touching pigpio, and says nothing more', async () => {
    sysfs = new FakeSysfs({
      chips: [
        { chip: 2, overlay: 'pwm-pio', gpio: 18 },
        { chip: 3, overlay: 'pwm-pio', gpio: 5 },
      ],
    });
    const { log, records } = captureLog();
    let loaded = false;
    const backend = await openBackend({
      kind: 'auto',
      pins: SEED_PINS,
      log,
      hardware: {
        sysfsRoot: sysfs.root,
        readModel: () => 'Raspberry Pi 5 Model B Rev 1.0',
        loadPigpio: async () => {
          loaded = true;
          return fakePigpio().module;
        },
      },
    });
    assert.equal(backend.name, 'sysfs');
    assert.equal(loaded, false);
    assert.deepEqual(records, []);
    await backend.close();
  });

  it('auto without the overlays stops with one line: the board, what was tried, the config.txt lines, or sim', async () => {
    sysfs = new FakeSysfs({ chips: [] });
    const { log, records } = captureLog();
    await assert.rejects(
      openBackend({
        kind: 'auto',
        pins: SEED_PINS,
        log,
        hardware: { sysfsRoot: sysfs.root, readModel: () => 'Raspberry Pi 5 Model B Rev 1.0' },
      }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(
          error.message,
          /^LED_BACKEND=auto on a Raspberry Pi 5 Model B Rev 1\.0: tried sysfs, which cannot drive the LEDs: no PWM chip drives GPIO 18 \(LED_RIGHT_PIN=18\) or GPIO 5 .*found: none.*"dtoverlay=pwm-pio,gpio=18" and "dtoverlay=pwm-pio,gpio=5".*Fix that, or set LED_BACKEND=sim/,
        );
        return true;
      },
    );
    assert.deepEqual(records, []);
  });
});
