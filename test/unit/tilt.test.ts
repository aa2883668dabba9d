/** The phone page's mapping from the browser's motion sensor to the seed's frame (gateway/public/tilt.js). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ROOT } from '../helpers/system.js';

interface Vector {
  x: number;
  y: number;
  z: number;
}
interface Tilt {
  seedGravity(a: Partial<Record<'x' | 'y' | 'z', number | null>> | null, angle?: number, negate?: boolean): Vector | null;
  sliderGravity(tilt: number): Vector;
  reportsInvertedGravity(nav: { userAgent: string; maxTouchPoints: number }): boolean;
}
const tilt: Tilt = await import(new URL('gateway/public/tilt.js', `file://${ROOT}`).href);

const G = 9.80665;
const deg = (d: number) => (d * Math.PI) / 180;

describe('tilt mapping (phone page)', () => {
  it('upright in portrait, both LEDs stay off: y = 0', () => {
    assert.deepEqual(tilt.seedGravity({ x: 0, y: G, z: 0 }), { x: 100, y: 0, z: 0 });
  });

  it('lying flat, screen up, reads 0 0 100 as the seed does', () => {
    assert.deepEqual(tilt.seedGravity({ x: 0, y: 0, z: G }), { x: 0, y: 0, z: 100 });
  });

  it('tilting right (clockwise, right edge down) gives y > 0, the green LED, with duty = sin(angle) %', () => {
    // Turned 30 degrees clockwise: the right edge dips, so up is partly along -x.
    const g = tilt.seedGravity({ x: -G * Math.sin(deg(30)), y: G * Math.cos(deg(30)), z: 0 });
    assert.deepEqual(g, { x: 86.6, y: 50, z: 0 });
  });

  it('tilting left gives y < 0, the red LED', () => {
    const g = tilt.seedGravity({ x: 3, y: 4, z: 0 });
    assert.deepEqual(g, { x: 80, y: -60, z: 0 });
  });

  it('normalises any length to 100 and keeps two decimals', () => {
    const g = tilt.seedGravity({ x: -1, y: 1, z: 1 });
    assert.deepEqual(g, { x: 57.74, y: 57.74, z: 57.74 });
  });

  it('landscape with the top to the left (screen angle 90) is the seed hold: y is the device y', () => {
    // Top of the phone to the left, tilted so the top rises: the device y reads up.
    assert.deepEqual(tilt.seedGravity({ x: 8, y: 6, z: 0 }, 90), { x: 80, y: 60, z: 0 });
    // The other landscape (top to the right): the device's top rising is the screen's right side rising, a left tilt.
    assert.deepEqual(tilt.seedGravity({ x: -8, y: 6, z: 0 }, 270), { x: 80, y: -60, z: 0 });
  });

  it('upside down in portrait (angle 180) still means right is right', () => {
    // Screen turned over: the device x points to the screen's left, so a device x reading up is a right tilt.
    assert.deepEqual(tilt.seedGravity({ x: 6, y: -8, z: 0 }, 180), { x: 80, y: 60, z: 0 });
  });

  it('negates every component for browsers with the opposite sign (iOS) or when the person swaps sides', () => {
    assert.deepEqual(tilt.seedGravity({ x: 3, y: -4, z: 0 }, 0, true), { x: 80, y: 60, z: 0 });
  });

  it('refuses readings that are no gravity vector', () => {
    assert.equal(tilt.seedGravity(null), null);
    assert.equal(tilt.seedGravity({ x: null, y: null, z: null }), null);
    assert.equal(tilt.seedGravity({ x: 0, y: 0, z: 0 }), null);
    assert.equal(tilt.seedGravity({ x: Number.NaN, y: 1, z: 1 }), null);
    assert.equal(tilt.seedGravity({ x: Number.POSITIVE_INFINITY, y: 1, z: 1 }), null);
  });

  it('the slider gives the vector of an upright phone turned by y, clamped to -100..100', () => {
    assert.deepEqual(tilt.sliderGravity(60), { x: 80, y: 60, z: 0 });
    assert.deepEqual(tilt.sliderGravity(-60), { x: 80, y: -60, z: 0 });
    assert.deepEqual(tilt.sliderGravity(250), { x: 0, y: 100, z: 0 });
  });

  it('recognises iPhone and iPad Safari (including iPadOS posing as a Mac), not Android or desktop Macs', () => {
    const iphone = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Version/17.4 Mobile/15E148 Safari/604.1';
    const ipados = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15';
    const android = 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Mobile Safari/537.36';
    assert.equal(tilt.reportsInvertedGravity({ userAgent: iphone, maxTouchPoints: 5 }), true);
    assert.equal(tilt.reportsInvertedGravity({ userAgent: ipados, maxTouchPoints: 5 }), true);
    assert.equal(tilt.reportsInvertedGravity({ userAgent: ipados, maxTouchPoints: 0 }), false);
    assert.equal(tilt.reportsInvertedGravity({ userAgent: android, maxTouchPoints: 5 }), false);
  });
});
