/**
 * Which board we run on, as the kernel tells it: whether real GPIO is to be expected at all (`auto` never simulates on
 * a Raspberry Pi), and which backend can drive it (pigpio on a Pi 1-4, the kernel's PWM on the RP1 of a Pi 5).
 */
import { readFileSync } from 'node:fs';

/**
 * The model string (`Raspberry Pi 4 Model B Rev 1.4`) from `file` (LED_BOARD_MODEL_FILE: /proc/device-tree/model,
 * the same as /sys/firmware/devicetree/base/model), else from /proc/cpuinfo's `Model` line (Raspberry Pi kernels
 * write one; a container that masks /sys/firmware, as Docker does unless privileged, still shows /proc/cpuinfo), or
 * undefined off a device-tree board.
 */
export function readBoardModel(file: string): string | undefined {
  try {
    // The device tree's string ends in a NUL byte.
    const model = readFileSync(file, 'utf8').replace(/\0/g, '').trim();
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

/** Every Raspberry Pi's model string starts so: `Raspberry Pi 5 Model B`, `Raspberry Pi Zero 2 W`, `Raspberry Pi Compute Module 4`. */
export function isRaspberryPi(model: string | undefined): model is string {
  return model !== undefined && /^Raspberry Pi\b/.test(model);
}

/** The boards whose header GPIO sit on the RP1 chip (Pi 5, Pi 500, Compute Module 5): no pigpio, kernel PWM instead. */
export function hasRp1(model: string | undefined): boolean {
  return model !== undefined && /Raspberry Pi (5|500)\b|Compute Module 5/.test(model);
}
