/**
 * The frame of the gateway's two warm-ups (WARMUP_FRAMES): the hosted one (warm-up.ts, the broker in this process)
 * and the standalone one (warm-up-standalone.ts, the broker another process's). Each rehearses in WARMUP_ROUNDS
 * rounds one after the other, each with private parts of its own (shared/src/warm-up.ts says why), the frames
 * shared out (warmUpShare) and the first round paced (warmUpPauses, WARMUP_PACING); all of it within one deadline
 * (WARMUP_DEADLINE_MS), cut short at once by a stop request, and ended by the first error of a part.
 *
 * What a round opens it closes in reverse order, whatever happens (RoundParts), each part within CLOSE_PATIENCE_MS,
 * so that nothing of a rehearsal is left once it returns: no port, timer, socket or listener.
 */
import { errorMessage, WARMUP_DEADLINE_MS, WARMUP_ROUNDS, warmUpShare } from '@gravity-led/shared';

/** How long each private part may take to close before it is simply dropped. */
export const CLOSE_PATIENCE_MS = 1000;

/** Why the warm-up ended: all frames done, its deadline, or a stop request. An error is thrown instead. */
export type WarmUpOutcome = 'done' | 'deadline' | 'stopped';

/** What a warm-up did; `P` is what ports a round opens (each mode has its own parts). */
export interface RoundsResult<P> {
  /** Frames whose state came back to the phone, all rounds together. */
  readonly frames: number;
  /** From its start until everything it opened was closed. */
  readonly ms: number;
  readonly outcome: WarmUpOutcome;
  /** The ephemeral loopback ports each round used, all closed by now (0 for one it did not get to open). */
  readonly ports: readonly P[];
}

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

/** One round, as a mode's rehearsal is given it. */
export interface Round<P> {
  /** Frames to round-trip in this round. */
  readonly frames: number;
  /** Which round it is, 0-based: its phone paces its frames as warmUpPauses says for it. */
  readonly index: number;
  /** The ports it opens, to be written as they open (0 until then). */
  readonly ports: P;
  /** Aborted when the warm-up ends early (deadline, stop request, a part's error): the round ends at once. */
  readonly signal: AbortSignal;
  /** Ends the whole warm-up: a part failed while the frames ran. */
  readonly end: (why: Ending) => void;
}

/**
 * Runs `rehearse` for each round in turn, `unopened` giving each its ports before it opens any. Resolves once
 * everything is closed, with what was done; rejects (also after closing everything) when a part failed.
 */
export async function inRounds<P>(
  options: RoundsOptions,
  unopened: () => P,
  rehearse: (round: Round<P>) => Promise<number>,
): Promise<RoundsResult<P>> {
  const startedAt = performance.now();
  const ending = new AbortController();
  const end = (why: Ending) => {
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
      // The frames shared out as evenly as whole frames go; a round with none is left out.
      const share = warmUpShare(options.frames, round);
      if (share === 0) continue;
      const used = unopened();
      ports.push(used);
      frames += await rehearse({ frames: share, index: round, ports: used, signal: ending.signal, end });
    }
  } finally {
    clearTimeout(deadline);
    options.signal?.removeEventListener('abort', onStop);
  }
  const why: unknown = ending.signal.reason;
  if (why instanceof Error) throw why;
  const outcome: WarmUpOutcome = frames >= options.frames ? 'done' : why === 'stopped' ? 'stopped' : 'deadline';
  return { frames, ms: Math.round(performance.now() - startedAt), outcome, ports };
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
 * closed before it returns; rejects (after closing) when a step or a closing failed.
 */
export async function withParts(round: Round<unknown>, build: (parts: RoundParts) => Promise<number>): Promise<number> {
  const parts = new RoundParts(round.end);
  let done = 0;
  let failure: Error | undefined;
  try {
    done = await build(parts);
  } catch (error) {
    failure = error instanceof Error ? error : new Error(errorMessage(error));
  } finally {
    const closing = await parts.close();
    failure ??= closing;
  }
  if (failure) throw failure;
  return done;
}

/**
 * Waits until `register`'s `ready` is called or `signal` aborts, whichever first; `register` returns how to undo what
 * it registered (or nothing, when it was ready at once).
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
