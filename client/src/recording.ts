/**
 * The recording file: what a controller sent, with times, as JSON lines (docs/recording.md). The client writes it
 * (`--record`) and reads it (`--replay`); the phone page writes the same format (gateway/public/recording.js, whose
 * constants test/unit/protocol-page.test.ts checks against these). A file is read whole and checked before anything
 * is sent: a bad one changes nothing, and the error names the line.
 *
 *   {"format":"gravity-led-recording","version":1,"recordedAt":"2025-01-31T14:25:01.000Z","source":"client"}
 *   {"t":0,"x":0,"y":0,"z":100,"seq":1}
 *   {"t":50.1,"x":0,"y":6.28,"z":99.8,"seq":2}
 */
import { createWriteStream, readFileSync, statSync, type WriteStream } from 'node:fs';
import { errorMessage, type Gravity, gravityFromObject } from '@gravity-led/shared';

export const RECORDING_FORMAT = 'gravity-led-recording';
/** The version this client writes, and the only one it reads. */
export const RECORDING_VERSION = 1;
/** Files larger than this are refused before reading: some 500,000 frames, over four hours at 30 a second. */
export const MAX_RECORDING_BYTES = 32 * 1024 * 1024;
/** A frame line is a few dozen characters; anything this long is not one. */
const MAX_LINE_LENGTH = 1024;

export interface RecordingHeader {
  readonly format: typeof RECORDING_FORMAT;
  readonly version: typeof RECORDING_VERSION;
  /** When the recording began (ISO 8601), informative. */
  readonly recordedAt?: string;
  /** Who recorded it: `client`, `phone-page`, or anything a person writes. */
  readonly source?: string;
  readonly [field: string]: unknown;
}

/** One frame as it was sent, `t` milliseconds after the recording began. */
export interface RecordedFrame extends Gravity {
  readonly t: number;
}

export interface Recording {
  readonly header: RecordingHeader;
  readonly frames: readonly RecordedFrame[];
}

/** A file that is not a recording, with the line (1-based) that is wrong, or 0 for the file as a whole. */
export class RecordingError extends Error {
  override name = 'RecordingError';
  constructor(
    readonly file: string,
    readonly line: number,
    message: string,
  ) {
    super(`${file}${line > 0 ? ` line ${line}` : ''}: ${message}`);
  }
}

/** Reads and checks a recording file; throws RecordingError. */
export function readRecording(file: string): Recording {
  let text: string;
  try {
    const size = statSync(file).size;
    if (size > MAX_RECORDING_BYTES) {
      throw new RecordingError(file, 0, `${size} bytes, larger than the ${MAX_RECORDING_BYTES} bytes a recording may have`);
    }
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if (error instanceof RecordingError) throw error;
    throw new RecordingError(file, 0, errorMessage(error));
  }
  return parseRecording(text, file);
}

/** Checks the text of a recording; `file` names it in errors. */
export function parseRecording(text: string, file = 'recording'): Recording {
  const lines = text.split('\n');
  const fail = (index: number, message: string) => new RecordingError(file, index + 1, message);
  const header = parseHeader(lines[0]?.replace(/\r$/, '') ?? '', (message) => fail(0, message));
  const frames: RecordedFrame[] = [];
  let previous = 0;
  for (let i = 1; i < lines.length; i++) {
    const line = (lines[i] as string).replace(/\r$/, '');
    if (line.trim() === '') continue;
    const frame = parseFrame(line, (message) => fail(i, message));
    if (frame.t < previous) throw fail(i, `t ${frame.t} is before the previous frame's ${previous}: times must not go back`);
    previous = frame.t;
    frames.push(frame);
  }
  if (frames.length === 0) throw new RecordingError(file, 0, 'no frames after the header line');
  return { header, frames };
}

function parseObject(line: string, fail: (message: string) => RecordingError): Record<string, unknown> {
  if (line.length > MAX_LINE_LENGTH) throw fail(`longer than ${MAX_LINE_LENGTH} characters`);
  let data: unknown;
  try {
    data = JSON.parse(line);
  } catch {
    throw fail(`not JSON: ${JSON.stringify(line.slice(0, 60))}`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw fail('expected a JSON object');
  return data as Record<string, unknown>;
}

function parseHeader(line: string, fail: (message: string) => RecordingError): RecordingHeader {
  if (line.trim() === '') throw fail(`expected the header {"format":"${RECORDING_FORMAT}","version":${RECORDING_VERSION}}`);
  const data = parseObject(line, fail);
  if (data.format !== RECORDING_FORMAT) {
    throw fail(`not a gravity-led recording: the header's "format" must be "${RECORDING_FORMAT}"`);
  }
  if (data.version !== RECORDING_VERSION) {
    throw fail(`version ${JSON.stringify(data.version)} is not one this client reads (it reads version ${RECORDING_VERSION})`);
  }
  return data as RecordingHeader;
}

function parseFrame(line: string, fail: (message: string) => RecordingError): RecordedFrame {
  const data = parseObject(line, fail);
  const { t } = data;
  if (typeof t !== 'number' || !Number.isFinite(t) || t < 0) throw fail('"t" must be a number of milliseconds >= 0');
  // The frame itself is checked as the gateway checks a JSON frame: finite, within range, seq a whole number.
  const gravity = gravityFromObject(data);
  if (!gravity.ok) throw fail(gravity.message);
  return { t, ...gravity.value };
}

/** The header line of a new recording. */
export function headerLine(source: string, date = new Date()): string {
  const header: RecordingHeader = { format: RECORDING_FORMAT, version: RECORDING_VERSION, recordedAt: date.toISOString(), source };
  return JSON.stringify(header);
}

/** One frame line: `t` to a tenth of a millisecond. */
export function frameLine(t: number, g: Gravity): string {
  const time = Math.round(t * 10) / 10;
  return JSON.stringify(g.seq === undefined ? { t: time, x: g.x, y: g.y, z: g.z } : { t: time, x: g.x, y: g.y, z: g.z, seq: g.seq });
}

/**
 * Writes a recording as it happens, one line per frame, so that whatever was sent before a Ctrl+C is kept. Times
 * are from performance.now(), a clock that never jumps; `t` of the first frame is its distance from the start.
 */
export class RecordingWriter {
  private readonly stream: WriteStream;
  private readonly startedAt = performance.now();
  private failure: Error | undefined;
  frames = 0;

  constructor(
    readonly file: string,
    source = 'client',
  ) {
    this.stream = createWriteStream(file, { encoding: 'utf8' });
    this.stream.on('error', (error) => {
      this.failure = error;
    });
    this.stream.write(`${headerLine(source)}\n`);
  }

  /** Resolves once the file is open for writing, or rejects with why it cannot be. */
  ready(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      if (!this.stream.pending) return resolve();
      this.stream.once('ready', () => resolve());
      this.stream.once('error', reject);
    });
  }

  write(g: Gravity): void {
    if (this.failure) return;
    this.stream.write(`${frameLine(performance.now() - this.startedAt, g)}\n`);
    this.frames++;
  }

  /** Flushes and closes the file; rejects if any write failed. */
  close(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.stream.end(() => (this.failure ? reject(this.failure) : resolve()));
      if (this.failure) reject(this.failure);
    });
  }
}
