/** Which board we run on, as the kernel tells it: decides whether pigpio can work at all. */
import { readFileSync } from 'node:fs';

/** The model string (`Raspberry Pi 4 Model B Rev 1.4`), or undefined off a Pi or where /proc is hidden. */
export function readBoardModel(): string | undefined {
  try {
    // The device tree's string ends in a NUL byte.
    const model = readFileSync('/proc/device-tree/model', 'utf8').replace(/\0/g, '').trim();
    if (model) return model;
  } catch {
    // Not exposed (not a device-tree board, or masked in a container): try /proc/cpuinfo.
  }
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => /^Model\s*:/.test(l));
    return line?.replace(/^Model\s*:\s*/, '').trim() || undefined;
  } catch {
    return undefined;
  }
}
