/**
 * The recording file (client/src/recording.ts, docs/recording.md): what is accepted, what is refused and with which
 * line, that the phone page writes the same format (gateway/public/recording.js), and the replay's pacing.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  frameLine,
  headerLine,
  MAX_RECORDING_BYTES,
  MIN_SPACING_MS,
  parseRecording,
  RECORDING_FORMAT,
  RECORDING_VERSION,
  type RecordedFrame,
  RecordingError,
  RecordingWriter,
  readRecording,
  replayFrames,
} from '@gravity-led/client';
import { ROOT } from '../helpers/system.js';

interface PageRecording {
  RECORDING_FORMAT: string;
  RECORDING_VERSION: number;
  MAX_RECORDED_FRAMES: number;
  Recorder: new (
    now: () => number,
  ) => {
    start(header?: object): void;
    add(frame: { x: number; y: number; z: number; seq?: number }): boolean;
    stop(): void;
    blob(): Blob;
    frames: number;
    recording: boolean;
  };
  recordingFileName(date: Date): string;
}
const page: PageRecording = await import(new URL('gateway/public/recording.js', `file://${ROOT}`).href);

const HEADER = `{"format":"${RECORDING_FORMAT}","version":${RECORDING_VERSION}}`;
const dir = mkdtempSync(join(tmpdir(), 'gravity-led-recording-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The message of the RecordingError that `text` raises, or a failure if it raises none. */
function refusal(text: string): { line: number; message: string } {
  try {
    parseRecording(text, 'f.jsonl');
  } catch (error) {
    assert.ok(error instanceof RecordingError, String(error));
    return { line: error.line, message: error.message };
  }
  assert.fail(`accepted: ${text}`);
}

describe('recording format', () => {
  it('reads a header and frames; seq is optional, extra fields are ignored, CRLF and blank lines are fine', () => {
    const text = `${HEADER}\r\n{"t":0,"x":0,"y":40,"z":91.65,"seq":1}\r\n\n{"t":33.3,"x":0,"y":-20,"z":97.98,"note":"mine"}\n`;
    const recording = parseRecording(text);
    assert.deepEqual(recording.header, { format: RECORDING_FORMAT, version: 1 });
    assert.deepEqual(recording.frames, [
      { t: 0, x: 0, y: 40, z: 91.65, seq: 1 },
      { t: 33.3, x: 0, y: -20, z: 97.98 },
    ]);
  });

  it('refuses a bad file naming the line and what is wrong', () => {
    const cases: [string, number, RegExp][] = [
      ['', 1, /expected the header/],
      ['{"t":0,"x":0,"y":0,"z":100}\n', 1, /not a gravity-led recording/],
      [
        `{"format":"${RECORDING_FORMAT}","version":2}\n{"t":0,"x":0,"y":0,"z":100}`,
        1,
        /version 2 is not one this client reads \(it reads version 1\)/,
      ],
      [`{"format":"${RECORDING_FORMAT}"}\n{"t":0,"x":0,"y":0,"z":100}`, 1, /version undefined/],
      [HEADER, 0, /no frames after the header line/],
      [`${HEADER}\n\n`, 0, /no frames/],
      [`${HEADER}\n{"t":0,"x":0,"y":0,"z":100}\n0 40 91.6\n`, 3, /line 3: not JSON: "0 40 91.6"/],
      [`${HEADER}\n[1,2,3]`, 2, /expected a JSON object/],
      [`${HEADER}\n{"x":0,"y":0,"z":100}`, 2, /"t" must be a number of milliseconds >= 0/],
      [`${HEADER}\n{"t":-1,"x":0,"y":0,"z":100}`, 2, /"t" must be/],
      [`${HEADER}\n{"t":"5","x":0,"y":0,"z":100}`, 2, /"t" must be/],
      [`${HEADER}\n{"t":5,"x":0,"y":0,"z":100}\n{"t":4,"x":0,"y":0,"z":100}`, 3, /t 4 is before the previous frame's 5/],
      [`${HEADER}\n{"t":0,"x":0,"y":"40","z":100}`, 2, /x, y and z must be numbers/],
      [`${HEADER}\n{"t":0,"x":0,"y":4000,"z":100}`, 2, /y must be within ±1000/],
      [`${HEADER}\n{"t":0,"x":0,"y":1,"z":100,"seq":1.5}`, 2, /seq must be a whole number/],
      [`${HEADER}\n{"t":0,"x":0,"y":1,"z":100,"pad":"${'x'.repeat(2000)}"}`, 2, /longer than 1024 characters/],
    ];
    for (const [text, line, message] of cases) {
      const got = refusal(text);
      assert.equal(got.line, line, `${text.slice(0, 60)}: ${got.message}`);
      assert.match(got.message, message);
      assert.ok(got.message.startsWith(`f.jsonl${line > 0 ? ` line ${line}` : ''}: `), got.message);
    }
  });

  it('refuses a missing file and one too large to be a recording, before reading it', () => {
    assert.throws(() => readRecording(join(dir, 'none.jsonl')), /none\.jsonl: ENOENT/);
    const big = join(dir, 'big.jsonl');
    writeFileSync(big, Buffer.alloc(MAX_RECORDING_BYTES + 1, 0x20));
    assert.throws(() => readRecording(big), /larger than the \d+ bytes a recording may have/);
  });

  it('the client writes what it reads back: header, then frames with times that do not go back', async () => {
    const file = join(dir, 'written.jsonl');
    const writer = new RecordingWriter(file);
    await writer.ready();
    writer.write({ x: 0, y: 40, z: 91.65, seq: 1 });
    writer.write({ x: 0, y: -20.5, z: 97.88, seq: 2 });
    writer.write({ x: 1, y: 2, z: 3 });
    await writer.close();
    const recording = readRecording(file);
    assert.equal(recording.header.source, 'client');
    assert.ok(!Number.isNaN(Date.parse(String(recording.header.recordedAt))));
    assert.deepEqual(
      recording.frames.map(({ t: _t, ...g }) => g),
      [
        { x: 0, y: 40, z: 91.65, seq: 1 },
        { x: 0, y: -20.5, z: 97.88, seq: 2 },
        { x: 1, y: 2, z: 3 },
      ],
    );
    assert.ok(recording.frames.every((f, i) => i === 0 || f.t >= (recording.frames[i - 1] as RecordedFrame).t));
    assert.equal(readFileSync(file, 'utf8').split('\n').length, 5, 'four lines, each ending with a newline');
    assert.equal(frameLine(12.345, { x: 1, y: 2, z: 3, seq: 4 }), '{"t":12.3,"x":1,"y":2,"z":3,"seq":4}');
    assert.match(headerLine('test'), /^\{"format":"gravity-led-recording","version":1,"recordedAt":"[^"]+","source":"test"\}$/);
  });

  it('a file that cannot be written is said at once', async () => {
    const writer = new RecordingWriter(join(dir, 'no-such-folder', 'x.jsonl'));
    await assert.rejects(writer.ready(), /ENOENT/);
  });

  it("the phone page's recording is the same format, and the client reads it", async () => {
    assert.equal(page.RECORDING_FORMAT, RECORDING_FORMAT);
    assert.equal(page.RECORDING_VERSION, RECORDING_VERSION);
    let t = 5000;
    const recorder = new page.Recorder(() => t);
    recorder.start({ source: 'phone-page', sendHz: 30 });
    for (let i = 1; i <= 3; i++) {
      t += 33.33;
      assert.equal(recorder.add({ x: 100 - i, y: i * 10, z: 0, seq: 1000 + i }), true);
    }
    recorder.stop();
    assert.equal(recorder.add({ x: 0, y: 0, z: 0, seq: 1 }), false, 'nothing after Stop');
    const recording = parseRecording(await recorder.blob().text(), 'page.jsonl');
    assert.equal(recording.header.source, 'phone-page');
    assert.deepEqual(recording.frames, [
      { t: 33.3, x: 99, y: 10, z: 0, seq: 1001 },
      { t: 66.7, x: 98, y: 20, z: 0, seq: 1002 },
      { t: 100, x: 97, y: 30, z: 0, seq: 1003 },
    ]);
    assert.equal(page.recordingFileName(new Date(2025, 0, 31, 14, 5, 9)), 'gravity-led-20250131-140509.jsonl');
  });

  it('the page stops recording by itself when full', () => {
    const recorder = new page.Recorder(() => 0);
    recorder.start();
    for (let i = 0; i < page.MAX_RECORDED_FRAMES; i++) recorder.add({ x: 0, y: 0, z: 100, seq: i });
    assert.equal(recorder.add({ x: 0, y: 0, z: 100, seq: 0 }), false);
    assert.equal(recorder.recording, false);
    assert.equal(recorder.frames, page.MAX_RECORDED_FRAMES);
  });
});

describe('replay pacing', () => {
  const frames: RecordedFrame[] = [0, 100, 150, 300].map((t, i) => ({ t: t + 2000, x: 0, y: i, z: 100, seq: i + 1 }));

  it('sends every frame in order, each at its recorded time from the first (the lead-in skipped)', async () => {
    const sent: { seq: number | undefined; at: number }[] = [];
    const start = performance.now();
    const count = await replayFrames(frames, { speed: 1, loop: false }, new AbortController().signal, (f) =>
      sent.push({ seq: f.seq, at: performance.now() - start }),
    );
    assert.equal(count, 4);
    assert.deepEqual(
      sent.map((s) => s.seq),
      [1, 2, 3, 4],
    );
    // Never early: each frame no sooner than its offset (timers only ever fire late).
    for (const [i, offset] of [0, 100, 150, 300].entries()) {
      assert.ok((sent[i]?.at ?? 0) >= offset - 1, `frame ${i + 1} at ${sent[i]?.at} ms, due at ${offset}`);
    }
  });

  it('--speed 4 keeps the order and a quarter of the spacing; --loop starts again until stopped', async () => {
    const sent: number[] = [];
    const start = performance.now();
    await replayFrames(frames, { speed: 4, loop: false }, new AbortController().signal, () => sent.push(performance.now() - start));
    assert.ok((sent[3] ?? 0) >= 75 - 1, `the last frame at ${sent[3]} ms, due at 75`);

    // As fast as asked, but never two frames closer than MIN_SPACING_MS: a burst would lose frames at the gateway.
    const dense: RecordedFrame[] = Array.from({ length: 20 }, (_, i) => ({ t: i * 0.5, x: 0, y: i, z: 100 }));
    const times: number[] = [];
    await replayFrames(dense, { speed: 1000, loop: false }, new AbortController().signal, () => times.push(performance.now()));
    assert.equal(times.length, 20);
    for (let i = 1; i < times.length; i++) {
      const spacing = (times[i] as number) - (times[i - 1] as number);
      assert.ok(spacing >= MIN_SPACING_MS, `frames ${i} and ${i + 1} ${spacing} ms apart`);
    }

    const stop = new AbortController();
    const seqs: (number | undefined)[] = [];
    const count = await replayFrames(frames, { speed: 20, loop: true }, stop.signal, (f) => {
      seqs.push(f.seq);
      if (seqs.length === 10) stop.abort();
    });
    assert.equal(count, 10);
    assert.deepEqual(seqs, [1, 2, 3, 4, 1, 2, 3, 4, 1, 2]);
  });
});
