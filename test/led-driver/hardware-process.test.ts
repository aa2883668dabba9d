/**
 * The led-driver process as its container runs it, choosing its LEDs by the board it finds (LED_BOARD_MODEL_FILE,
 * the device tree's model): off a Raspberry Pi `auto` simulates in one calm line; on a Pi it drives real GPIO or stops
 * with one line (exit 2) saying what is missing, never dark LEDs behind a healthy container. A simulated Pi 5 (a fake
 * /sys laid out as the kernel lays out the pwm-pio overlay) drives the seed's wiring, GPIO 18 and 5, end to end over
 * MQTT, with LED_GAMMA shaping the PWM duty while the state topic keeps the seed's duty.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { mosquittoPub, operatorClient } from '../helpers/clients.js';
import { pigpioAbsentEnv } from '../helpers/fake-pigpio.js';
import { FakeSysfs } from '../helpers/fake-sysfs.js';
import { StateWatcher } from '../helpers/leds.js';
import { ServiceProcess, TestSystem } from '../helpers/system.js';
import { waitFor } from '../helpers/wait.js';

const scratch = mkdtempSync(join(tmpdir(), 'gravity-led-board-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** A model file as the kernel writes it (NUL-terminated). */
function modelFile(name: string, model: string): string {
  const file = join(scratch, name);
  writeFileSync(file, `${model}\0`);
  return file;
}

/** The led-driver alone, expected to refuse to start: its exit code and every line it wrote. */
async function refusal(env: Record<string, string>): Promise<{ code: number | null; lines: string[] }> {
  const driver = new ServiceProcess('led-driver', {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    DATA_DIR: scratch,
    LOG_FORMAT: 'json',
    METRICS_PORT: '0',
    MQTT_URL: 'mqtt://127.0.0.1:1',
    ...env,
  });
  try {
    const { code } = await driver.exited(30_000);
    return { code, lines: driver.raw.filter((l) => l.trim() !== '') };
  } finally {
    driver.kill('SIGKILL');
  }
}

describe('led-driver off a Raspberry Pi', () => {
  it('LED_BACKEND=auto simulates, in one calm line, without trying pigpio or sysfs', async () => {
    const system = await TestSystem.start({
      services: ['led-driver'],
      env: { LED_BACKEND: 'auto', LED_BOARD_MODEL_FILE: modelFile('rockpro64', 'Pine64 RockPro64 v2.1') },
    });
    try {
      const driver = system.service('led-driver');
      const line = await driver.waitForLog('LED_BACKEND=auto');
      assert.equal(line.msg, 'LED_BACKEND=auto: this board (Pine64 RockPro64 v2.1) is not a Raspberry Pi, so the LEDs are simulated');
      assert.equal(line.level, 30);
      assert.equal(driver.lines.filter((l) => l.msg.startsWith('LED_BACKEND=auto')).length, 1);
      assert.equal((await driver.waitForLog('led-driver ready')).backend, 'sim');
      assert.deepEqual(
        driver.raw.filter((l) => !l.startsWith('{')),
        [],
        'no loader errors, no pigpio banner: it was never loaded',
      );
    } finally {
      await system.stop();
    }
  });
});

describe('led-driver on a Raspberry Pi without usable GPIO: `auto` stops with one line and exit 2, never simulates', () => {
  it('a Pi 4 whose pigpio cannot load (this machine has no pigpio C library): names the board, pigpio and the way out', async () => {
    const { code, lines } = await refusal({
      LED_BACKEND: 'auto',
      LED_BOARD_MODEL_FILE: modelFile('pi4', 'Raspberry Pi 4 Model B Rev 1.4'),
    });
    assert.equal(code, 2, lines.join('\n'));
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(
      lines[0] ?? '',
      /^led-driver: LED_BACKEND=auto on a Raspberry Pi 4 Model B Rev 1\.4: tried pigpio, which cannot drive the LEDs: (the pigpio package is not installed|pigpio's native module did not load).*Fix that, or set LED_BACKEND=sim to run with simulated LEDs$/,
    );
  });

  it('a Pi 5 without the PWM overlays: names the exact config.txt lines for GPIO 18 and 5', async () => {
    const sysfs = new FakeSysfs({ chips: [{ chip: 0, overlay: 'fan' }] });
    try {
      const { code, lines } = await refusal({ LED_BACKEND: 'auto', LED_BOARD_MODEL_FILE: sysfs.modelFile, LED_SYSFS_ROOT: sysfs.root });
      assert.equal(code, 2, lines.join('\n'));
      assert.equal(lines.length, 1, lines.join('\n'));
      assert.match(
        lines[0] ?? '',
        /^led-driver: LED_BACKEND=auto on a Raspberry Pi 5 Model B Rev 1\.0: tried sysfs, .*add "dtoverlay=pwm-pio,gpio=18" and "dtoverlay=pwm-pio,gpio=5" to \/boot\/firmware\/config.txt and reboot\. Fix that, or set LED_BACKEND=sim/,
      );
      assert.deepEqual(sysfs.events, [], 'nothing touched on the fan chip');
    } finally {
      sysfs.dispose();
    }
  });
});

describe('led-driver in an image built with WITH_PIGPIO=false (no pigpio package): the line says to rebuild the image', () => {
  // The image's Dockerfile records the build argument (IMAGE_WITH_PIGPIO); the package is missing as
  // `npm ci --omit=optional` leaves it, which the fake loader answers as Node does (ERR_MODULE_NOT_FOUND).
  const image = { IMAGE_WITH_PIGPIO: 'false', ...pigpioAbsentEnv() };
  const REBUILD = /Rebuild the image with --build-arg WITH_PIGPIO=true \(docker compose: set WITH_PIGPIO=true in \.env/;

  for (const [name, env] of [
    ['LED_BACKEND=pigpio', { LED_BACKEND: 'pigpio' }],
    ['LED_BACKEND=auto on a Pi 4', { LED_BACKEND: 'auto' }],
  ] as const) {
    it(`${name}: exit 2, one line naming WITH_PIGPIO=false and the rebuild`, async () => {
      const { code, lines } = await refusal({
        ...env,
        ...image,
        LED_BOARD_MODEL_FILE: modelFile('pi4-image', 'Raspberry Pi 4 Model B Rev 1.4'),
      });
      assert.equal(code, 2, lines.join('\n'));
      assert.equal(lines.length, 1, lines.join('\n'));
      assert.match(lines[0] ?? '', /the pigpio package is not in this image: it was built with WITH_PIGPIO=false/);
      assert.match(lines[0] ?? '', REBUILD);
      assert.doesNotMatch(lines[0] ?? '', /npm install/, 'no npm advice inside an image');
    });
  }

  it('outside the image (npm start on the Pi) the same missing package gets the npm advice, not the rebuild', async () => {
    const { code, lines } = await refusal({
      LED_BACKEND: 'pigpio',
      ...pigpioAbsentEnv(),
      LED_BOARD_MODEL_FILE: modelFile('pi4-host', 'Raspberry Pi 4 Model B Rev 1.4'),
    });
    assert.equal(code, 2, lines.join('\n'));
    assert.match(
      lines[0] ?? '',
      /the pigpio package is not installed \(an optional dependency: on the Pi, install the pigpio C library, then npm install pigpio\)/,
    );
    assert.doesNotMatch(lines[0] ?? '', /WITH_PIGPIO/);
  });
});

describe("led-driver on a simulated Raspberry Pi 5 with the seed's wiring (GPIO 18 and 5, two pwm-pio overlays)", () => {
  let sysfs: FakeSysfs;
  let system: TestSystem;
  let mqtt: MqttClient;
  let leds: StateWatcher;

  before(async () => {
    // Numbers as the kernel hands them out: the fan's PWM1 first, then one chip per pwm-pio line.
    sysfs = new FakeSysfs({
      chips: [
        { chip: 0, overlay: 'fan' },
        { chip: 2, overlay: 'pwm-pio', gpio: 18 },
        { chip: 3, overlay: 'pwm-pio', gpio: 5 },
      ],
    });
    system = await TestSystem.start({
      services: ['broker', 'led-driver'],
      env: {
        LED_BACKEND: 'auto',
        LED_BOARD_MODEL_FILE: sysfs.modelFile,
        LED_SYSFS_ROOT: sysfs.root,
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

  it('auto picks sysfs, and each LED gets its pwm-pio chip', async () => {
    const ready = await system.service('led-driver').waitForLog('led-driver ready');
    assert.equal(ready.backend, 'sysfs');
    assert.equal(ready.detail, 'right: pwmchip2 (pwm-pio on GPIO 18) channel 0, left: pwmchip3 (pwm-pio on GPIO 5) channel 0');
    for (const chip of [2, 3]) {
      assert.equal(sysfs.read(chip, 0, 'period'), '1000000');
      assert.equal(sysfs.read(chip, 0, 'enable'), '1');
    }
  });

  it('a gravity value lights GPIO 18, then GPIO 5, with the gamma-shaped duty; the state keeps the seed duty', async () => {
    assert.equal((await mosquittoPub(system, 'gravity-led/gravity', '0 40 91.6')).code, 0);
    await leds.until('right = 40', (s) => s.right === 40 && s.left === 0);
    // 40 % with gamma 2 is 16 % of the 1 ms period.
    await waitFor('duty of GPIO 18', () => sysfs.read(2, 0, 'duty_cycle') === '160000');
    assert.equal(sysfs.read(3, 0, 'duty_cycle'), '0');
    assert.equal((await mosquittoPub(system, 'gravity-led/gravity', '0 -100 0')).code, 0);
    await leds.until('left = 100', (s) => s.left === 100);
    await waitFor('duty of GPIO 5', () => sysfs.read(3, 0, 'duty_cycle') === '1000000');
    assert.equal(sysfs.read(2, 0, 'duty_cycle'), '0');
  });

  it('SIGTERM turns both off, disables and unexports them, then exits 0', async () => {
    const driver = system.service('led-driver');
    driver.kill('SIGTERM');
    assert.equal((await driver.exited()).code, 0);
    assert.deepEqual(sysfs.events, ['export 2/0', 'export 3/0', 'unexport 2/0', 'unexport 3/0']);
    assert.equal(sysfs.exported(2, 0), false);
    assert.equal(sysfs.exported(3, 0), false);
    assert.deepEqual(
      sysfs.events.filter((e) => e.includes(' 0/')),
      [],
      'the fan chip untouched',
    );
  });
});
