/**
 * The gravity vector and the three wire formats it arrives in. Units are the seed's: each component of the
 * sensor's gravity vector divided by the vector's length, times 100, so a phone lying flat reads `0 0 100`.
 */
import { type Generation, generationFields, readGeneration } from './messages.js';

export interface Gravity {
  readonly x: number;
  readonly y: number;
  readonly z: number;
  /** Optional sequence number chosen by the sender, echoed in the LED state it produced. */
  readonly seq?: number;
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; reason: ParseFailure; message: string };

/** Why a frame was refused; used as a metric label and to log each kind once, so keep the set small. */
export type ParseFailure =
  | 'empty'
  | 'too-large'
  | 'wrong-count'
  | 'not-a-number'
  | 'out-of-range'
  | 'bad-json'
  | 'bad-shape'
  | 'bad-seq'
  | 'bad-generation'
  | 'bad-binary-length';

/**
 * Largest magnitude accepted for a component. Normalised vectors stay within 100; the margin admits rounding and
 * senders that are slightly off, while absurd values (1e308, overflowing sensors) are refused as hostile.
 */
export const MAX_COMPONENT = 1000;

/** Longest text frame worth parsing; the transports cap frames at 1 KiB anyway. */
export const MAX_TEXT_LENGTH = 1024;

/** Binary frame: x, y, z as IEEE-754 float32, big-endian (what Java's ByteBuffer writes by default). */
export const BINARY_FRAME_LENGTH = 12;

// A decimal number as Java's Float.toString, Python's str(float) or JavaScript print it ("1.0E-5" included).
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

function fail<T>(reason: ParseFailure, message: string): ParseResult<T> {
  return { ok: false, reason, message };
}

// Checked one by one rather than by looping over a list of [name, value] pairs: this runs for every frame, in the
// gateway and again in the led-driver, and the list cost four allocations a call (measured: ~2.5x slower).
function checkComponents(x: number, y: number, z: number, seq?: number): ParseResult<Gravity> {
  const refused = checkComponent('x', x) ?? checkComponent('y', y) ?? checkComponent('z', z);
  if (refused) return refused;
  return { ok: true, value: seq === undefined ? { x, y, z } : { x, y, z, seq } };
}

function checkComponent(name: string, v: number): ParseResult<Gravity> | undefined {
  if (!Number.isFinite(v)) return fail('not-a-number', `${name} is not a finite number`);
  if (Math.abs(v) > MAX_COMPONENT) return fail('out-of-range', `${name} must be within ±${MAX_COMPONENT}`);
  return undefined;
}

/** The seed's text frame: three decimal numbers separated by white space. */
export function parseSeedText(text: string): ParseResult<Gravity> {
  const parts = text.trim().split(/\s+/);
  if (parts.length !== 3 || parts[0] === '') {
    return fail('wrong-count', `expected three numbers "x y z", got ${parts[0] === '' ? 0 : parts.length}`);
  }
  const numbers: number[] = [];
  for (const part of parts) {
    if (!DECIMAL.test(part)) return fail('not-a-number', `"${part.slice(0, 32)}" is not a decimal number`);
    numbers.push(Number(part));
  }
  return checkComponents(numbers[0] as number, numbers[1] as number, numbers[2] as number);
}

/** JSON frame `{"x":..,"y":..,"z":..,"seq":n}`; other fields are ignored so senders may add their own. */
export function parseJsonGravity(text: string): ParseResult<Gravity> {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return fail('bad-json', 'not valid JSON');
  }
  return gravityFromObject(data);
}

/** The JSON frame once parsed: for callers that have already read the JSON to look at other fields. */
export function gravityFromObject(data: unknown): ParseResult<Gravity> {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return fail('bad-shape', 'expected a JSON object {"x","y","z"}');
  }
  const { x, y, z, seq } = data as Record<string, unknown>;
  if (typeof x !== 'number' || typeof y !== 'number' || typeof z !== 'number') {
    return fail('bad-shape', 'x, y and z must be numbers');
  }
  if (seq !== undefined && !(typeof seq === 'number' && Number.isSafeInteger(seq) && seq >= 0)) {
    return fail('bad-seq', 'seq must be a whole number >= 0');
  }
  return checkComponents(x, y, z, seq as number | undefined);
}

/** A text frame in either text format: JSON when it starts with `{`, else the seed's `"x y z"`. */
export function parseGravityText(text: string): ParseResult<Gravity> {
  if (text.length > MAX_TEXT_LENGTH) return fail('too-large', `frame longer than ${MAX_TEXT_LENGTH} characters`);
  const trimmed = text.trimStart();
  if (trimmed === '') return fail('empty', 'empty frame');
  return trimmed.startsWith('{') ? parseJsonGravity(trimmed) : parseSeedText(trimmed);
}

/** The 12-byte binary frame. */
export function parseGravityBinary(bytes: Uint8Array): ParseResult<Gravity> {
  if (bytes.byteLength !== BINARY_FRAME_LENGTH) {
    return fail('bad-binary-length', `binary frame must be ${BINARY_FRAME_LENGTH} bytes, got ${bytes.byteLength}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return checkComponents(view.getFloat32(0, false), view.getFloat32(4, false), view.getFloat32(8, false));
}

/** Encodes the binary frame, for clients, tests and the benchmark. */
export function encodeGravityBinary(x: number, y: number, z: number): Uint8Array {
  const bytes = new Uint8Array(BINARY_FRAME_LENGTH);
  const view = new DataView(bytes.buffer);
  view.setFloat32(0, x, false);
  view.setFloat32(4, y, false);
  view.setFloat32(8, z, false);
  return bytes;
}

/**
 * A value on the MQTT gravity topic: the vector, and the generation the gateway stamped on it (see Generation in
 * messages.ts). Values injected by hand have none and are applied as they come.
 */
export interface GravityMessage extends Gravity {
  readonly generation?: Generation;
}

/** An MQTT payload on the gravity topic: text in either format, as UTF-8; JSON may carry the gateway's generation. */
export function parseGravityPayload(payload: Uint8Array): ParseResult<GravityMessage> {
  if (payload.byteLength > MAX_TEXT_LENGTH) return fail('too-large', `payload over ${MAX_TEXT_LENGTH} bytes`);
  const text = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8');
  const trimmed = text.trimStart();
  if (!trimmed.startsWith('{')) return parseGravityText(text);
  let data: unknown;
  try {
    data = JSON.parse(trimmed);
  } catch {
    return fail('bad-json', 'not valid JSON');
  }
  const result = gravityFromObject(data);
  if (!result.ok) return result;
  const generation = readGeneration(data as Record<string, unknown>);
  if (generation === null) return fail('bad-generation', 'run and gen must come together: a name and a whole number >= 0');
  return generation === undefined ? result : { ok: true, value: { ...result.value, generation } };
}

/** The JSON the gateway publishes on the gravity topic, with its generation. */
export function encodeGravityJson(g: Gravity, generation?: Generation): string {
  const seq = g.seq === undefined ? '' : `,"seq":${g.seq}`;
  return `{"x":${g.x},"y":${g.y},"z":${g.z}${seq}${generationFields(generation)}}`;
}
