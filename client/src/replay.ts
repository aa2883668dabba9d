/**
 * Plays recorded frames back at their recorded pace, or `speed` times faster: each frame is due at its own time from
 * the start on one clock (performance.now()), so that timer delays never add up over a long recording. The first
 * frame goes at once (whatever lead-in the recording has is skipped); the intervals between frames are kept, down to
 * MIN_SPACING_MS.
 */
import { setTimeout as sleep, setImmediate as yieldToEvents } from 'node:timers/promises';
import type { RecordedFrame } from './recording.js';

export interface ReplayPace {
  /** 1 = as recorded, 4 = four times faster, 0.5 = half as fast. */
  readonly speed: number;
  /** Start again after the last frame, until stopped. */
  readonly loop: boolean;
}

/** Below this wait a timer is no use (they keep whole milliseconds): the rest is waited by yielding. */
const MIN_WAIT_MS = 1;
/**
 * Two frames never go closer than this, however fast the replay or late its timer: at most 500 frames a second, half
 * the gateway's default GATEWAY_MAX_RATE, whose rate cap keeps only the newest of frames that come too close. A
 * replay that fell behind (a busy machine) catches up at this pace rather than in a burst that would lose frames.
 */
export const MIN_SPACING_MS = 2;

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
  let lastSentAt = Number.NEGATIVE_INFINITY;
  let start = performance.now();
  do {
    for (const frame of frames) {
      const due = Math.max(start + (frame.t - first.t) / pace.speed, lastSentAt + MIN_SPACING_MS);
      try {
        // Timers keep whole milliseconds and may fire a little early: wait again until the frame is due, the last
        // fraction of a millisecond by yielding to the event loop.
        for (let wait = due - performance.now(); wait > 0; wait = due - performance.now()) {
          if (wait >= MIN_WAIT_MS) await sleep(wait, undefined, { signal });
          else await yieldToEvents(undefined, { signal });
        }
      } catch {
        return sent; // aborted
      }
      if (signal.aborted) return sent;
      send(frame);
      lastSentAt = performance.now();
      sent++;
    }
    start += (last.t - first.t + gap) / pace.speed;
  } while (pace.loop && !signal.aborted);
  return sent;
}
