/**
 * Real headless Chromium (Debian's `chromium`) through playwright-core, and a fake motion sensor inside a page that
 * fires `devicemotion` events at 60 Hz as a phone's sensor would, so the page's own listener does the rest.
 */
import { type Browser, chromium, type Page } from 'playwright-core';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: [...CHROMIUM_ARGS, ...extraArgs] });
}

/** A phone's accelerationIncludingGravity in m/s² (device frame, +g on the axis pointing up, as on Android). */
export interface Motion {
  x: number;
  y: number;
  z: number;
}

/**
 * Starts (or retargets) the page's fake sensor; `null` stops it, as a sensor that went quiet. With `wobble`, the
 * reading moves as a hand holding the phone does: turned about the screen's normal (portrait, right edge down for
 * positive degrees) by `wobble.degrees`, give or take `wobble.amplitude` degrees once a second, so that the LEDs
 * change with every frame as they do with a real hand.
 */
export async function setMotion(page: Page, motion: Motion | null, wobble?: { degrees: number; amplitude: number }): Promise<void> {
  await page.evaluate(
    ([m, hand]) => {
      interface Sensor {
        timer: number;
        motion: Motion;
        hand: { degrees: number; amplitude: number } | undefined;
      }
      const w = window as unknown as { fakeSensor?: Sensor };
      if (m === null) {
        if (w.fakeSensor) clearInterval(w.fakeSensor.timer);
        w.fakeSensor = undefined;
        return;
      }
      if (w.fakeSensor) {
        w.fakeSensor.motion = m;
        w.fakeSensor.hand = hand;
        return;
      }
      const sensor: Sensor = { timer: 0, motion: m, hand };
      const start = performance.now();
      sensor.timer = window.setInterval(() => {
        let reading = sensor.motion;
        if (sensor.hand) {
          const t = (performance.now() - start) / 1000;
          const a = ((sensor.hand.degrees + sensor.hand.amplitude * Math.sin(2 * Math.PI * t)) * Math.PI) / 180;
          reading = { x: -9.80665 * Math.sin(a), y: 9.80665 * Math.cos(a), z: 0 };
        }
        window.dispatchEvent(new DeviceMotionEvent('devicemotion', { accelerationIncludingGravity: reading, interval: 16 }));
      }, 16);
      w.fakeSensor = sensor;
    },
    [motion, wobble] as const,
  );
}

/** The reading of a phone upright in portrait, turned right (right edge down) by `degrees`; negative turns left. */
export function turnedRight(degrees: number): Motion {
  const a = (degrees * Math.PI) / 180;
  return { x: -9.80665 * Math.sin(a), y: 9.80665 * Math.cos(a), z: 0 };
}
