/**
 * Hostile inputs for the fuzz tests: random and mutated gravity frames, and a conservative oracle that says which
 * of them could possibly be accepted. The tests throw only inputs the oracle calls invalid where they assert that
 * nothing changes, so a wrong oracle shows up as a failure (an accepted frame), never as a test that cannot fail.
 */
import { MAX_COMPONENT } from '@gravity-led/shared';
import type { Prng } from './prng.js';

/** One input: text (a WebSocket text frame, an MQTT payload) or bytes (a binary frame, a binary payload). */
export type FuzzInput = { readonly text: string } | { readonly bytes: Buffer };

const VALID_SEEDS = [
  '0 50 86.6',
  '-12.5 -30 94.6',
  '1.0E-5 99.9 4.2',
  ' 0\t40\n91.6 ',
  '{"x":0,"y":40,"z":91.6}',
  '{"x":-3.2,"y":-70,"z":71.3,"seq":7}',
  '{"z":1,"y":2,"x":3,"extra":"ok"}',
];

/** Tokens that break parsers: non-finite numbers, huge or odd numerals, JSON punctuation, control characters. */
const NASTY = [
  'NaN',
  'Infinity',
  '-Infinity',
  '1e309',
  '-1e309',
  '1e400',
  '1e1000',
  '99999999999999999999999',
  '0x1F',
  '1_000',
  '--1',
  '1..2',
  '.',
  '-',
  'e5',
  'null',
  'true',
  '[]',
  '{}',
  '"',
  '{',
  '}',
  ',',
  ':',
  '\\u0000',
  '\u0000',
  '\u00ff',
  '\ud800',
  '\u2028',
  '💡',
  '__proto__',
  '{"__proto__":{"x":1}}',
  '{"constructor":{"prototype":{}}}',
];

const JSON_VALUES = ['null', 'true', '"1"', '"NaN"', '[1]', '{}', '1e999', '-1e999', '1e4', '-2000', '"', '', 'NaN', 'Infinity'];

/** Text frames that are invalid by construction, from every family the interface names. */
function invalidText(rng: Prng): string {
  switch (rng.int(0, 9)) {
    case 0: {
      // Wrong count of numbers.
      const n = rng.pick([0, 1, 2, 4, 5, 9]);
      return Array.from({ length: n }, () => (rng.next() * 200 - 100).toFixed(2)).join(' ');
    }
    case 1: {
      // Three components, at least one non-finite or absurdly large.
      const parts = [rng.int(-100, 100), rng.int(-100, 100), rng.int(-100, 100)].map(String);
      parts[rng.int(0, 2)] = rng.pick(['NaN', 'Infinity', '-Infinity', '1e309', '1e30', '-5000', '1001', '123456789']);
      return parts.join(rng.pick([' ', '  ', '\t']));
    }
    case 2: {
      // JSON with a wrong type or a missing field.
      const fields = { x: '0', y: '40', z: '91.6' } as Record<string, string>;
      const key = rng.pick(['x', 'y', 'z']);
      if (rng.chance(0.3)) delete fields[key];
      else fields[key] = rng.pick(JSON_VALUES.filter((v) => v !== '' && !/^-?\d/.test(v) && v !== '1e999' && v !== '-1e999'));
      return `{${Object.entries(fields)
        .map(([k, v]) => `"${k}":${v}`)
        .join(',')}}`;
    }
    case 3: {
      // JSON with numbers out of range, or a bad seq.
      if (rng.chance(0.5)) return `{"x":0,"y":${rng.pick(['1e4', '-2000', '1e308', '-1e308', '1001'])},"z":1}`;
      return `{"x":0,"y":40,"z":91.6,"seq":${rng.pick(['-1', '1.5', '"7"', 'null', '[]', '1e300', '9007199254740993'])}}`;
    }
    case 4:
      // Broken JSON.
      return rng.pick(['{', '{"x":1', '{"x":1,"y":2,"z":3', '{x:1,y:2,z:3}', "{'x':1}", '{"x":1,,"y":2}', '{"x":01,"y":2,"z":3}']);
    case 5:
      // JSON that is not an object.
      return rng.pick(['{}', '{"type":"hello"}', '{"x":[1],"y":[2],"z":[3]}', '{"x":{},"y":2,"z":3}']);
    case 6:
      // Empty and white space only.
      return rng.pick(['', ' ', '\t', '\n\n', '   \r\n ']);
    case 7:
      // Nasty tokens, three of them.
      return [rng.pick(NASTY), rng.pick(NASTY), rng.pick(NASTY)].join(' ');
    case 8:
      // Random printable noise.
      return Array.from({ length: rng.int(1, 60) }, () => String.fromCharCode(rng.int(32, 126))).join('');
    default:
      // Random Unicode, including lone surrogates and control characters.
      return Array.from({ length: rng.int(1, 40) }, () => String.fromCharCode(rng.int(0, 0xffff))).join('');
  }
}

/** A valid frame mutated: bit flips, insertions, deletions, duplications, truncations and nasty tokens spliced in. */
export function mutate(rng: Prng, source: string): string {
  let s = source;
  for (let round = rng.int(1, 4); round > 0; round--) {
    const at = rng.int(0, s.length);
    switch (rng.int(0, 6)) {
      case 0:
        if (s.length > 0) {
          const i = rng.int(0, s.length - 1);
          s = s.slice(0, i) + String.fromCharCode(s.charCodeAt(i) ^ (1 << rng.int(0, 7))) + s.slice(i + 1);
        }
        break;
      case 1:
        s = s.slice(0, at) + String.fromCharCode(rng.int(0, 255)) + s.slice(at);
        break;
      case 2:
        s = s.slice(0, at) + s.slice(at + rng.int(1, 4));
        break;
      case 3:
        s = s.slice(0, at) + s.slice(at, at + rng.int(1, 8)) + s.slice(at);
        break;
      case 4:
        s = s.slice(0, rng.int(0, s.length));
        break;
      case 5:
        s = s.slice(0, at) + rng.pick(NASTY) + s.slice(at);
        break;
      default:
        s = s.replace(/-?\d+(\.\d+)?/, rng.pick(NASTY));
    }
  }
  return s;
}

/** Any input: random bytes, a mutated valid input (of `seeds`), or an invalid-by-construction frame. */
export function anyInput(rng: Prng, seeds: readonly string[] = VALID_SEEDS): FuzzInput {
  const kind = rng.int(0, 9);
  if (kind <= 1) {
    // Random bytes; 12 bytes (the binary frame's size) with some weight, since that is the interesting length.
    return { bytes: rng.bytes(rng.chance(0.3) ? 12 : rng.pick([0, 1, 4, 8, 11, 13, 16, 24, rng.int(0, 900)])) };
  }
  if (kind <= 5) return { text: mutate(rng, rng.pick(seeds)) };
  return { text: invalidText(rng) };
}

function looksNumeric(token: string): boolean {
  return Number.isFinite(Number(token)) || Number.isFinite(Number.parseFloat(token));
}

/** A number the parser might take as a component: finite and within ±MAX_COMPONENT, however it is read. */
function possibleComponent(value: number): boolean {
  return Number.isFinite(value) && Math.abs(value) <= MAX_COMPONENT;
}

function possibleComponentToken(token: string): boolean {
  return possibleComponent(Number(token)) || possibleComponent(Number.parseFloat(token));
}

/**
 * True when a text frame might be accepted: three number-like tokens, a JSON object with three numbers, or an auth
 * frame (silently accepted by an authenticated session). Deliberately generous: anything it passes is left out.
 */
export function possiblyAcceptedText(text: string): boolean {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    try {
      const data = JSON.parse(trimmed) as Record<string, unknown>;
      if (typeof data !== 'object' || data === null) return false;
      if (data.type === 'auth') return true;
      return [data.x, data.y, data.z].every((v) => typeof v === 'number' && possibleComponent(v));
    } catch {
      return false;
    }
  }
  const tokens = trimmed.split(/\s+/);
  return tokens.length === 3 && tokens.every(possibleComponentToken);
}

/** The same for a WebSocket frame: a 12-byte binary frame holding three floats in range. */
export function possiblyAcceptedFrame(input: FuzzInput): boolean {
  if (!('bytes' in input)) return possiblyAcceptedText(input.text);
  if (input.bytes.length !== 12) return false;
  return [0, 4, 8].every((at) => possibleComponent(input.bytes.readFloatBE(at)));
}

/** The same for an MQTT payload, which the led-driver reads as UTF-8 text whatever its bytes. */
export function possiblyAcceptedPayload(input: FuzzInput): boolean {
  return possiblyAcceptedText('bytes' in input ? input.bytes.toString('utf8') : input.text);
}

/** `count` inputs the oracle rejects, and how many candidates were drawn to find them. */
export function invalidInputs(
  rng: Prng,
  count: number,
  accepted: (input: FuzzInput) => boolean,
  seeds: readonly string[] = VALID_SEEDS,
): FuzzInput[] {
  const out: FuzzInput[] = [];
  while (out.length < count) {
    const input = anyInput(rng, seeds);
    if (!accepted(input)) out.push(input);
  }
  return out;
}

function asText(input: FuzzInput): string {
  return 'bytes' in input ? input.bytes.toString('utf8') : input.text;
}

function jsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const data = JSON.parse(text) as unknown;
    return typeof data === 'object' && data !== null ? (data as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** `leds/set`: any JSON object might be a command (even `{}`, which sets nothing). */
export function possiblyAcceptedManualSet(input: FuzzInput): boolean {
  return jsonObject(asText(input).trim()) !== undefined;
}

/** `leds/<led>/set`: ON, OFF, or anything number-like. */
export function possiblyAcceptedLedCommand(input: FuzzInput): boolean {
  const text = asText(input).trim();
  return /^(on|off)$/i.test(text) || looksNumeric(text);
}

/** `gateway/status`: the two words. */
export function possiblyAcceptedStatus(input: FuzzInput): boolean {
  return /^\s*(online|offline)\s*$/i.test(asText(input));
}

/** `gateway/clients`: an object with a number of clients. */
export function possiblyAcceptedClients(input: FuzzInput): boolean {
  const data = jsonObject(asText(input));
  return data !== undefined && typeof data.clients === 'number';
}
