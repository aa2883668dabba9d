/**
 * "Set level" and the sensitivity, kept in this browser's storage, so each phone keeps its own. A level belongs to
 * one screen orientation (an attitude held in portrait means nothing in landscape), so one is kept per screen angle.
 * The maths is in tilt.js; the frames sent keep the seed's format, so nothing past the page knows of any of this.
 */
import { calibrated, clampFullScale, FULL_SCALE, levelRotation } from './tilt.js';

const LEVEL_KEY = 'gravity-led.level';
const FULL_SCALE_KEY = 'gravity-led.full-scale';

export class LevelSettings {
  constructor(storage = browserStorage()) {
    this.storage = storage;
    /** Screen angle -> the seed vector held when "Set level" was tapped. */
    this.levels = readLevels(storage.get(LEVEL_KEY));
    this.rotations = new Map();
    for (const [angle, v] of Object.entries(this.levels)) this.rotations.set(Number(angle), levelRotation(v));
    const stored = storage.get(FULL_SCALE_KEY);
    this.fullScale = stored === null ? FULL_SCALE.default : clampFullScale(Number(stored));
  }

  /** The frame to send for a seed vector read with the screen at `angle`. */
  apply(seed, angle) {
    return calibrated(seed, { level: this.rotations.get(angle) ?? null, fullScale: this.fullScale });
  }

  hasLevel(angle) {
    return this.rotations.has(angle);
  }

  /** The attitude now held (its seed vector) is level from now on, for this screen angle. */
  setLevel(angle, seed) {
    this.levels[String(angle)] = { x: seed.x, y: seed.y, z: seed.z };
    this.rotations.set(angle, levelRotation(seed));
    this.storage.set(LEVEL_KEY, JSON.stringify(this.levels));
  }

  /** Back to the seed's level (upright) in every orientation. */
  resetLevel() {
    this.levels = {};
    this.rotations.clear();
    this.storage.remove(LEVEL_KEY);
  }

  setFullScale(degrees) {
    this.fullScale = clampFullScale(degrees);
    this.storage.set(FULL_SCALE_KEY, String(this.fullScale));
  }
}

/** Stored levels as they were written, dropping anything that is not a finite vector (an old or edited entry). */
function readLevels(text) {
  const levels = {};
  try {
    const data = JSON.parse(text ?? '{}');
    for (const [angle, v] of Object.entries(data ?? {})) {
      if (!/^\d+$/.test(angle) || !v || ![v.x, v.y, v.z].every(Number.isFinite)) continue;
      if (Math.hypot(v.x, v.y, v.z) > 0) levels[angle] = { x: v.x, y: v.y, z: v.z };
    }
  } catch {
    // unreadable: no level
  }
  return levels;
}

/** localStorage, or memory where the browser blocks it (some private modes): then settings last for this page only. */
function browserStorage() {
  const memory = new Map();
  return {
    get(key) {
      try {
        return localStorage.getItem(key);
      } catch {
        return memory.get(key) ?? null;
      }
    },
    set(key, value) {
      try {
        localStorage.setItem(key, value);
      } catch {
        memory.set(key, value);
      }
    },
    remove(key) {
      memory.delete(key);
      try {
        localStorage.removeItem(key);
      } catch {
        // nothing stored there
      }
    },
  };
}

/**
 * The level and sensitivity controls. `heldNow()` gives the newest sensor reading ({vector, angle}) or null when
 * there is none fresh: "Set level" needs the motion sensor, the slider has no attitude to keep.
 */
export function bindLevelControls({ setLevel, reset, fullScale, fullScaleValue, note }, settings, heldNow) {
  const describe = (angle) => {
    const kind = angle === 90 || angle === 270 ? 'landscape' : 'portrait';
    note.textContent = settings.hasLevel(angle)
      ? `Level set for ${kind}: hold the phone that way for both LEDs off.`
      : 'Level: upright, as the seed. Hold the phone as you like it and tap Set level.';
    reset.hidden = Object.keys(settings.levels).length === 0;
  };
  const showFullScale = () => {
    fullScale.value = String(settings.fullScale);
    fullScaleValue.textContent = `${settings.fullScale}°${settings.fullScale === FULL_SCALE.default ? ' (the seed)' : ''}`;
  };
  fullScale.min = String(FULL_SCALE.min);
  fullScale.max = String(FULL_SCALE.max);
  showFullScale();
  describe(0);

  setLevel.addEventListener('click', () => {
    const held = heldNow();
    if (!held) {
      note.textContent = 'Set level needs the motion sensor: press Start, hold the phone as you like it, then tap Set level.';
      return;
    }
    settings.setLevel(held.angle, held.vector);
    describe(held.angle);
  });
  reset.addEventListener('click', () => {
    settings.resetLevel();
    describe(heldNow()?.angle ?? 0);
  });
  fullScale.addEventListener('input', () => {
    settings.setFullScale(Number(fullScale.value));
    showFullScale();
  });
  return { describe };
}
