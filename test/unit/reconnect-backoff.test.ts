/** The services' MQTT connection keeps trying an absent broker, waiting longer after each failed attempt. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connectService, disconnectService, nextReconnectDelay, RECONNECT_MAX_MS, RECONNECT_MIN_MS } from '@gravity-led/shared';
import { freePort } from '../helpers/ports.js';
import { sleep } from '../helpers/wait.js';

describe('reconnection backoff', () => {
  it('doubles the wait from 250 ms up to 5 s', () => {
    const waits = [RECONNECT_MIN_MS];
    while (waits.length < 8) waits.push(nextReconnectDelay(waits.at(-1) ?? 0));
    assert.deepEqual(waits, [250, 500, 1000, 2000, 4000, 5000, 5000, 5000]);
    assert.equal(nextReconnectDelay(RECONNECT_MAX_MS), RECONNECT_MAX_MS);
  });

  it('keeps trying an absent broker, but backs off, and stops for good once disconnected on purpose', async () => {
    const port = await freePort();
    const client = connectService({
      url: `mqtt://127.0.0.1:${port}`,
      account: { username: 'nobody', password: 'not-a-password' },
      service: 'backoff-test',
      statusTopic: 'test/status',
    });
    client.on('error', () => {});
    let attempts = 0;
    client.on('reconnect', () => attempts++);
    await sleep(2500);
    // Waits of 250, 500, 1000 ms fit 3 attempts into 2.5 s; a fixed 250 ms period would have made about 10.
    // Only an upper bound: a slow machine makes fewer attempts, never more.
    assert.ok(attempts >= 1, 'it tried again');
    assert.ok(attempts <= 4, `it backed off (${attempts} attempts in 2.5 s)`);
    await disconnectService(client, 'test/status');
    const before = attempts;
    await sleep(1500);
    assert.equal(attempts, before, 'no attempt after a deliberate disconnect');
  });
});
