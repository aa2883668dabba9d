/**
 * Real GPIO on the Raspberry Pi 5, where pigpio cannot reach the pins (they sit on the RP1 chip): the kernel's
 * hardware PWM through sysfs. Needs `dtoverlay=pwm-2chan,pin=18,func=2,pin2=19,func2=2` in config.txt, and so LEDs
 * on PWM-capable pins: the RP1's PWM0 drives GPIO 12, 13, 18 and 19 only.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Duty } from '@gravity-led/shared';
import { dutySteps, type LedBackend, type LedPins } from './backend.js';

/** RP1 PWM0 channel of each GPIO that has one (GPIO 12, 13 with ALT0; 18, 19 with ALT3). */
export const RP1_PWM_CHANNELS: Readonly<Record<number, number>> = { 12: 0, 13: 1, 18: 2, 19: 3 };

export const PI5_OVERLAY = 'dtoverlay=pwm-2chan,pin=18,func=2,pin2=19,func2=2';

export interface SysfsOptions {
  /** `/sys/class/pwm` on a real system; a temporary folder in tests. */
  readonly root: string;
  /** pwmchipN, or `auto` for the first chip with 4 channels (the RP1's PWM0). */
  readonly chip: 'auto' | number;
  /** Hz, the same for both LEDs. */
  readonly frequency: number;
  /** How long to wait for the kernel to create or remove a channel's folder. */
  readonly settleMs?: number;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function until(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await sleep(5);
  }
  return true;
}

function channelOf(pin: number, variable: string): number {
  const channel = RP1_PWM_CHANNELS[pin];
  if (channel === undefined) {
    throw new Error(
      `${variable}=${pin}: GPIO ${pin} has no hardware PWM on the Raspberry Pi 5; use GPIO 12, 13, 18 or 19 ` +
        '(e.g. LED_LEFT_PIN=19, with the red LED wired to GPIO 19)',
    );
  }
  return channel;
}

function findChip(root: string, wanted: 'auto' | number): { dir: string; npwm: number } {
  if (!existsSync(root)) throw new Error(`${root} does not exist: this kernel has no PWM support`);
  const chips = readdirSync(root)
    .filter((name) => /^pwmchip\d+$/.test(name))
    .map((name) => ({ number: Number(name.slice(7)), dir: join(root, name) }))
    .sort((a, b) => a.number - b.number)
    .map((c) => ({ ...c, npwm: Number(readFileSync(join(c.dir, 'npwm'), 'utf8').trim()) }));
  const hint = `add "${PI5_OVERLAY}" to /boot/firmware/config.txt and reboot`;
  if (wanted !== 'auto') {
    const chip = chips.find((c) => c.number === wanted);
    if (!chip) throw new Error(`LED_PWM_CHIP=${wanted}: there is no ${join(root, `pwmchip${wanted}`)}; ${hint}`);
    return chip;
  }
  const chip = chips.find((c) => c.npwm >= 4);
  if (!chip) {
    const found = chips.map((c) => `pwmchip${c.number} (${c.npwm} channels)`).join(', ') || 'none';
    throw new Error(`no PWM chip with 4 channels in ${root} (found: ${found}); ${hint}`);
  }
  return chip;
}

function attempt(errors: unknown[], step: () => void): void {
  try {
    step();
  } catch (error) {
    errors.push(error);
  }
}

/** One exported PWM channel: duty in nanoseconds of a fixed period. */
class Channel {
  constructor(
    readonly dir: string,
    readonly period: number,
  ) {}

  set(file: 'duty_cycle' | 'period' | 'enable', value: number): void {
    writeFileSync(join(this.dir, file), String(value));
  }

  duty(percent: number): void {
    this.set('duty_cycle', dutySteps(percent, this.period));
  }
}

export class SysfsBackend implements LedBackend {
  readonly name = 'sysfs';
  private closed = false;

  constructor(
    private readonly chipDir: string,
    private readonly right: Channel,
    private readonly left: Channel,
    private readonly numbers: readonly [number, number],
    private readonly settleMs: number,
  ) {}

  write(duty: Duty): void {
    if (this.closed) throw new Error('sysfs backend is closed');
    this.right.duty(duty.right);
    this.left.duty(duty.left);
  }

  /** Both duties 0, both disabled, both unexported: every step tried even if one fails. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const errors = this.off();
    for (const [i, c] of [this.right, this.left].entries()) {
      attempt(errors, () => writeFileSync(join(this.chipDir, 'unexport'), String(this.numbers[i])));
      // One write at a time: the kernel removes the folder before the next unexport.
      await until(() => !existsSync(c.dir), this.settleMs);
    }
    if (errors.length > 0) throw errors[0];
  }

  /** Both dark at once (duty 0, disabled), then both unexported without waiting for the kernel to tidy up. */
  closeSync(): void {
    if (this.closed) return;
    this.closed = true;
    const errors = this.off();
    for (const n of this.numbers) attempt(errors, () => writeFileSync(join(this.chipDir, 'unexport'), String(n)));
    if (errors.length > 0) throw errors[0];
  }

  private off(): unknown[] {
    const errors: unknown[] = [];
    for (const c of [this.right, this.left]) attempt(errors, () => c.set('duty_cycle', 0));
    for (const c of [this.right, this.left]) attempt(errors, () => c.set('enable', 0));
    return errors;
  }
}

async function exportChannel(chipDir: string, number: number, period: number, settleMs: number): Promise<Channel> {
  const dir = join(chipDir, `pwm${number}`);
  if (!existsSync(dir)) {
    writeFileSync(join(chipDir, 'export'), String(number));
    if (!(await until(() => existsSync(join(dir, 'enable')), settleMs))) {
      throw new Error(`exporting channel ${number} of ${chipDir} did not create ${dir}`);
    }
  }
  const channel = new Channel(dir, period);
  // Duty first: the kernel refuses a period shorter than the duty left over from an earlier run.
  channel.set('duty_cycle', 0);
  channel.set('period', period);
  channel.set('enable', 1);
  return channel;
}

export async function openSysfs(pins: LedPins, options: SysfsOptions): Promise<SysfsBackend> {
  const numbers = [channelOf(pins.right, 'LED_RIGHT_PIN'), channelOf(pins.left, 'LED_LEFT_PIN')] as const;
  const chip = findChip(options.root, options.chip);
  for (const n of numbers) {
    if (n >= chip.npwm) throw new Error(`${chip.dir} has ${chip.npwm} channels, not channel ${n}; ${PI5_OVERLAY}`);
  }
  const period = Math.round(1e9 / options.frequency);
  const settleMs = options.settleMs ?? 2000;
  const right = await exportChannel(chip.dir, numbers[0], period, settleMs);
  let left: Channel;
  try {
    left = await exportChannel(chip.dir, numbers[1], period, settleMs);
  } catch (error) {
    right.set('enable', 0);
    writeFileSync(join(chip.dir, 'unexport'), String(numbers[0]));
    throw error;
  }
  return new SysfsBackend(chip.dir, right, left, numbers, settleMs);
}
