/**
 * `selftest` (`node dist/main.js selftest`, what `npm run selftest -w led-driver` and the container run): on the fakes
 * of a Pi 4 (pigpio, whose every PWM write it records) and a Pi 5 (a /sys laid out as the kernel lays out pwm-pio), it
 * names the board, backend and pins, fades each LED up and down once, turns both off and exits 0; or it says exactly
 * what is missing and exits 2.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { lit, pigpioEnv, readPigpioState } from '../helpers/fake-pigpio.js';
import { FakeSysfs } from '../helpers/fake-sysfs.js';
import { ROOT } from '../helpers/system.js';

const scratch = mkdtempSync(join(tmpdir(), 'gravity-led-selftest-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** Runs the command as a person would, in led-driver/; resolves with its exit code and output lines. */
function runSelftest(env: Record<string, string>): Promise<{ code: number | null; lines: string[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'led-driver/dist/main.js'), 'selftest'], {
      cwd: join(ROOT, 'led-driver'),
      env: { PATH: process.env.PATH, HOME: process.env.HOME, DATA_DIR: scratch, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, lines: output.split('\n').filter((l) => l.trim() !== '') });
    });
  });
}

/**
 * The one stretch of `values` above 0: it must rise to `top` and fall back, never turning back on the way.
 * Returns where it starts and ends, or undefined when it does not look like that.
 */
function fade(values: readonly number[], top: number): { from: number; to: number } | undefined {
  const from = values.findIndex((v) => v > 0);
  const to = values.findLastIndex((v) => v > 0);
  if (from < 0) return undefined;
  const stretch = values.slice(from, to + 1);
  const peak = stretch.indexOf(top);
  if (peak < 0) return undefined;
  const unimodal = stretch.every((v, i) => i === 0 || (i <= peak ? v >= (stretch[i - 1] ?? 0) : v <= (stretch[i - 1] ?? 0)));
  return unimodal && stretch.every((v) => v > 0) ? { from, to } : undefined;
}

describe('led-driver selftest', () => {
  it('on a Pi 4 (fake pigpio): names board, backend, pins; fades green, then red, up and down once; both off; exit 0', async () => {
    const state = join(scratch, 'pigpio.json');
    const model = join(scratch, 'pi4-model');
    writeFileSync(model, 'Raspberry Pi 4 Model B Rev 1.4\0');
    const { code, lines } = await runSelftest({ LED_BOARD_MODEL_FILE: model, ...pigpioEnv(state) });
    assert.equal(code, 0, lines.join('\n'));
    assert.deepEqual(lines.slice(0, 3), [
      'board:   Raspberry Pi 4 Model B Rev 1.4',
      'backend: pigpio (LED_BACKEND=auto)',
      'pins:    green LED_RIGHT_PIN=18 (GPIO 18), red LED_LEFT_PIN=5 (GPIO 5)',
    ]);
    assert.deepEqual(lines.slice(-3), [
      'green (GPIO 18): faded up and down',
      'red (GPIO 5): faded up and down',
      'both LEDs off, GPIO released: selftest passed',
    ]);
    const pins = readPigpioState(state)?.pins ?? {};
    // Both pins are written at every step, so the two lists line up. PWM_RANGE 1000: fully on is 1000 steps.
    const green = fade(pins[18]?.writes ?? [], 1000);
    const red = fade(pins[5]?.writes ?? [], 1000);
    assert.ok(green, `green faded up and down once: ${pins[18]?.writes.join(' ')}`);
    assert.ok(red, `red faded up and down once: ${pins[5]?.writes.join(' ')}`);
    assert.ok(green.to < red.from, 'one LED after the other, the other dark meanwhile');
    assert.ok(!lit(pins[18]) && !lit(pins[5]), 'both off at the end');
    assert.equal(readPigpioState(state)?.initialized, false, 'pigpio terminated');
  });

  it("on a Pi 5 with the seed's pins on two pwm-pio chips: fades each through its chip, unexports both, exit 0", async () => {
    const sysfs = new FakeSysfs({
      chips: [
        { chip: 0, overlay: 'fan' },
        { chip: 2, overlay: 'pwm-pio', gpio: 18 },
        { chip: 3, overlay: 'pwm-pio', gpio: 5 },
      ],
    });
    try {
      const { code, lines } = await runSelftest({ LED_BOARD_MODEL_FILE: sysfs.modelFile, LED_SYSFS_ROOT: sysfs.root });
      assert.equal(code, 0, lines.join('\n'));
      assert.deepEqual(lines, [
        'board:   Raspberry Pi 5 Model B Rev 1.0',
        'backend: sysfs (LED_BACKEND=auto)',
        'pins:    green LED_RIGHT_PIN=18 (GPIO 18), red LED_LEFT_PIN=5 (GPIO 5)',
        'using:   right: pwmchip2 (pwm-pio on GPIO 18) channel 0, left: pwmchip3 (pwm-pio on GPIO 5) channel 0',
        'green (GPIO 18): faded up and down',
        'red (GPIO 5): faded up and down',
        'both LEDs off, GPIO released: selftest passed',
      ]);
      assert.deepEqual(sysfs.events, ['export 2/0', 'export 3/0', 'unexport 2/0', 'unexport 3/0']);
    } finally {
      sysfs.dispose();
    }
  });

  it('on a Pi 5 without the overlays: says exactly which config.txt lines are missing, exit 2', async () => {
    const sysfs = new FakeSysfs({ chips: [{ chip: 2, overlay: 'pwm-pio', gpio: 18 }] });
    try {
      const { code, lines } = await runSelftest({ LED_BOARD_MODEL_FILE: sysfs.modelFile, LED_SYSFS_ROOT: sysfs.root });
      assert.equal(code, 2, lines.join('\n'));
      assert.match(
        lines.at(-1) ?? '',
        /^missing: LED_BACKEND=auto on a Raspberry Pi 5 Model B Rev 1\.0: tried sysfs, .*no PWM chip drives GPIO 5 \(LED_LEFT_PIN=5\).*add "dtoverlay=pwm-pio,gpio=5" to \/boot\/firmware\/config.txt and reboot/,
      );
      assert.deepEqual(sysfs.events, [], 'nothing exported');
    } finally {
      sysfs.dispose();
    }
  });

  it('a bad variable: the same line the service would give, exit 2', async () => {
    const { code, lines } = await runSelftest({ LED_LEFT_PIN: '18' });
    assert.equal(code, 2);
    assert.deepEqual(lines, ['missing: LED_RIGHT_PIN and LED_LEFT_PIN are both 18: the two LEDs need two different pins']);
  });
});
