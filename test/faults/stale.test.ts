/**
 * The driver's own clock: when no fresh gravity value arrives for FAILSAFE_TIMEOUT_MS, both LEDs go off, whether
 * the phone went quiet or the path to the driver silently stalled (a frozen broker sends no message at all).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WsClient } from '../helpers/clients.js';
import { bothOff, light, PATIENCE_MS, pins } from '../helpers/faults.js';
import { TestSystem } from '../helpers/system.js';

describe('a stale stream: LEDs off after FAILSAFE_TIMEOUT_MS, control resumes', () => {
  let system: TestSystem;

  before(async () => {
    system = await TestSystem.start({ env: { FAILSAFE_TIMEOUT_MS: '300' } });
  });

  after(async () => {
    await system?.stop();
  });

  it('the controller stops sending: both off (`stale`), and the phone is told why; sending again drives again', async () => {
    const client = await WsClient.controller(system);
    await light(client, 55);
    const from = client.frames.length;
    // Silence: the connection stays open, nothing more is sent.
    const off = await client.next('state', bothOff, PATIENCE_MS, from);
    assert.equal(off.reason, 'stale');
    await pins(system, 'off', bothOff);

    await light(client, -20);
    await pins(system, 'left = 20', (p) => p.left === 20);
    client.close();
    await client.closed();
  });

  it('the broker freezes (SIGSTOP) while the phone keeps sending: off by the driver’s own timer; after SIGCONT the phone drives again', async () => {
    const broker = system.service('broker');
    const driver = system.service('led-driver');
    const client = await WsClient.controller(system);
    let y = 10;
    // A phone streams continuously; its values pile up in front of the frozen broker and reach nobody.
    const stream = setInterval(() => {
      y = y >= 60 ? 10 : y + 1;
      client.send(`0 ${y} 90`);
    }, 20);
    try {
      await pins(system, 'lit', (p) => p.right > 0);
      const mark = driver.mark;
      broker.kill('SIGSTOP');
      try {
        const failsafe = await driver.waitForLog('LEDs off (fail-safe)', PATIENCE_MS, mark);
        assert.equal(failsafe.reason, 'stale');
        await pins(system, 'off', bothOff);
      } finally {
        broker.kill('SIGCONT');
      }
      // Whether the connections survived the freeze or were re-established, the stream lights the LEDs again.
      await pins(system, 'lit again', (p) => p.right > 0);
      await client.next('state', (f) => Number(f.right) > 0 && f.reason === 'gravity', PATIENCE_MS, client.frames.length);
    } finally {
      clearInterval(stream);
    }
    client.close();
    await client.closed();
  });
});
