/**
 * Recording on the phone page: the frames this page sends, with their times, kept in memory and offered as a
 * download (a Blob behind an <a download>). The file is the format `npm run client -- --replay FILE` reads
 * (docs/recording.md; client/src/recording.ts reads and checks it): a header line, then one JSON line per frame.
 * test/unit/protocol-page.test.ts checks that the constants below are the client's.
 */
export const RECORDING_FORMAT = 'gravity-led-recording';
export const RECORDING_VERSION = 1;
/** Frames kept at most, about an hour at 30 a second (some 5 MB); the recording stops by itself there. */
export const MAX_RECORDED_FRAMES = 108_000;

export class Recorder {
  constructor(now = () => performance.now()) {
    this.now = now;
    this.lines = [];
    this.frames = 0;
    this.startedAt = 0;
    this.lastAt = 0;
    this.recording = false;
  }

  start(extraHeader = {}) {
    const header = { format: RECORDING_FORMAT, version: RECORDING_VERSION, recordedAt: new Date().toISOString(), ...extraHeader };
    this.lines = [JSON.stringify(header)];
    this.frames = 0;
    this.startedAt = this.now();
    this.lastAt = this.startedAt;
    this.recording = true;
  }

  /** A frame that was sent; false once the recording is full (it has then stopped). */
  add({ x, y, z, seq }) {
    if (!this.recording) return false;
    if (this.frames >= MAX_RECORDED_FRAMES) {
      this.recording = false;
      return false;
    }
    this.lastAt = this.now();
    this.lines.push(frameLine(this.lastAt - this.startedAt, { x, y, z, seq }));
    this.frames++;
    return true;
  }

  stop() {
    this.recording = false;
  }

  /** Seconds from the start to the last frame. */
  get seconds() {
    return (this.lastAt - this.startedAt) / 1000;
  }

  /** The file: every line ends with a newline. */
  blob() {
    return new Blob([`${this.lines.join('\n')}\n`], { type: 'application/x-ndjson' });
  }
}

/** One frame line: `t` in milliseconds since the recording started (one decimal), then the frame as it was sent. */
export function frameLine(t, { x, y, z, seq }) {
  return JSON.stringify(seq === undefined ? { t: Math.round(t * 10) / 10, x, y, z } : { t: Math.round(t * 10) / 10, x, y, z, seq });
}

/** A file name that sorts by time: gravity-led-20250131-142501.jsonl */
export function recordingFileName(date = new Date()) {
  const p = (n) => String(n).padStart(2, '0');
  const stamp = `${date.getFullYear()}${p(date.getMonth() + 1)}${p(date.getDate())}-${p(date.getHours())}${p(date.getMinutes())}${p(date.getSeconds())}`;
  return `gravity-led-${stamp}.jsonl`;
}

/** The Record button, its note and the download link. */
export function bindRecorder({ button, note, download }, recorder, header) {
  let url = '';
  const showRecording = () => {
    note.textContent = `Recording: ${recorder.frames} frames, ${recorder.seconds.toFixed(1)} s`;
  };
  const finish = () => {
    recorder.stop();
    clearInterval(timer);
    button.textContent = 'Record';
    button.setAttribute('aria-pressed', 'false');
    if (recorder.frames === 0) {
      note.textContent = 'Nothing recorded: press Start first, then Record.';
      return;
    }
    if (url) URL.revokeObjectURL(url);
    url = URL.createObjectURL(recorder.blob());
    download.href = url;
    download.download = recordingFileName();
    download.textContent = `Download recording (${recorder.frames} frames, ${recorder.seconds.toFixed(1)} s)`;
    download.hidden = false;
    note.textContent = 'Replay it with: npm run client -- --replay FILE';
  };
  let timer = 0;
  button.addEventListener('click', () => {
    if (recorder.recording) {
      finish();
      return;
    }
    recorder.start(header());
    download.hidden = true;
    button.textContent = 'Stop recording';
    button.setAttribute('aria-pressed', 'true');
    showRecording();
    timer = setInterval(() => (recorder.recording ? showRecording() : finish()), 500);
  });
  return {
    /** Called with each frame sent. */
    add(frame) {
      recorder.add(frame);
    },
  };
}
