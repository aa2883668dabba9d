/**
 * The rounds of every start-up warm-up (shared/src/warm-up-rounds.ts), which the broker's, the gateway's two and the
 * led-driver's rehearsals run in: told here in their own terms, with parts that are only names and frames that are
 * only counted, so that each rule is seen apart from any service's sockets.
 *
 * - the frames shared out to WARMUP_ROUNDS rounds, one after the other, each told its share, its index (its pacing)
 *   and where its frames go on; a round without frames left out;
 * - one deadline for them all: the round running ends at once, no further round starts;
 * - a stop request ends it at once, also while a part is still opening; one made before it began opens nothing;
 * - the first error of a part ends it, every part closed, last first; so does a step that throws and a closing that
 *   fails (the other parts closed all the same); what a part reports while its round closes is no failure;
 * - afterwards no timer and no listener of it is left, on the caller's signal or elsewhere; it never rejects.
 */
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import { bounded, inRounds, type Round, type RoundParts, until, WARMUP_ROUNDS, warmUpShare, withParts } from '@gravity-led/shared';
import { sleep, within } from '../helpers/wait.js';

/** Node's resources keeping the event loop alive (timers above all), once pending closes are done. */
async function activeResources(): Promise<string[]> {
  for (let turn = 0; turn < 3; turn++) await new Promise((resolve) => setImmediate(resolve));
  return process.getActiveResourcesInfo().sort();
}

/** The ports of a round in these tests: one number per part, written as the part opens. */
type Ports = { a: number; b: number };
const unopened = (): Ports => ({ a: 0, b: 0 });

/** What the parts of a run did, in order: `open a0` (part a of round 0), `close a0`. */
class Journal {
  readonly entries: string[] = [];

  /** Opens part `name` of `round` into `parts`: written to its ports, its closing journaled (failing, if `fails`). */
  open(parts: RoundParts, round: Round<Ports>, name: keyof Ports, fails?: Error): void {
    this.entries.push(`open ${name}${round.index}`);
    round.ports[name] = 1000 * (round.index + 1) + name.charCodeAt(0);
    parts.opened(async () => {
      await sleep(1);
      this.entries.push(`close ${name}${round.index}`);
      if (fails) throw fails;
    });
  }
}

/** A round that opens parts a and b and drives its frames at once, one a millisecond. */
function drivesAll(journal: Journal) {
  return (round: Round<Ports>) =>
    withParts(round, async (parts) => {
      journal.open(parts, round, 'a');
      journal.open(parts, round, 'b');
      await sleep(round.frames);
      return round.frames;
    });
}

/** A round that opens parts a and b and then drives one frame a millisecond until its signal aborts. */
function drivesUntilEnded(journal: Journal, driven: { frames: number }) {
  return (round: Round<Ports>) =>
    withParts(round, async (parts) => {
      journal.open(parts, round, 'a');
      journal.open(parts, round, 'b');
      let done = 0;
      await until(round.signal, () => {
        const timer = setInterval(() => {
          done++;
          driven.frames++;
        }, 1);
        return () => clearInterval(timer);
      });
      return done;
    });
}

describe('the warm-up rounds', () => {
  it('shares the frames out to its rounds in turn, each told its share, its index and where its frames go on', async () => {
    const before = await activeResources();
    const journal = new Journal();
    const seen: { frames: number; index: number; firstFrame: number }[] = [];
    let running = 0;
    const result = await inRounds({ frames: 10 }, unopened, async (round) => {
      running++;
      assert.equal(running, 1, 'one round at a time');
      seen.push({ frames: round.frames, index: round.index, firstFrame: round.firstFrame });
      const frames = await drivesAll(journal)(round);
      running--;
      return frames;
    });
    assert.deepEqual(
      seen,
      Array.from({ length: WARMUP_ROUNDS }, (_, index) => ({
        frames: warmUpShare(10, index),
        index,
        firstFrame: Array.from({ length: index }, (_, i) => warmUpShare(10, i)).reduce((a, b) => a + b, 0),
      })),
    );
    assert.deepEqual(
      seen.map((r) => r.frames),
      [3, 3, 4],
    );
    assert.equal(result.outcome, 'done');
    assert.equal(result.error, undefined);
    assert.equal(result.frames, 10);
    assert.ok(result.ms >= 10, `${result.ms} ms`);
    // Each round's ports as it wrote them, and each round's parts closed before the next round opened its own.
    assert.deepEqual(result.ports, [
      { a: 1097, b: 1098 },
      { a: 2097, b: 2098 },
      { a: 3097, b: 3098 },
    ]);
    assert.deepEqual(
      journal.entries,
      [0, 1, 2].flatMap((i) => [`open a${i}`, `open b${i}`, `close b${i}`, `close a${i}`]),
    );
    // Its deadline's timer gone with it, though the deadline never came.
    assert.deepEqual(await activeResources(), before);
  });

  it('leaves out a round without frames: fewer frames than rounds, one each', async () => {
    const indexes: number[] = [];
    const result = await inRounds({ frames: WARMUP_ROUNDS - 1 }, unopened, async (round) => {
      indexes.push(round.index);
      assert.equal(round.frames, 1);
      return round.frames;
    });
    assert.equal(indexes.length, WARMUP_ROUNDS - 1);
    assert.deepEqual([result.outcome, result.frames, result.ports.length], ['done', WARMUP_ROUNDS - 1, WARMUP_ROUNDS - 1]);
  });

  it('ends at its one deadline: the round running ends at once with its frames, no further round starts', async () => {
    const before = await activeResources();
    const journal = new Journal();
    const driven = { frames: 0 };
    const startedAt = performance.now();
    const result = await within(
      inRounds({ frames: 100_000, deadlineMs: 150 }, unopened, drivesUntilEnded(journal, driven)),
      3000,
      'the deadline',
    );
    const took = performance.now() - startedAt;
    assert.equal(result.outcome, 'deadline');
    assert.ok(took >= 150 && took < 1000, `${took} ms`);
    assert.ok(result.frames > 0 && result.frames < 100_000, `${result.frames} frames`);
    assert.equal(result.frames, driven.frames, 'every frame driven is counted');
    assert.deepEqual(journal.entries, ['open a0', 'open b0', 'close b0', 'close a0']);
    assert.equal(result.ports.length, 1);
    assert.deepEqual(await activeResources(), before);
  });

  it('a stop request ends it at once and leaves no listener on its signal; one made before it began opens nothing', async () => {
    const before = await activeResources();
    const stop = new AbortController();
    const journal = new Journal();
    const driven = { frames: 0 };
    setTimeout(() => stop.abort(), 100);
    const startedAt = performance.now();
    const result = await inRounds({ frames: 100_000, signal: stop.signal }, unopened, drivesUntilEnded(journal, driven));
    assert.ok(performance.now() - startedAt < 500);
    assert.equal(result.outcome, 'stopped');
    assert.ok(result.frames > 0, `${result.frames} frames`);
    assert.deepEqual(journal.entries, ['open a0', 'open b0', 'close b0', 'close a0']);
    assert.deepEqual(await activeResources(), before);

    // A signal that outlives the warm-up (the service's) keeps no listener of it.
    const lives = new AbortController();
    await inRounds({ frames: 3, signal: lives.signal }, unopened, async (round) => round.frames);
    assert.equal(getEventListeners(lives.signal, 'abort').length, 0);

    let called = false;
    const early = await inRounds({ frames: 100, signal: AbortSignal.abort() }, unopened, async () => {
      called = true;
      return 0;
    });
    assert.equal(called, false, 'no round');
    assert.deepEqual([early.outcome, early.frames, early.ports], ['stopped', 0, []]);
  });

  it('a stop request while a part is still opening is seen as soon as it is open: it is closed, and nothing after it opens', async () => {
    const stop = new AbortController();
    const journal = new Journal();
    const result = await inRounds({ frames: 100_000, signal: stop.signal }, unopened, (round) =>
      withParts(round, async (parts) => {
        // Part a takes a while to open; the stop comes meanwhile.
        setTimeout(() => stop.abort(), 10);
        await sleep(50);
        assert.ok(round.signal.aborted, "the round's signal tells the stop at once");
        journal.open(parts, round, 'a');
        if (round.signal.aborted) return 0;
        journal.open(parts, round, 'b');
        return round.frames;
      }),
    );
    assert.deepEqual([result.outcome, result.frames], ['stopped', 0]);
    assert.deepEqual(result.ports, [{ a: 1097, b: 0 }]);
    assert.deepEqual(journal.entries, ['open a0', 'close a0']);
  });

  it("the first error of a part ends it: every part closed, last first, the round's frames counted, no further round", async () => {
    const before = await activeResources();
    const journal = new Journal();
    let rounds = 0;
    const result = await inRounds({ frames: 300 }, unopened, (round) =>
      withParts(round, async (parts) => {
        rounds++;
        journal.open(parts, round, 'a');
        journal.open(parts, round, 'b');
        if (round.index === 0) return round.frames;
        // In the second round, part b fails after 7 frames, and part a right after it.
        let done = 0;
        await until(round.signal, () => {
          const timer = setInterval(() => {
            if (++done < 7) return;
            parts.fail(new Error('part b broke'));
            parts.fail(new Error('part a broke too'));
          }, 1);
          return () => clearInterval(timer);
        });
        return done;
      }),
    );
    assert.equal(result.outcome, 'failed');
    assert.equal(result.error?.message, 'part b broke');
    assert.equal(result.frames, 100 + 7);
    assert.equal(rounds, 2);
    assert.deepEqual(journal.entries, ['open a0', 'open b0', 'close b0', 'close a0', 'open a1', 'open b1', 'close b1', 'close a1']);
    assert.deepEqual(await activeResources(), before);
  });

  it('a step that throws ends it, the parts opened so far closed, last first; never a rejection', async () => {
    const journal = new Journal();
    const result = await inRounds({ frames: 300 }, unopened, (round) =>
      withParts(round, async (parts) => {
        journal.open(parts, round, 'a');
        if (round.index === 1) throw new Error('part b could not open');
        journal.open(parts, round, 'b');
        return round.frames;
      }),
    );
    assert.deepEqual([result.outcome, result.error?.message, result.frames], ['failed', 'part b could not open', 100]);
    assert.deepEqual(result.ports, [
      { a: 1097, b: 1098 },
      { a: 2097, b: 0 },
    ]);
    assert.deepEqual(journal.entries, ['open a0', 'open b0', 'close b0', 'close a0', 'open a1', 'close a1']);

    // withParts itself never rejects: what failed goes to the round's end, the warm-up's first error.
    const ended: unknown[] = [];
    const round: Round<Ports> = {
      frames: 5,
      index: 0,
      firstFrame: 0,
      ports: unopened(),
      signal: new AbortController().signal,
      end: (why) => ended.push(why),
    };
    const done = await withParts(round, async (parts) => {
      journal.open(parts, round, 'a');
      throw new Error('a step failed');
    });
    assert.equal(done, 0);
    assert.deepEqual(
      ended.map((why) => (why instanceof Error ? why.message : why)),
      ['a step failed'],
    );

    // A round that rejects without withParts, with something that is not an Error: the same.
    const odd = await inRounds({ frames: 3 }, unopened, () => Promise.reject('not an Error'));
    assert.deepEqual([odd.outcome, odd.error?.message], ['failed', 'not an Error']);
  });

  it('a part that fails to close: the others are closed all the same, and the warm-up failed with it, after a deadline too', async () => {
    const journal = new Journal();
    const result = await inRounds({ frames: 300 }, unopened, (round) =>
      withParts(round, async (parts) => {
        journal.open(parts, round, 'a');
        journal.open(parts, round, 'b', new Error('b hangs on'));
        return round.frames;
      }),
    );
    assert.deepEqual([result.outcome, result.error?.message], ['failed', 'closing the warm-up failed: b hangs on']);
    assert.deepEqual(journal.entries, ['open a0', 'open b0', 'close b0', 'close a0']);
    assert.equal(result.frames, 100);

    const late = await inRounds({ frames: 100_000, deadlineMs: 50 }, unopened, (round) =>
      withParts(round, async (parts) => {
        journal.open(parts, round, 'a', new Error('a hangs on'));
        await until(round.signal, () => undefined);
        return 0;
      }),
    );
    assert.deepEqual([late.outcome, late.error?.message], ['failed', 'closing the warm-up failed: a hangs on']);
  });

  it('what a part reports while its round closes is its closing, no failure', async () => {
    const result = await inRounds({ frames: 30 }, unopened, (round) =>
      withParts(round, async (parts) => {
        parts.opened(async () => {});
        // Closed after the part above: its connection to it dropped.
        parts.opened(async () => parts.fail(new Error('the connection to the part closed before was dropped')));
        return round.frames;
      }),
    );
    assert.deepEqual([result.outcome, result.error, result.frames], ['done', undefined, 30]);
  });
});

describe('until and bounded', () => {
  it('until: resolves when ready, or when its signal aborts, and undoes what it registered either way', async () => {
    const undone: string[] = [];
    const ending = new AbortController();
    await until(ending.signal, (ready) => {
      setTimeout(ready, 5);
      return () => undone.push('ready');
    });
    const waiting = until(ending.signal, () => () => undone.push('aborted'));
    setTimeout(() => ending.abort(), 5);
    await waiting;
    assert.deepEqual(undone, ['ready', 'aborted']);
    assert.equal(getEventListeners(ending.signal, 'abort').length, 0);
    // Ready at once: nothing to undo is fine, and what it returns is still undone.
    await until(new AbortController().signal, (ready) => {
      ready();
      return () => undone.push('at once');
    });
    assert.deepEqual(undone, ['ready', 'aborted', 'at once']);
    let registered = false;
    await until(AbortSignal.abort(), () => {
      registered = true;
      return undefined;
    });
    assert.equal(registered, false, 'an aborted signal registers nothing');
  });

  it('bounded: settles with the promise, its timer gone; or after its patience, telling it is late', async () => {
    const before = await activeResources();
    let late = 0;
    await bounded(sleep(5), 10_000, () => late++);
    assert.deepEqual(await activeResources(), before);
    await bounded(Promise.reject(new Error('closing failed')), 10_000, () => late++);
    assert.equal(late, 0);
    const startedAt = performance.now();
    await bounded(new Promise(() => {}), 30, () => late++);
    assert.ok(performance.now() - startedAt >= 29);
    assert.equal(late, 1);
  });
});
