/**
 * The frame of every start-up warm-up (WARMUP_FRAMES), written once for all of them: the broker's
 * (broker/src/warm-up.ts), the gateway's two (gateway/src/warm-up.ts, the broker in its process; warm-up-standalone.ts,
 * the broker another process's) and the led-driver's (led-driver/src/warm-up.ts). Each rehearses in WARMUP_ROUNDS
 * rounds one after the other, each with private parts of its own (warm-up.ts says why), the frames shared out
 * (warmUpShare) and the first round paced (warmUpPauses, WARMUP_PACING); all of it within one deadline
 * (WARMUP_DEADLINE_MS), cut short at once by a stop request, and ended by the first error of a part. What a round
 * opens and how it drives its frames is each service's own; when rounds run, when they end and how what they opened
 * is closed is here, so that the three services cannot come to differ on it.
 *
 * What a round opens it closes in reverse order, whatever happens (RoundParts), so that nothing of a rehearsal is left
 * once it returns: no port, timer, socket or listener; a part that may hang on closing is bounded (CLOSE_PATIENCE_MS).
 */
import { errorMessage } from './errors.js';
import { WARMUP_DEADLINE_MS, WARMUP_ROUNDS, warmUpShare } from './warm-up.js';

/** How long each private part may take to close before it is simply dropped. */
export const CLOSE_PATIENCE_MS = 1000;

/** Why the warm-up ended: all frames done, its deadline, a stop request, or the first error of one of its parts. */
export type WarmUpOutcome = 'done' | 'deadline' | 'stopped' | 'failed';

/** What a warm-up did; `P` is what ports a round opens (each rehearsal has its own parts). */
export type RoundsResult<P> = {
  /** Frames whose state came back, all rounds together. */
  readonly frames: number;
  /** From its start until everything it opened was closed. */
  readonly ms: number;
  /** The ephemeral loopback ports each round used, all closed by now (0 for one it did not get to open). */
  readonly ports: readonly P[];
} & (
  | { readonly outcome: Exclude<WarmUpOutcome, 'failed'>; readonly error?: undefined }
  | {
      readonly outcome: 'failed';
      /** The first thing that failed: a step of a round, a part while the frames ran, or a closing. */
      readonly error: Error;
    }
);

/** The reason a rehearsal ends early: its deadline, a stop request, or an error of one of its parts. */
export type Ending = 'deadline' | 'stopped' | Error;

export interface RoundsOptions {
  /** Frames to round-trip (WARMUP_FRAMES), shared out to the rounds. */
  readonly frames: number;
  /** WARMUP_DEADLINE_MS unless given (tests). */
  readonly deadlineMs?: number;
  /** Ends the warm-up early: the service is asked to stop while it runs. */
  readonly signal?: AbortSignal;
}

/** One round, as a rehearsal is given it. */
export interface Round<P> {
  /** Frames to round-trip in this round. */
  readonly frames: number;
  /** Which round it is, 0-based: its first frames are paced as warmUpPauses says for it. */
  readonly index: number;
  /** The frames the rounds before it round-tripped: where a rehearsal that numbers its frames throughout goes on. */
  readonly firstFrame: number;
  /** The ports it opens, to be written as they open (0 until then). */
  readonly ports: P;
  /** Aborted when the warm-up ends early (deadline, stop request, a part's error): the round ends at once. */
  readonly signal: AbortSignal;
  /**
   * Ends the whole warm-up: a part failed while the frames ran. An error is the warm-up's outcome even when it comes
   * after the deadline or a stop (a closing that failed), unless an error came before it: the first one is.
   */
  readonly end: (why: Ending) => void;
}

/**
 * Runs `rehearse` for each round in turn, `unopened` giving each its ports before it opens any. Resolves once
 * everything is closed, with what was done and why it ended; never rejects: a round that rejects ends the warm-up as
 * a part's error does, with outcome 'failed'.
 */
export async function inRounds<P>(
  options: RoundsOptions,
  unopened: () => P,
  rehearse: (round: Round<P>) => Promise<number>,
): Promise<RoundsResult<P>> {
  const startedAt = performance.now();
  const ending = new AbortController();
  let failure: Error | undefined;
  const end = (why: Ending) => {
    if (why instanceof Error) failure ??= why;
    if (!ending.signal.aborted) ending.abort(why);
  };
  const deadline = setTimeout(() => end('deadline'), options.deadlineMs ?? WARMUP_DEADLINE_MS);
  const onStop = () => end('stopped');
  if (options.signal?.aborted) end('stopped');
  options.signal?.addEventListener('abort', onStop, { once: true });
  const ports: P[] = [];
  let frames = 0;
  try {
    for (let round = 0; round < WARMUP_ROUNDS && !ending.signal.aborted; round++) {
      // The frames shared out as evenly as whole frames go; a round with none (fewer frames than rounds) is left out.
      const share = warmUpShare(options.frames, round);
      if (share === 0) continue;
      const used = unopened();
      ports.push(used);
      frames += await rehearse({ frames: share, index: round, firstFrame: frames, ports: used, signal: ending.signal, end });
    }
  } catch (error) {
    end(asError(error));
  } finally {
    clearTimeout(deadline);
    options.signal?.removeEventListener('abort', onStop);
  }
  const ms = Math.round(performance.now() - startedAt);
  if (failure) return { frames, ms, ports, outcome: 'failed', error: failure };
  const why: unknown = ending.signal.reason;
  return { frames, ms, ports, outcome: frames >= options.frames ? 'done' : why === 'stopped' ? 'stopped' : 'deadline' };
}

/** What a round opened, to be closed in reverse order whatever happens. */
export class RoundParts {
  private readonly closers: (() => Promise<unknown>)[] = [];
  private closing = false;

  constructor(private readonly end: (why: Ending) => void) {}

  /** A part is open: `close` closes it. */
  opened(close: () => Promise<unknown>): void {
    this.closers.push(close);
  }

  /**
   * A part failed while the frames ran: the warm-up ends. From when the round closes, what its parts report is their
   * closing (a connection dropped by the part closed before it, a PUBACK owed for a message published as the phone
   * left), not a failure.
   */
  readonly fail = (error: Error): void => {
    if (!this.closing) this.end(error);
  };

  /** Closes everything opened, last first; the first part that failed to close, if one did. */
  async close(): Promise<Error | undefined> {
    this.closing = true;
    let failure: Error | undefined;
    for (const close of this.closers.reverse()) {
      try {
        await close();
      } catch (error) {
        failure ??= new Error(`closing the warm-up failed: ${errorMessage(error)}`);
      }
    }
    this.closers.length = 0;
    return failure;
  }
}

/**
 * A round's body, `build` opening its parts into a RoundParts and resolving with the frames it drove: every part
 * closed before it returns, with those frames. Never rejects: a step that throws (no frames then) or a closing that
 * fails ends the warm-up as a part's error does (round.end).
 */
export async function withParts(round: Round<unknown>, build: (parts: RoundParts) => Promise<number>): Promise<number> {
  const parts = new RoundParts(round.end);
  let done = 0;
  try {
    done = await build(parts);
  } catch (error) {
    round.end(asError(error));
  } finally {
    const closing = await parts.close();
    if (closing) round.end(closing);
  }
  return done;
}

/**
 * Waits until `register`'s `ready` is called or `signal` aborts, whichever first; `register` returns how to undo what
 * it registered (or nothing, when it was ready at once or has nothing to undo).
 */
export function until(signal: AbortSignal, register: (ready: () => void) => (() => void) | undefined): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    let undo: (() => void) | undefined;
    let settled = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', finish);
      undo?.();
      resolve();
    };
    signal.addEventListener('abort', finish, { once: true });
    undo = register(finish);
    if (settled) undo?.();
  });
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(errorMessage(error));
}

/** A promise that settles within `ms` whatever `promise` does: a part that does not close in time is left to GC. */
export function bounded(promise: Promise<unknown>, ms: number, onLate: () => void = () => {}): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      onLate();
      resolve();
    }, ms);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    promise.then(done, done);
  });
}
