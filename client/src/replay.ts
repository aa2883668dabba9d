/**
 * Plays recorded frames back at their recorded pace, or `speed` times faster: each frame is due at its own time from
 * the start on one clock (performance.now()), so that timer delays never add up over a long recording. The first
 * frame goes at once (whatever lead-in the recording has is skipped); the intervals between frames are kept.
 */
import { setTimeout as sleep, setImmediate as yieldToEvents } from 'node:timers/promises';
import type { RecordedFrame } from './recording.js';

export interface ReplayPace {
  /** 1 = as recorded, 4 = four times faster, 0.5 = half as fast. */
  readonly speed: number;
  /** Start again after the last frame, until stopped. */
  readonly loop: boolean;
}

/** Below this wait a frame is sent at once: timers are not finer, and a fast replay must not crawl. */
const MIN_WAIT_MS = 1;
/** A fast replay sends many frames in a row; every so many it lets sockets write and signals arrive. */
const YIELD_EVERY = 64;

/** Sends every frame in turn; resolves with how many were sent, when done or when `signal` aborts. */
export async function replayFrames(
  frames: readonly RecordedFrame[],
  pace: ReplayPace,
  signal: AbortSignal,
  send: (frame: RecordedFrame) => void,
): Promise<number> {
  const first = frames[0];
  const last = frames.at(-1);
  if (!first || !last) return 0;
  // Between two loops, the recording's average interval, so that the first frame does not land on the last.
  const gap = frames.length > 1 ? (last.t - first.t) / (frames.length - 1) : 0;
  let sent = 0;
  let start = performance.now();
  do {
    for (const [i, frame] of frames.entries()) {
      const due = start + (frame.t - first.t) / pace.speed;
      try {
        if (due - performance.now() < MIN_WAIT_MS && i % YIELD_EVERY === YIELD_EVERY - 1) await yieldToEvents(undefined, { signal });
        // Timers keep whole milliseconds and may fire a little early: wait again until the frame is due.
        for (let wait = due - performance.now(); wait >= MIN_WAIT_MS; wait = due - performance.now()) {
          await sleep(wait, undefined, { signal });
        }
      } catch {
        return sent; // aborted
      }
      if (signal.aborted) return sent;
      send(frame);
      sent++;
    }
    start += (last.t - first.t + gap) / pace.speed;
  } while (pace.loop && !signal.aborted);
  return sent;
}
