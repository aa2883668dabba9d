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
  const v = seedVector(a, screenAngle, negate);
  return v && rounded(v);
}

/** seedGravity without the rounding: what calibration starts from, so that rounding happens once, at the end. */
export function seedVector(a, screenAngle = 0, negate = false) {
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
  return { x: sy * scale, y: -sx * scale, z: z * scale };
}

/*
 * Level calibration and sensitivity: what the page does to the seed's frame before it sends it. The frame keeps the
 * seed's format and meaning (a gravity vector of length 100 whose y is the duty), so nothing past the page changes.
 *
 * "Set level" takes the attitude the person holds as the neutral one. Its frame r has some sideways part r.y; the
 * level rotation turns r onto n, the same vector with that part taken out (n = (r.x, 0, r.z), normalised), about
 * the axis r × n. Every later frame is turned the same way: the held attitude reads y = 0 (both LEDs off), and
 * turning the phone further sideways by an angle θ reads as a turn by θ from level. Flat on the table, tilted back
 * or upright: whatever the person holds is level. Held exactly on its side (r = (0, ±100, 0), no r.x or r.z to
 * keep), n is (100, 0, 0): the phone turned back upright about its screen's normal.
 *
 * Sensitivity is the tilt that gives full brightness. The seed's rule is y = 100·sin(θ): 100 % only with the phone
 * on its side (90°). With a full-scale angle A the page sends y' = 100·sin(θ)/sin(A), clamped to ±100, and x, z
 * scaled so that the vector keeps its length 100: the frame a phone tilted by asin(y'/100) would send. A = 90° is
 * the seed's rule exactly; A = 45° gives 100 % at 45° and 71 % at 30°.
 */

/** The full-scale angle the page allows, in degrees: the seed's 90 down to a twitchy 15. */
export const FULL_SCALE = { min: 15, max: 90, default: 90 };

/** @typedef {{x: number, y: number, z: number}} Vector */
/** @typedef {readonly number[]} Rotation a 3×3 matrix, row by row */

const IDENTITY = Object.freeze([1, 0, 0, 0, 1, 0, 0, 0, 1]);

/**
 * The rotation that makes `reference` (a seed frame, any length) level: y = 0, the rest kept as it was.
 * @param {Vector} reference
 * @returns {Rotation}
 */
export function levelRotation(reference) {
  const length = Math.hypot(reference.x, reference.y, reference.z);
  if (!(length > 0) || !Number.isFinite(length)) return IDENTITY;
  const r = { x: reference.x / length, y: reference.y / length, z: reference.z / length };
  const h = Math.hypot(r.x, r.z);
  const n = h < 1e-9 ? { x: 1, y: 0, z: 0 } : { x: r.x / h, y: 0, z: r.z / h };
  // Axis and angle of the turn from r to n: |r × n| = sin(angle), r · n = cos(angle).
  const axis = { x: r.y * n.z - r.z * n.y, y: r.z * n.x - r.x * n.z, z: r.x * n.y - r.y * n.x };
  const sin = Math.hypot(axis.x, axis.y, axis.z);
  const cos = r.x * n.x + r.y * n.y + r.z * n.z;
  if (sin < 1e-12) return IDENTITY;
  const k = { x: axis.x / sin, y: axis.y / sin, z: axis.z / sin };
  const t = 1 - cos;
  // Rodrigues' rotation formula: R = cos·I + sin·[k]× + (1 - cos)·k kᵀ.
  return [
    cos + t * k.x * k.x,
    t * k.x * k.y - sin * k.z,
    t * k.x * k.z + sin * k.y,
    t * k.y * k.x + sin * k.z,
    cos + t * k.y * k.y,
    t * k.y * k.z - sin * k.x,
    t * k.z * k.x - sin * k.y,
    t * k.z * k.y + sin * k.x,
    cos + t * k.z * k.z,
  ];
}

/**
 * @param {Rotation} m
 * @param {Vector} v
 * @returns {Vector}
 */
export function rotate(m, v) {
  return {
    x: m[0] * v.x + m[1] * v.y + m[2] * v.z,
    y: m[3] * v.x + m[4] * v.y + m[5] * v.z,
    z: m[6] * v.x + m[7] * v.y + m[8] * v.z,
  };
}

/**
 * The frame with full brightness at `fullScaleDegrees` instead of 90 (see above); the angle is clamped to FULL_SCALE.
 * @param {Vector} v a seed frame of length 100
 * @param {number} fullScaleDegrees
 * @returns {Vector}
 */
export function withSensitivity(v, fullScaleDegrees) {
  const degrees = clampFullScale(fullScaleDegrees);
  if (degrees === 90) return v;
  const y = Math.max(-100, Math.min(100, v.y / Math.sin((degrees * Math.PI) / 180)));
  const rest = Math.sqrt(Math.max(0, 100 * 100 - y * y));
  const h = Math.hypot(v.x, v.z);
  if (h < 1e-9) return { x: rest, y, z: 0 };
  return { x: (v.x * rest) / h, y, z: (v.z * rest) / h };
}

/** A full-scale angle the page can use: a number within FULL_SCALE, else the nearest end (or the default). */
export function clampFullScale(degrees) {
  if (typeof degrees !== 'number' || Number.isNaN(degrees)) return FULL_SCALE.default;
  return Math.max(FULL_SCALE.min, Math.min(FULL_SCALE.max, degrees));
}

/**
 * The frame the page sends: the seed vector, levelled, with the sensitivity applied, two decimals.
 * @param {Vector} seed seedVector's output
 * @param {{level?: Rotation | null, fullScale?: number}} calibration
 * @returns {Vector}
 */
export function calibrated(seed, { level = null, fullScale = FULL_SCALE.default } = {}) {
  const levelled = level ? rotate(level, seed) : seed;
  return rounded(withSensitivity(levelled, fullScale));
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

function rounded({ x, y, z }) {
  return { x: round2(x), y: round2(y), z: round2(z) };
}

function round2(n) {
  const r = Math.round(n * 100) / 100;
  return r === 0 ? 0 : r;
}
