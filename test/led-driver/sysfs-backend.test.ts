/** The Pi 5 backend (kernel PWM through sysfs) against a fake sysfs tree in a temporary folder. */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { openBackend, openSysfs } from '@gravity-led/led-driver';
import { captureLog } from '../helpers/capture-log.js';
import { fakePigpio } from '../helpers/fake-pigpio.js';
import { FakeSysfs } from '../helpers/fake-sysfs.js';

const PI5_PINS = { right: 18, left: 19 };
let sysfs: FakeSysfs | undefined;

afterEach(() => {
  sysfs?.dispose();
  sysfs = undefined;
});

describe('sysfs PWM backend', () => {
  it('exports the RP1 channels of GPIO 18 and 19, sets the period from PWM_FREQUENCY and enables them dark', async () => {
    sysfs = new FakeSysfs({ 0: 2, 2: 4 });
    const backend = await openSysfs(PI5_PINS, { root: sysfs.root, chip: 'auto', frequency: 800 });
    assert.equal(backend.name, 'sysfs');
    assert.deepEqual(sysfs.events, ['export 2', 'export 3'], 'the 4-channel chip (RP1), channels 2 and 3');
    for (const channel of [2, 3]) {
      assert.equal(sysfs.read(2, channel, 'period'), '1250000', '800 Hz = 1 250 000 ns');
      assert.equal(sysfs.read(2, channel, 'duty_cycle'), '0');
      assert.equal(sysfs.read(2, channel, 'enable'), '1');
    }
    assert.equal(sysfs.exported(0, 2), false);
    await backend.close();
  });

  it('writes each duty as nanoseconds of the period, to the right channel', async () => {
    sysfs = new FakeSysfs({ 2: 4 });
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
    sysfs = new FakeSysfs({ 2: 4 });
    const backend = await openSysfs(PI5_PINS, { root: sysfs.root, chip: 'auto', frequency: 800 });
    backend.write({ left: 0, right: 90 });
    await backend.close();
    assert.deepEqual(sysfs.events, ['export 2', 'export 3', 'unexport 2', 'unexport 3']);
    assert.equal(sysfs.exported(2, 2), false);
    assert.equal(sysfs.exported(2, 3), false);
    assert.throws(() => backend.write({ left: 0, right: 10 }), /closed/);
  });

  it('takes over a channel left exported and lit by an earlier run, duty first so the kernel accepts the period', async () => {
    sysfs = new FakeSysfs({ 2: 4 });
    sysfs.leftOver(2, 2, { period: 10_000_000, duty_cycle: 9_000_000, enable: 1 });
    const backend = await openSysfs(PI5_PINS, { root: sysfs.root, chip: 'auto', frequency: 800 });
    assert.deepEqual(sysfs.events, ['export 3'], 'channel 2 was already there');
    assert.equal(sysfs.read(2, 2, 'duty_cycle'), '0');
    assert.equal(sysfs.read(2, 2, 'period'), '1250000');
    await backend.close();
  });

  it('refuses a pin without hardware PWM on the Pi 5, naming the variable and the pins that work', async () => {
    sysfs = new FakeSysfs({ 2: 4 });
    await assert.rejects(
      openSysfs({ right: 18, left: 5 }, { root: sysfs.root, chip: 'auto', frequency: 800 }),
      /LED_LEFT_PIN=5: GPIO 5 has no hardware PWM on the Raspberry Pi 5; use GPIO 12, 13, 18 or 19/,
    );
    assert.deepEqual(sysfs.events, [], 'nothing exported');
  });

  it('without the overlay (no 4-channel chip) says which line to add to config.txt', async () => {
    sysfs = new FakeSysfs({ 0: 2 });
    await assert.rejects(
      openSysfs(PI5_PINS, { root: sysfs.root, chip: 'auto', frequency: 800 }),
      /no PWM chip with 4 channels .*found: pwmchip0 \(2 channels\).*dtoverlay=pwm-2chan,pin=18,func=2,pin2=19,func2=2/,
    );
    await assert.rejects(openSysfs(PI5_PINS, { root: sysfs.root, chip: 7, frequency: 800 }), /LED_PWM_CHIP=7: there is no .*pwmchip7/);
    await assert.rejects(
      openSysfs(PI5_PINS, { root: '/nonexistent/pwm', chip: 'auto', frequency: 800 }),
      /\/nonexistent\/pwm does not exist/,
    );
  });

  it('LED_BACKEND=sysfs opens it with the configured root, chip and frequency', async () => {
    sysfs = new FakeSysfs({ 5: 4 });
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

  it('auto on a Pi 5 skips pigpio and uses sysfs, saying why in one line', async () => {
    sysfs = new FakeSysfs({ 2: 4 });
    const { log, records } = captureLog();
    const backend = await openBackend({
      kind: 'auto',
      pins: PI5_PINS,
      log,
      hardware: {
        sysfsRoot: sysfs.root,
        readModel: () => 'Raspberry Pi 5 Model B Rev 1.0',
        loadPigpio: async () => fakePigpio().module,
      },
    });
    assert.equal(backend.name, 'sysfs');
    assert.equal(records.length, 1);
    assert.match(records[0]?.msg ?? '', /^LED_BACKEND=auto: using sysfs \(pigpio: pigpio does not support the Raspberry Pi 5/);
    await backend.close();
  });
});
