/** The simulated LEDs: for machines without GPIO. Remembers what it was told, so tests and logs can see it. */
import { type Duty, OFF } from '@gravity-led/shared';
import type { LedBackend } from './backend.js';

export class SimBackend implements LedBackend {
  readonly name = 'sim';
  duty: Duty = OFF;
  writes = 0;
  closed = false;

  write(duty: Duty): void {
    if (this.closed) throw new Error('sim backend is closed');
    this.duty = duty;
    this.writes++;
  }

  async close(): Promise<void> {
    this.duty = OFF;
    this.closed = true;
  }
}
