/**
 * A small seeded PRNG (mulberry32) so that fuzz runs can be replayed: every fuzz test prints its seed, and
 * FUZZ_SEED=<seed> makes the next run throw exactly the same inputs.
 */
import { randomInt } from 'node:crypto';

export class Prng {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** The seed from FUZZ_SEED, or a fresh one; printed so that a failing run can be repeated. */
  static fromEnv(label: string): Prng {
    const fromEnv = process.env.FUZZ_SEED;
    const seed = fromEnv !== undefined && /^\d+$/.test(fromEnv) ? Number(fromEnv) >>> 0 : randomInt(0, 2 ** 32 - 1);
    process.stdout.write(`# ${label}: fuzz seed ${seed} (repeat with FUZZ_SEED=${seed})\n`);
    return new Prng(seed);
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** A whole number in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)] as T;
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  bytes(length: number): Buffer {
    const out = Buffer.alloc(length);
    for (let i = 0; i < length; i++) out[i] = this.int(0, 255);
    return out;
  }
}
