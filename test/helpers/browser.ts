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

/** Starts (or retargets) the page's fake sensor; `null` stops it, as a sensor that went quiet. */
export async function setMotion(page: Page, motion: Motion | null): Promise<void> {
  await page.evaluate((m) => {
    const w = window as unknown as { fakeSensor?: { timer: number; motion: Motion } };
    if (m === null) {
      if (w.fakeSensor) clearInterval(w.fakeSensor.timer);
      w.fakeSensor = undefined;
      return;
    }
    if (w.fakeSensor) {
      w.fakeSensor.motion = m;
      return;
    }
    const sensor = { timer: 0, motion: m };
    sensor.timer = window.setInterval(() => {
      window.dispatchEvent(new DeviceMotionEvent('devicemotion', { accelerationIncludingGravity: sensor.motion, interval: 16 }));
    }, 16);
    w.fakeSensor = sensor;
  }, motion);
}
