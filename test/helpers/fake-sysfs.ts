/**
 * A fake /sys of a Raspberry Pi 5 in a temporary folder, laid out as the kernel lays it out for each PWM overlay, with a
 * tiny "kernel" that does what the real one does on export and unexport: creates or removes pwmN/ with period,
 * duty_cycle and enable. Records each export and unexport.
 *
 * The layout (what the led-driver reads to tell the chips apart, whatever their numbers):
 * - /sys/class/pwm/pwmchipN is a link to the chip in /sys/devices, under the device that registered it; pwmchipN/device
 *   links to that device, whose `of_node` links to its device-tree node in /sys/firmware/devicetree/base, the node's
 *   properties as files (drivers/base/core.c makes `of_node`; drivers/of/kobj.c the property files).
 * - `dtoverlay=pwm-2chan` enables the RP1's PWM0: node /axi/pcie@120000/rp1/pwm@98000 (arm64 rp1.dtsi
 *   `rp1_pwm0: pwm@98000`, compatible "raspberrypi,rp1-pwm"), platform device 1f00098000.pwm, npwm 4 (pwm-rp1.c).
 * - The fan's PWM1 is the same driver at pwm@9c000 (bcm2712-rpi-5-b.dts: the fan's `pwms = <&rp1_pwm1 3 ...>`).
 * - Each `dtoverlay=pwm-pio,gpio=N` adds node /pwm_pio@N (pwm-pio-overlay.dts: compatible "raspberrypi,pwm-pio-rp1",
 *   `gpios = <&gpio N 0>`, the `reg` override giving each instance its own unit address), a platform device of that
 *   name, npwm 1 (pwm-pio-rp1.c: `chip->npwm = 1`, the GPIO read back from `gpios`).
 * - /sys/firmware/devicetree/base/model holds the board's model string, NUL-terminated (= /proc/device-tree/model).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';

export type FakeChip =
  /** The RP1's PWM0, from `dtoverlay=pwm-2chan` (or `pwm`). */
  | { readonly chip: number; readonly overlay: 'pwm-2chan' }
  /** One `dtoverlay=pwm-pio,gpio=N` instance. */
  | { readonly chip: number; readonly overlay: 'pwm-pio'; readonly gpio: number }
  /** The RP1's PWM1, which the firmware enables for the fan. */
  | { readonly chip: number; readonly overlay: 'fan' }
  /** A chip with no device-tree node, as on a kernel without one. */
  | { readonly chip: number; readonly overlay: 'none'; readonly npwm: number };

export interface FakeSysfsLayout {
  readonly chips: readonly FakeChip[];
  /** The device tree's model; default a Pi 5. */
  readonly model?: string;
}

const PI5 = 'Raspberry Pi 5 Model B Rev 1.0';
/** Phandle of the RP1's GPIO controller in `gpios`: any value, the driver only checks what it points to. */
const RP1_GPIO_PHANDLE = 0x3a;

export class FakeSysfs {
  /** The fake /sys. */
  readonly sys = mkdtempSync(join(tmpdir(), 'gravity-led-sys-'));
  /** /sys/class/pwm: LED_SYSFS_ROOT. */
  readonly root = join(this.sys, 'class/pwm');
  /** /sys/firmware/devicetree/base/model: LED_BOARD_MODEL_FILE. */
  readonly modelFile = join(this.sys, 'firmware/devicetree/base/model');
  readonly events: string[] = [];
  private readonly chipDirs = new Map<number, string>();
  private readonly timer: NodeJS.Timeout;

  constructor(layout: FakeSysfsLayout) {
    const base = join(this.sys, 'firmware/devicetree/base');
    mkdirSync(this.root, { recursive: true });
    mkdirSync(base, { recursive: true });
    writeFileSync(this.modelFile, `${layout.model ?? PI5}\0`);
    for (const chip of layout.chips) {
      const { device, node, npwm } = this.describe(chip);
      const deviceDir = join(this.sys, 'devices', device);
      const chipDir = join(deviceDir, 'pwm', `pwmchip${chip.chip}`);
      mkdirSync(chipDir, { recursive: true });
      writeFileSync(join(chipDir, 'npwm'), `${npwm}\n`);
      writeFileSync(join(chipDir, 'export'), '');
      writeFileSync(join(chipDir, 'unexport'), '');
      link(deviceDir, join(chipDir, 'device'));
      link(chipDir, join(this.root, `pwmchip${chip.chip}`));
      if (node) {
        const nodeDir = join(base, node.path);
        mkdirSync(nodeDir, { recursive: true });
        for (const [name, value] of Object.entries(node.properties)) writeFileSync(join(nodeDir, name), value);
        link(nodeDir, join(deviceDir, 'of_node'));
      }
      this.chipDirs.set(chip.chip, chipDir);
    }
    this.timer = setInterval(() => this.tick(), 2);
  }

  private describe(chip: FakeChip): { device: string; npwm: number; node?: { path: string; properties: Record<string, Buffer> } } {
    const text = (s: string) => Buffer.from(`${s}\0`, 'latin1');
    const cells = (...values: number[]) => {
      const buffer = Buffer.alloc(values.length * 4);
      for (const [i, v] of values.entries()) buffer.writeUInt32BE(v, i * 4);
      return buffer;
    };
    const rp1 = (unit: string) => ({
      path: `axi/pcie@120000/rp1/pwm@${unit}`,
      properties: { name: text('pwm'), compatible: text('raspberrypi,rp1-pwm'), status: text('okay'), '#pwm-cells': cells(3) },
    });
    switch (chip.overlay) {
      case 'pwm-2chan':
        return { device: 'platform/axi/1000120000.pcie/1f00098000.pwm', npwm: 4, node: rp1('98000') };
      case 'fan':
        return { device: 'platform/axi/1000120000.pcie/1f0009c000.pwm', npwm: 4, node: rp1('9c000') };
      case 'pwm-pio':
        return {
          device: `platform/pwm_pio@${chip.gpio}`,
          npwm: 1,
          node: {
            path: `pwm_pio@${chip.gpio}`,
            properties: {
              name: text('pwm_pio'),
              compatible: text('raspberrypi,pwm-pio-rp1'),
              gpios: cells(RP1_GPIO_PHANDLE, chip.gpio, 0),
              reg: cells(chip.gpio),
            },
          },
        };
      case 'none':
        return { device: `platform/pwm-${chip.chip}`, npwm: chip.npwm };
    }
  }

  chipDir(chip: number): string {
    const dir = this.chipDirs.get(chip);
    if (!dir) throw new Error(`no fake pwmchip${chip}`);
    return dir;
  }

  /** The current value of a channel's file, or undefined when the channel is not exported. */
  read(chip: number, channel: number, file: 'period' | 'duty_cycle' | 'enable'): string | undefined {
    const path = join(this.chipDir(chip), `pwm${channel}`, file);
    return existsSync(path) ? readFileSync(path, 'utf8').trim() : undefined;
  }

  exported(chip: number, channel: number): boolean {
    return existsSync(join(this.chipDir(chip), `pwm${channel}`));
  }

  /** Creates a channel as if an earlier run had exported it and left it on. */
  leftOver(chip: number, channel: number, values: { period: number; duty_cycle: number; enable: number }): void {
    const dir = join(this.chipDir(chip), `pwm${channel}`);
    mkdirSync(dir);
    for (const [file, value] of Object.entries(values)) writeFileSync(join(dir, file), String(value));
  }

  private tick(): void {
    for (const [number, dir] of this.chipDirs) {
      const exported = readFileSync(join(dir, 'export'), 'utf8').trim();
      if (exported) {
        writeFileSync(join(dir, 'export'), '');
        this.events.push(`export ${number}/${exported}`);
        const channel = join(dir, `pwm${exported}`);
        mkdirSync(channel);
        for (const file of ['period', 'duty_cycle', 'enable']) writeFileSync(join(channel, file), '0');
      }
      const unexported = readFileSync(join(dir, 'unexport'), 'utf8').trim();
      if (unexported) {
        writeFileSync(join(dir, 'unexport'), '');
        this.events.push(`unexport ${number}/${unexported}`);
        rmSync(join(dir, `pwm${unexported}`), { recursive: true, force: true });
      }
    }
  }

  dispose(): void {
    clearInterval(this.timer);
    rmSync(this.sys, { recursive: true, force: true });
  }
}

/** A relative symlink, as sysfs makes them. */
function link(target: string, path: string): void {
  symlinkSync(relative(dirname(path), target), path);
}
