/**
 * The broker process with its warm-up on (WARMUP_FRAMES), started as its container starts it: it says how it warmed
 * up before its doors open, then serves as ever (an operator's message reaches a subscriber); a stop signal during
 * the warm-up stops it at once and cleanly; WARMUP_FRAMES=0 rehearses nothing.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { operatorClient } from '../helpers/clients.js';
import { type LogLine, ServiceProcess, START_PATIENCE_MS, TestSystem } from '../helpers/system.js';

const indexOf = (lines: readonly LogLine[], text: string) => lines.findIndex((l) => l.msg.includes(text));

describe('the broker process with WARMUP_FRAMES', () => {
  it('warms up before its doors open, then carries messages as ever', async () => {
    const system = await TestSystem.start({ services: ['broker'], env: { WARMUP_FRAMES: '600' } });
    try {
      const broker = system.service('broker');
      const warmed = broker.lines.find((l) => l.msg.startsWith('warmed up'));
      assert.ok(warmed, broker.raw.join('\n'));
      assert.equal(warmed.frames, 600);
      assert.equal(warmed.msg, `warmed up: 600 frames in ${warmed.ms} ms`);
      assert.ok(indexOf(broker.lines, 'warmed up') < indexOf(broker.lines, 'broker ready'));
      assert.deepEqual(broker.linesAtLeast(40), [], 'no warning');
      const subscriber = await operatorClient(system);
      const publisher = await operatorClient(system);
      try {
        await subscriber.subscribeAsync('gravity-led/#', { qos: 1 });
        const got = new Promise<string>((resolve) => subscriber.on('message', (_t, payload) => resolve(payload.toString())));
        await publisher.publishAsync('gravity-led/gravity', '0 40 91.65', { qos: 1 });
        assert.equal(await got, '0 40 91.65');
      } finally {
        subscriber.end(true);
        publisher.end(true);
      }
    } finally {
      await system.stop();
    }
  });

  it('a stop signal during the warm-up stops the broker at once', async () => {
    const system = await TestSystem.start({ services: [], env: { WARMUP_FRAMES: '100000' } });
    const broker = new ServiceProcess('broker', system.env);
    try {
      await broker.waitForLog('warming up', START_PATIENCE_MS);
      const signalled = Date.now();
      broker.kill('SIGTERM');
      const { code } = await broker.exited(10_000);
      const took = Date.now() - signalled;
      assert.equal(code, 0, broker.raw.join('\n'));
      assert.ok(took < 2000, `stopped ${took} ms after the signal\n${broker.raw.join('\n')}`);
      assert.ok(indexOf(broker.lines, 'warm-up ended early (stopped)') >= 0, broker.raw.join('\n'));
      assert.deepEqual(broker.linesAtLeast(50), [], 'no error');
    } finally {
      broker.kill('SIGKILL');
      await system.stop();
    }
  });

  it('WARMUP_FRAMES=0 rehearses nothing', async () => {
    const system = await TestSystem.start({ services: ['broker'] });
    try {
      assert.deepEqual(
        system.service('broker').lines.filter((l) => /warm/i.test(l.msg)),
        [],
      );
    } finally {
      await system.stop();
    }
  });
});
