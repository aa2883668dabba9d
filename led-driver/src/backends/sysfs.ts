/**
 * Real GPIO on the Raspberry Pi 5, where pigpio cannot reach the pins (they sit on the RP1 chip): the kernel's PWM
 * through sysfs. Two device-tree overlays (config.txt lines) give the header PWM, and the backend uses both:
 *
 * - `pwm-pio`: PWM on any GPIO through the RP1's PIO, one instance per line (`dtoverlay=pwm-pio,gpio=5`), each a chip
 *   of its own with one channel (drivers/pwm/pwm-pio-rp1.c: `chip->npwm = 1`, the GPIO taken from the node's `gpios`
 *   property; arch/arm/boot/dts/overlays/pwm-pio-overlay.dts: node `pwm_pio@<gpio>`, compatible
 *   "raspberrypi,pwm-pio-rp1", `gpios = <&gpio N 0>`). The seed's wiring (GPIO 18 and 5) needs it for GPIO 5.
 * - `pwm-2chan` (or `pwm`): the RP1's PWM0, one chip with 4 channels (drivers/pwm/pwm-rp1.c: `npwm = 4`,
 *   compatible "raspberrypi,rp1-pwm"; arm64 rp1.dtsi: `rp1_pwm0: pwm@98000`) on GPIO 12, 13, 18 and 19 only. Its
 *   sibling PWM1 (`pwm@9c000`) drives the fan (bcm2712-rpi-5-b.dts: `pwms = <&rp1_pwm1 3 ...>`): never ours.
 *
 * Which chip is which, whatever numbers the kernel handed out: /sys/class/pwm/pwmchipN/device is the chip's device,
 * and its `of_node` the device-tree node it was made from (/sys/firmware/devicetree/base/...), with the node's
 * properties as files. That is how the driver itself finds the GPIO of a pwm-pio instance.
 */
import { existsSync, readdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Duty } from '@gravity-led/shared';
import { dutySteps, type LedBackend, type LedPins } from './backend.js';

/** RP1 PWM0 channel of each GPIO that has one (GPIO 12, 13 with ALT0; 18, 19 with ALT3). */
export const RP1_PWM_CHANNELS: Readonly<Record<number, number>> = { 12: 0, 13: 1, 18: 2, 19: 3 };

/** The config.txt line that gives `gpio` its PWM: a pwm-pio instance, which works on any GPIO. */
export function pwmPioOverlay(gpio: number): string {
  return `dtoverlay=pwm-pio,gpio=${gpio}`;
}

/** The config.txt line for the RP1's own PWM on GPIO 18 and 19. */
export const PI5_OVERLAY = 'dtoverlay=pwm-2chan,pin=18,func=2,pin2=19,func2=2';

/** Device-tree unit address of the RP1's PWM0, the one on the header (rp1.dtsi). */
const RP1_PWM0_NODE = 'pwm@98000';

export interface SysfsOptions {
  /** `/sys/class/pwm` on a real system; a fake tree in tests. */
  readonly root: string;
  /** pwmchipN of the RP1's PWM0 (pwm-2chan), or `auto` to find it by its device-tree node. */
  readonly chip: 'auto' | number;
  /** Hz, the same for both LEDs. */
  readonly frequency: number;
  /** How long to wait for the kernel to create or remove a channel's folder. */
  readonly settleMs?: number;
}

/** A PWM chip as the kernel describes it. */
export interface PwmChip {
  readonly number: number;
  readonly dir: string;
  readonly npwm: number;
  /** What its device-tree node says it is. */
  readonly kind: 'pwm-pio' | 'rp1-pwm0' | 'rp1-pwm1' | 'unknown';
  /** pwm-pio: the GPIO it drives. */
  readonly gpio?: number;
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

/** A chip's identity from its device's device-tree node; `unknown` where there is none (not a device-tree kernel). */
function identify(dir: string): Pick<PwmChip, 'kind' | 'gpio'> {
  const node = join(dir, 'device', 'of_node');
  try {
    // A string-list property: NUL-separated, NUL-terminated.
    const compatible = readFileSync(join(node, 'compatible'), 'latin1').split('\0');
    if (compatible.includes('raspberrypi,pwm-pio-rp1')) {
      // `gpios = <&gpio N flags>`: three big-endian 32-bit cells, the phandle of the GPIO controller first.
      const cells = readFileSync(join(node, 'gpios'));
      return { kind: 'pwm-pio', gpio: cells.readUInt32BE(4) };
    }
    if (compatible.includes('raspberrypi,rp1-pwm')) {
      return { kind: basename(realpathSync(node)) === RP1_PWM0_NODE ? 'rp1-pwm0' : 'rp1-pwm1' };
    }
  } catch {
    // No node, or not one of ours.
  }
  return { kind: 'unknown' };
}

/** Every PWM chip under `root`, in number order, with what it is. */
export function listPwmChips(root: string): PwmChip[] {
  if (!existsSync(root)) throw new Error(`${root} does not exist: this kernel has no PWM support`);
  return readdirSync(root)
    .filter((name) => /^pwmchip\d+$/.test(name))
    .map((name) => ({ number: Number(name.slice(7)), dir: join(root, name) }))
    .sort((a, b) => a.number - b.number)
    .map((c) => ({ ...c, npwm: Number(readFileSync(join(c.dir, 'npwm'), 'utf8').trim()), ...identify(c.dir) }));
}

function describeChip(chip: PwmChip): string {
  const what = {
    'pwm-pio': `pwm-pio on GPIO ${chip.gpio}`,
    'rp1-pwm0': 'RP1 PWM0',
    'rp1-pwm1': 'RP1 PWM1, the fan',
    unknown: `${chip.npwm} channels`,
  };
  return `pwmchip${chip.number} (${what[chip.kind]})`;
}

/** Where one LED's PWM comes from. */
export interface PwmOutput {
  readonly chip: PwmChip;
  readonly channel: number;
}

/**
 * The chip and channel of each pin: a pwm-pio instance on that GPIO first, else the RP1's PWM0 (LED_PWM_CHIP, or
 * found by its node). A pin without either fails with one line naming every missing config.txt line at once.
 */
export function findOutputs(pins: LedPins, root: string, wanted: 'auto' | number): { right: PwmOutput; left: PwmOutput } {
  const chips = listPwmChips(root);
  let pwm0: PwmChip | undefined;
  if (wanted === 'auto') {
    pwm0 = chips.find((c) => c.kind === 'rp1-pwm0');
  } else {
    pwm0 = chips.find((c) => c.number === wanted);
    if (!pwm0) throw new Error(`LED_PWM_CHIP=${wanted}: there is no ${join(root, `pwmchip${wanted}`)}`);
  }
  const find = (gpio: number): PwmOutput | undefined => {
    const pio = chips.find((c) => c.kind === 'pwm-pio' && c.gpio === gpio);
    if (pio) return { chip: pio, channel: 0 };
    const channel = RP1_PWM_CHANNELS[gpio];
    if (pwm0 && channel !== undefined && channel < pwm0.npwm) return { chip: pwm0, channel };
    return undefined;
  };
  const right = find(pins.right);
  const left = find(pins.left);
  if (right && left) return { right, left };
  const missing = [
    ...(right ? [] : [{ gpio: pins.right, variable: 'LED_RIGHT_PIN' }]),
    ...(left ? [] : [{ gpio: pins.left, variable: 'LED_LEFT_PIN' }]),
  ];
  const found = chips.map(describeChip).join(', ') || 'none';
  throw new Error(
    `no PWM chip drives ${missing.map((m) => `GPIO ${m.gpio} (${m.variable}=${m.gpio})`).join(' or ')} in ${root} (found: ${found}); ` +
      `add ${missing.map((m) => `"${pwmPioOverlay(m.gpio)}"`).join(' and ')} to /boot/firmware/config.txt and reboot`,
  );
}

/** One exported PWM channel: duty in nanoseconds of a fixed period. */
class Channel {
  readonly dir: string;

  constructor(
    readonly output: PwmOutput,
    readonly period: number,
  ) {
    this.dir = join(output.chip.dir, `pwm${output.channel}`);
  }

  set(file: 'duty_cycle' | 'period' | 'enable', value: number): void {
    writeFileSync(join(this.dir, file), String(value));
  }

  duty(percent: number): void {
    this.set('duty_cycle', dutySteps(percent, this.period));
  }

  unexport(): void {
    writeFileSync(join(this.output.chip.dir, 'unexport'), String(this.output.channel));
  }

  toString(): string {
    return `${describeChip(this.output.chip)} channel ${this.output.channel}`;
  }
}

function attempt(errors: unknown[], step: () => void): void {
  try {
    step();
  } catch (error) {
    errors.push(error);
  }
}

export class SysfsBackend implements LedBackend {
  readonly name = 'sysfs';
  private closed = false;

  constructor(
    private readonly right: Channel,
    private readonly left: Channel,
    private readonly settleMs: number,
  ) {}

  /** Which chip and channel drive which LED, for the start-up line and `selftest`. */
  get detail(): string {
    return `right: ${this.right}, left: ${this.left}`;
  }

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
    for (const c of [this.right, this.left]) {
      attempt(errors, () => c.unexport());
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
    for (const c of [this.right, this.left]) attempt(errors, () => c.unexport());
    if (errors.length > 0) throw errors[0];
  }

  private off(): unknown[] {
    const errors: unknown[] = [];
    for (const c of [this.right, this.left]) attempt(errors, () => c.set('duty_cycle', 0));
    for (const c of [this.right, this.left]) attempt(errors, () => c.set('enable', 0));
    return errors;
  }
}

async function exportChannel(output: PwmOutput, period: number, settleMs: number): Promise<Channel> {
  const channel = new Channel(output, period);
  if (!existsSync(channel.dir)) {
    writeFileSync(join(output.chip.dir, 'export'), String(output.channel));
    if (!(await until(() => existsSync(join(channel.dir, 'enable')), settleMs))) {
      throw new Error(`exporting channel ${output.channel} of ${output.chip.dir} did not create ${channel.dir}`);
    }
  }
  // Duty first: the kernel refuses a period shorter than the duty left over from an earlier run.
  channel.set('duty_cycle', 0);
  channel.set('period', period);
  channel.set('enable', 1);
  return channel;
}

export async function openSysfs(pins: LedPins, options: SysfsOptions): Promise<SysfsBackend> {
  const outputs = findOutputs(pins, options.root, options.chip);
  const period = Math.round(1e9 / options.frequency);
  const settleMs = options.settleMs ?? 2000;
  const right = await exportChannel(outputs.right, period, settleMs);
  let left: Channel;
  try {
    left = await exportChannel(outputs.left, period, settleMs);
  } catch (error) {
    right.set('enable', 0);
    right.unexport();
    throw error;
  }
  return new SysfsBackend(right, left, settleMs);
}
