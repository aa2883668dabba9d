/** "Warn once, then count" (shared/src/refusal-log.ts), as the gateway, the broker and the led-driver use it. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RefusalLog } from '@gravity-led/shared';
import { captureLog } from '../helpers/capture-log.js';
import { sleep, waitFor } from '../helpers/wait.js';

const WARN = 40;
const DEBUG = 20;

describe('refusal log', () => {
  it('warns at the first refusal of a kind, then logs each one at debug level with the running count', () => {
    const { log, records } = captureLog();
    const refusals = new RefusalLog(log, { countField: 'refused' });
    for (let i = 0; i < 3; i++) refusals.record('oversized', 'closed a connection', { err: 'too big' });
    refusals.record('other', 'another kind');
    assert.deepEqual(
      records.map((r) => [r.level, r.msg, r.refused, r.err]),
      [
        [WARN, 'closed a connection', 1, 'too big'],
        [DEBUG, 'closed a connection', 2, 'too big'],
        [DEBUG, 'closed a connection', 3, 'too big'],
        [WARN, 'another kind', 1, undefined],
      ],
    );
    assert.deepEqual(
      [...refusals.totals],
      [
        ['oversized', 3],
        ['other', 1],
      ],
    );
  });

  it('with warnEvery, warns again at every n-th refusal', () => {
    const { log, records } = captureLog();
    const refusals = new RefusalLog(log, { countField: 'total', warnEvery: 3 });
    for (let i = 0; i < 7; i++) refusals.record('wrong-token', 'refused');
    assert.deepEqual(
      records.map((r) => r.level),
      [WARN, DEBUG, WARN, DEBUG, DEBUG, WARN, DEBUG],
    );
    assert.deepEqual(
      records.map((r) => r.total),
      [1, 2, 3, 4, 5, 6, 7],
    );
  });

  it('with a summary, logs only the first of each kind, then sums up the repeats of every kind once per interval', async () => {
    const { log, records } = captureLog();
    const refusals = new RefusalLog(log, { summary: { everyMs: 30, message: 'ignored lately' } });
    for (let i = 0; i < 4; i++) refusals.record('a bad-json', 'ignored a payload', { topic: 'a' });
    refusals.record('b bad-shape', 'ignored a payload', { topic: 'b' });
    refusals.record('b bad-shape', 'ignored a payload', { topic: 'b' });
    assert.deepEqual(
      records.map((r) => [r.level, r.msg, r.topic]),
      [
        [WARN, 'ignored a payload (further ones of this kind are counted, not logged)', 'a'],
        [WARN, 'ignored a payload (further ones of this kind are counted, not logged)', 'b'],
      ],
    );
    await waitFor('the summary', () => records.length === 3);
    assert.equal(records[2]?.msg, 'ignored lately');
    assert.deepEqual(records[2]?.ignored, { 'a bad-json': 3, 'b bad-shape': 1 });
    // Nothing new: no empty summary.
    await sleep(60);
    assert.equal(records.length, 3);
    refusals.record('a bad-json', 'ignored a payload', { topic: 'a' });
    refusals.stop();
    await sleep(60);
    assert.equal(records.length, 3, 'stop() drops the pending summary');
    assert.equal(refusals.totals.get('a bad-json'), 5);
  });
});
