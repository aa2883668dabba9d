/**
 * The simulated LEDs: for machines without GPIO. Remembers what it was told, so tests and logs can see it, and,
 * when given a file (LED_SIM_FILE), keeps the current duty there: the "physical" truth that other processes can
 * read even while MQTT is down, as one would look at the real LEDs.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { type Duty, OFF } from '@gravity-led/shared';
import type { LedBackend } from './backend.js';

export class SimBackend implements LedBackend {
  readonly name = 'sim';
  duty: Duty = OFF;
  writes = 0;
  closed = false;

  constructor(private readonly file?: string) {
    this.show();
  }

  write(duty: Duty): void {
    if (this.closed) throw new Error('sim backend is closed');
    this.duty = duty;
    this.writes++;
    this.show();
  }

  async close(): Promise<void> {
    this.closeSync();
  }

  closeSync(): void {
    if (this.closed) return;
    this.duty = OFF;
    this.closed = true;
    this.show();
  }

  /** Replaces the file in one step (write aside, then rename), so a reader never sees half a line. */
  private show(): void {
    if (!this.file) return;
    const aside = `${this.file}.${process.pid}.tmp`;
    writeFileSync(aside, `${JSON.stringify({ left: this.duty.left, right: this.duty.right, closed: this.closed, pid: process.pid })}\n`);
    renameSync(aside, this.file);
  }
}
