/**
 * The broker's warm-up (broker/src/warm-up.ts): frames carried between its two scripted clients through a private
 * broker, one after the other, as many as asked; cut short by its deadline or a stop; and nothing left behind (no
 * listener, socket or timer), since the real broker opens its doors right after it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { warmUpBroker } from '@gravity-led/broker';
import { portAccepts, WARMUP_ROUNDS } from '@gravity-led/shared';

/** What keeps the event loop alive, by kind: TCP servers and sockets, timers. */
const resources = () =>
  process
    .getActiveResourcesInfo()
    .filter((kind) => kind !== 'TTYWrap')
    .sort();

describe('the broker warm-up', () => {
  it('carries the asked number of frames through a private broker, each round trip complete', async () => {
    const result = await warmUpBroker({ frames: 300, prefix: 'gravity-led' });
    assert.equal(result.outcome, 'done', result.error?.message);
    assert.equal(result.frames, 300);
  });

  it('uses the topic prefix it is given, which the private broker permits', async () => {
    const result = await warmUpBroker({ frames: 20, prefix: 'my-leds' });
    assert.deepEqual([result.frames, result.outcome, result.error], [20, 'done', undefined]);
  });

  it('leaves no listener, socket or timer behind', async () => {
    // Closed handles leave the list on the next turn of the loop (an earlier test's too).
    await new Promise((resolve) => setImmediate(resolve));
    const before = resources();
    const { ports } = await warmUpBroker({ frames: 50, prefix: 'gravity-led' });
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(resources(), before);
    // A private broker a round, each on a port of its own, none of them open any more.
    assert.equal(ports.length, WARMUP_ROUNDS);
    assert.equal(new Set(ports.map((p) => p.broker)).size, WARMUP_ROUNDS);
    for (const { broker } of ports) {
      assert.ok(broker > 0);
      assert.equal(await portAccepts(broker), false, `the private broker's port ${broker} still accepts`);
    }
  });

  it('ends at its deadline with the frames done so far', async () => {
    const result = await warmUpBroker({ frames: 100_000, prefix: 'gravity-led', deadlineMs: 200 });
    assert.equal(result.outcome, 'deadline');
    assert.ok(result.frames > 0 && result.frames < 100_000, String(result.frames));
  });

  it('ends at once when a stop is asked for while its private broker is still opening', async () => {
    const stop = new AbortController();
    const warming = warmUpBroker({ frames: 100_000, prefix: 'gravity-led', signal: stop.signal });
    stop.abort();
    const result = await warming;
    assert.deepEqual([result.frames, result.outcome], [0, 'stopped']);
  });

  it('ends at once when a stop is asked for, and does not start when one already was', async () => {
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 100);
    const result = await warmUpBroker({ frames: 100_000, prefix: 'gravity-led', signal: stop.signal });
    assert.equal(result.outcome, 'stopped');
    assert.ok(result.ms < 1000, `${result.ms} ms`);
    assert.deepEqual(await warmUpBroker({ frames: 10, prefix: 'gravity-led', signal: stop.signal }), {
      frames: 0,
      ms: 0,
      ports: [],
      outcome: 'stopped',
    });
  });
});
