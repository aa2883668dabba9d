/**
 * The gateway's rate cap (shared/src/latest-value-throttle.ts): a token bucket without a queue. A bunch of frames
 * that arrives together passes whole while it is within the burst; beyond it the newest wins; over time the cap holds.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { burstFor, LatestValueThrottle, MAX_BURST } from '@gravity-led/shared';
import { sleep, waitFor } from '../helpers/wait.js';

function throttle(intervalMs: number, burst?: number) {
  const out: number[] = [];
  const t = new LatestValueThrottle<number>(intervalMs, (v) => out.push(v), burst);
  return { t, out };
}

describe('rate cap', () => {
  it('a bunch within the burst passes at once, in order: nothing dropped', () => {
    const { t, out } = throttle(10, 5);
    for (let i = 1; i <= 5; i++) t.push(i);
    assert.deepEqual(out, [1, 2, 3, 4, 5]);
    assert.equal(t.dropped, 0);
    t.cancel();
  });

  it('beyond the burst the newest waits for the next token, replacing the ones before it', async () => {
    const { t, out } = throttle(30, 3);
    for (let i = 1; i <= 10; i++) t.push(i);
    assert.deepEqual(out, [1, 2, 3], 'the burst at once');
    assert.equal(t.dropped, 6, '4..9 replaced, 10 waits');
    await waitFor('the newest at the next token', () => out.length === 4);
    assert.deepEqual(out, [1, 2, 3, 10]);
    await sleep(100);
    assert.deepEqual(out, [1, 2, 3, 10], 'no backlog follows');
  });

  it('with a burst of 1, a value too soon waits and the newest wins (the cap as a minimum interval)', async () => {
    const { t, out } = throttle(40);
    t.push(1);
    t.push(2);
    t.push(3);
    assert.deepEqual(out, [1]);
    await waitFor('the newest', () => out.length === 2);
    assert.deepEqual(out, [1, 3]);
    assert.equal(t.dropped, 1);
  });

  it('over time never more than the burst and one per interval, however fast the pushes', async () => {
    const interval = 5;
    const burst = 4;
    const { t, out } = throttle(interval, burst);
    const start = performance.now();
    while (performance.now() - start < 200) {
      t.push(out.length);
      await new Promise((resolve) => setImmediate(resolve));
    }
    const elapsed = performance.now() - start;
    t.cancel();
    assert.ok(out.length <= burst + Math.ceil(elapsed / interval) + 1, `${out.length} values in ${elapsed} ms`);
    assert.ok(t.dropped > 0);
  });

  it('refills to the burst after a pause, not beyond it', async () => {
    const { t, out } = throttle(5, 3);
    for (let i = 0; i < 3; i++) t.push(i);
    await sleep(100); // twenty intervals: the bucket is full again, at 3
    for (let i = 10; i < 20; i++) t.push(i);
    assert.deepEqual(out, [0, 1, 2, 10, 11, 12]);
    t.cancel();
  });

  it('cancel forgets the waiting value', async () => {
    const { t, out } = throttle(20, 1);
    t.push(1);
    t.push(2);
    t.cancel();
    await sleep(60);
    assert.deepEqual(out, [1]);
  });

  it('the burst is a tenth of a second of the cap, at least one and at most MAX_BURST', () => {
    assert.equal(burstFor(1000), 100);
    assert.equal(burstFor(100_000), MAX_BURST);
    assert.equal(MAX_BURST, 100);
    assert.equal(burstFor(20), 2);
    assert.equal(burstFor(5), 1);
    assert.equal(burstFor(1), 1);
  });
});
