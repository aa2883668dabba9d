/**
 * The phone page's mapping from the browser's motion sensor to the seed's frame (gateway/public/tilt.js): the axes
 * and signs, and the level calibration and sensitivity the page applies before it sends a frame.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ROOT } from '../helpers/system.js';

interface Vector {
  x: number;
  y: number;
  z: number;
}
type Rotation = readonly number[];
interface Tilt {
  seedGravity(a: Partial<Record<'x' | 'y' | 'z', number | null>> | null, angle?: number, negate?: boolean): Vector | null;
  seedVector(a: Partial<Record<'x' | 'y' | 'z', number | null>> | null, angle?: number, negate?: boolean): Vector | null;
  sliderGravity(tilt: number): Vector;
  reportsInvertedGravity(nav: { userAgent: string; maxTouchPoints: number }): boolean;
  levelRotation(reference: Vector): Rotation;
  rotate(m: Rotation, v: Vector): Vector;
  withSensitivity(v: Vector, fullScaleDegrees: number): Vector;
  clampFullScale(degrees: unknown): number;
  calibrated(seed: Vector, calibration?: { level?: Rotation | null; fullScale?: number }): Vector;
  FULL_SCALE: { min: number; max: number; default: number };
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

/** A phone upright in portrait turned clockwise (right edge down) by `degrees` about its screen's normal. */
const turnedRight = (degrees: number) => ({ x: -G * Math.sin(deg(degrees)), y: G * Math.cos(deg(degrees)), z: 0 });
/** Lying flat, screen up, rolled right (right edge down) by `degrees` about its long axis. */
const flatRolledRight = (degrees: number) => ({ x: -G * Math.sin(deg(degrees)), y: 0, z: G * Math.cos(deg(degrees)) });
const length = (v: Vector) => Math.hypot(v.x, v.y, v.z);
const close = (actual: Vector, expected: Vector, what: string) => {
  for (const axis of ['x', 'y', 'z'] as const) {
    assert.ok(Math.abs(actual[axis] - expected[axis]) < 0.011, `${what}: ${axis} = ${actual[axis]}, expected ${expected[axis]}`);
  }
};

describe('level calibration and sensitivity (phone page)', () => {
  const seed = (a: Vector) => tilt.seedVector(a) as Vector;

  it('seedVector is seedGravity before rounding', () => {
    const a = { x: -1, y: 1, z: 1 };
    const v = seed(a);
    assert.notDeepEqual(v, tilt.seedGravity(a));
    close(v, tilt.seedGravity(a) as Vector, 'same vector');
    assert.ok(Math.abs(length(v) - 100) < 1e-9);
  });

  it('without a level and at the seed full scale (90°) the frame is exactly the seed frame', () => {
    for (const a of [turnedRight(30), turnedRight(-53.13), flatRolledRight(20), { x: -1, y: 1, z: 1 }]) {
      assert.deepEqual(tilt.calibrated(seed(a)), tilt.seedGravity(a));
      assert.deepEqual(tilt.calibrated(seed(a), { level: null, fullScale: 90 }), tilt.seedGravity(a));
    }
    assert.equal(tilt.FULL_SCALE.default, 90);
  });

  it('Set level: the held attitude reads y = 0, both LEDs off, whatever it is', () => {
    for (const held of [turnedRight(20), turnedRight(-35), flatRolledRight(25), { x: -2, y: 6, z: 7 }, { x: 0, y: 0, z: G }]) {
      const level = tilt.levelRotation(seed(held));
      const frame = tilt.calibrated(seed(held), { level });
      assert.equal(frame.y, 0, `held ${JSON.stringify(held)}: ${JSON.stringify(frame)}`);
      assert.ok(Math.abs(length(frame) - 100) < 0.02, 'still a vector of length 100');
    }
  });

  it('the level rotation takes out only the sideways part: what remains keeps its direction', () => {
    // Held turned 20° right in portrait: level is upright.
    close(tilt.calibrated(seed(turnedRight(20)), { level: tilt.levelRotation(seed(turnedRight(20))) }), { x: 100, y: 0, z: 0 }, 'portrait');
    // Leaning back 40° and turned a little: level is leaning back 40°, not upright.
    const back = { x: 0.1 * G, y: Math.cos(deg(40)) * G, z: Math.sin(deg(40)) * G };
    const frame = tilt.calibrated(seed(back), { level: tilt.levelRotation(seed(back)) });
    const v = seed(back);
    const h = Math.hypot(v.x, v.z);
    close(frame, { x: (v.x / h) * 100, y: 0, z: (v.z / h) * 100 }, 'leaning back');
    // Exactly on its side there is nothing to keep: level becomes upright, turned about the screen's normal.
    const onSide = tilt.levelRotation({ x: 0, y: 100, z: 0 });
    close(tilt.rotate(onSide, { x: 0, y: 100, z: 0 }), { x: 100, y: 0, z: 0 }, 'on its side');
  });

  it('after Set level, a further tilt of θ reads as a tilt of θ from level', () => {
    const level = tilt.levelRotation(seed(turnedRight(20)));
    for (const further of [10, 30, -30, 45]) {
      const frame = tilt.calibrated(seed(turnedRight(20 + further)), { level });
      close(frame, { x: 100 * Math.cos(deg(further)), y: 100 * Math.sin(deg(further)), z: 0 }, `${further}° further`);
    }
    // Flat on the table, rolled: the same.
    const flat = tilt.levelRotation(seed(flatRolledRight(15)));
    close(
      tilt.calibrated(seed(flatRolledRight(45)), { level: flat }),
      tilt.seedGravity(flatRolledRight(30)) as Vector,
      'flat, 30° further',
    );
  });

  it('the rotation is a rotation: lengths and angles are kept', () => {
    const m = tilt.levelRotation({ x: 30, y: 50, z: -81 });
    const a = { x: 1, y: 2, z: 3 };
    const b = { x: -4, y: 0.5, z: 2 };
    const ra = tilt.rotate(m, a);
    const rb = tilt.rotate(m, b);
    assert.ok(Math.abs(length(ra) - length(a)) < 1e-9);
    const dot = (p: Vector, q: Vector) => p.x * q.x + p.y * q.y + p.z * q.z;
    assert.ok(Math.abs(dot(ra, rb) - dot(a, b)) < 1e-9);
    assert.deepEqual(tilt.levelRotation({ x: 0, y: 0, z: 0 }), [1, 0, 0, 0, 1, 0, 0, 0, 1], 'no reference: no rotation');
    assert.deepEqual(tilt.levelRotation({ x: 100, y: 0, z: 0 }), [1, 0, 0, 0, 1, 0, 0, 0, 1], 'already level');
  });

  it('sensitivity: full brightness at the chosen tilt, y = 100·sin(θ)/sin(A), clamped, length kept', () => {
    for (const fullScale of [30, 45, 60]) {
      assert.equal(tilt.calibrated(seed(turnedRight(fullScale)), { fullScale }).y, 100, `${fullScale}° gives 100 %`);
      assert.equal(tilt.calibrated(seed(turnedRight(-fullScale)), { fullScale }).y, -100);
      assert.equal(tilt.calibrated(seed(turnedRight(fullScale + 20)), { fullScale }).y, 100, 'beyond it: clamped');
      assert.equal(tilt.calibrated(seed(turnedRight(0)), { fullScale }).y, 0, 'level stays off');
    }
    const at30 = tilt.calibrated(seed(turnedRight(30)), { fullScale: 45 });
    assert.equal(at30.y, 70.71, '30° of 45°: sin 30 / sin 45');
    assert.ok(Math.abs(length(at30) - 100) < 0.02);
    assert.ok(at30.x > 0 && at30.z === 0, 'the rest of the vector keeps its direction');
    // Flat on the table the rest is along z.
    const flat = tilt.calibrated(seed(flatRolledRight(15)), { fullScale: 30 });
    assert.equal(flat.y, round2((100 * Math.sin(deg(15))) / Math.sin(deg(30))));
    assert.ok(flat.z > 0 && flat.x === 0);
    // Saturated: the vector is (0, ±100, 0).
    assert.deepEqual(tilt.withSensitivity({ x: 50, y: 86.6, z: 0 }, 45), { x: 0, y: 100, z: 0 });
  });

  it('level and sensitivity together: held attitude off, the chosen angle beyond it 100 %', () => {
    const level = tilt.levelRotation(seed(turnedRight(20)));
    assert.equal(tilt.calibrated(seed(turnedRight(20)), { level, fullScale: 45 }).y, 0);
    assert.equal(tilt.calibrated(seed(turnedRight(65)), { level, fullScale: 45 }).y, 100);
    assert.equal(tilt.calibrated(seed(turnedRight(-25)), { level, fullScale: 45 }).y, -100);
  });

  it('clamps the full-scale angle to 15..90 and ignores what is not a number', () => {
    assert.equal(tilt.clampFullScale(5), tilt.FULL_SCALE.min);
    assert.equal(tilt.clampFullScale(120), 90);
    assert.equal(tilt.clampFullScale(45), 45);
    assert.equal(tilt.clampFullScale(Number.NaN), 90);
    assert.equal(tilt.clampFullScale('45'), 90);
    assert.deepEqual(tilt.calibrated(seed(turnedRight(30)), { fullScale: 500 }), tilt.seedGravity(turnedRight(30)));
  });
});

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
