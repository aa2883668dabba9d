/**
 * A fake /sys/class/pwm in a temporary folder with a tiny "kernel" that does what the real one does on export and
 * unexport: creates or removes pwmN/ with period, duty_cycle and enable. Records each export and unexport.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export class FakeSysfs {
  readonly root = mkdtempSync(join(tmpdir(), 'gravity-led-pwm-'));
  readonly events: string[] = [];
  private readonly chips: number[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(chips: Record<number, number>) {
    for (const [chip, npwm] of Object.entries(chips)) {
      const dir = join(this.root, `pwmchip${chip}`);
      mkdirSync(dir);
      writeFileSync(join(dir, 'npwm'), `${npwm}\n`);
      writeFileSync(join(dir, 'export'), '');
      writeFileSync(join(dir, 'unexport'), '');
      this.chips.push(Number(chip));
    }
    this.timer = setInterval(() => this.tick(), 2);
  }

  chipDir(chip: number): string {
    return join(this.root, `pwmchip${chip}`);
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
    for (const chip of this.chips) {
      const dir = this.chipDir(chip);
      const exported = readFileSync(join(dir, 'export'), 'utf8').trim();
      if (exported) {
        writeFileSync(join(dir, 'export'), '');
        this.events.push(`export ${exported}`);
        const channel = join(dir, `pwm${exported}`);
        mkdirSync(channel);
        for (const file of ['period', 'duty_cycle', 'enable']) writeFileSync(join(channel, file), '0');
      }
      const unexported = readFileSync(join(dir, 'unexport'), 'utf8').trim();
      if (unexported) {
        writeFileSync(join(dir, 'unexport'), '');
        this.events.push(`unexport ${unexported}`);
        rmSync(join(dir, `pwm${unexported}`), { recursive: true, force: true });
      }
    }
  }

  dispose(): void {
    clearInterval(this.timer);
    rmSync(this.root, { recursive: true, force: true });
  }
}
