/**
 * From the browser's motion sensor to the seed's gravity frame.
 *
 * The browser gives `accelerationIncludingGravity` in m/s² in the device's frame: x toward the right edge, y toward
 * the top edge, z out of the screen. Per the W3C spec and Chrome on Android the axis pointing up reads about +9.8
 * (lying flat, screen up: z = +9.8); Safari on iOS reports the opposite sign, so it is negated there.
 *
 * The seed's rule lights green for y > 0 and red for y < 0, where y was Android's gravity y with the phone held
 * sideways, top to the left, like a steering wheel. We let the person hold the phone as the screen shows it
 * (portrait, or landscape either way) and map the vector so that "tilt right" means what they see:
 *
 *   1. rotate the device vector into the screen's frame by `screen.orientation.angle` (the screen's rotation from
 *      the device's natural portrait, counter-clockwise): sx to the right of the screen, sy to the top;
 *   2. the seed's frame is the screen's turned a quarter: x = sy, y = -sx, z = z.
 *
 * Held upright in portrait the vector is (0, 100, 0) on the device, so the frame is x = 100, y = 0: both LEDs off.
 * Tilting right (clockwise, right edge down) makes the device's x negative, so the frame's y is positive: green.
 * In landscape with the top to the left (angle 90) the frame's y equals the device's y: exactly the seed's hold.
 */

/** Below this length (m/s²) the reading is no gravity vector at all (free fall, or a sensor giving zeros). */
const MIN_LENGTH = 1;

/**
 * @param {{x: number|null, y: number|null, z: number|null} | null | undefined} a accelerationIncludingGravity
 * @param {number} screenAngle screen.orientation.angle in degrees (0, 90, 180, 270)
 * @param {boolean} negate true where the browser reports the opposite sign (iOS), or the person swapped sides
 * @returns {{x: number, y: number, z: number} | null} components of the unit vector times 100, two decimals
 */
export function seedGravity(a, screenAngle = 0, negate = false) {
  if (!a) return null;
  const { x, y, z } = a;
  if (typeof x !== 'number' || typeof y !== 'number' || typeof z !== 'number') return null;
  if (!Number.isFinite(x) || !Number.isFinite(y) || !Number.isFinite(z)) return null;
  const length = Math.hypot(x, y, z);
  if (length < MIN_LENGTH) return null;
  const sign = negate ? -1 : 1;
  const rad = (screenAngle * Math.PI) / 180;
  const cos = Math.cos(rad);
  const sin = Math.sin(rad);
  const sx = x * cos - y * sin;
  const sy = x * sin + y * cos;
  const scale = (sign * 100) / length;
  return { x: round2(sy * scale), y: round2(-sx * scale), z: round2(z * scale) };
}

/** The vector a phone held upright in portrait and turned by `tilt` (-100..100, the seed's y) would give. */
export function sliderGravity(tilt) {
  const y = Math.max(-100, Math.min(100, tilt));
  return { x: round2(Math.sqrt(100 * 100 - y * y)), y, z: 0 };
}

/** Safari on iOS and iPadOS (which presents itself as a Mac with a touch screen) reports the opposite sign. */
export function reportsInvertedGravity(nav = navigator) {
  return /iPhone|iPad|iPod/.test(nav.userAgent) || (/Macintosh/.test(nav.userAgent) && nav.maxTouchPoints > 1);
}

function round2(n) {
  const r = Math.round(n * 100) / 100;
  return r === 0 ? 0 : r;
}
