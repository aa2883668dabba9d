/**
 * A phone that lags behind (a weak Wi-Fi link, a busy browser) still ends on the newest state. Past MAX_BUFFERED_BYTES
 * waiting toward it, the gateway holds state frames back and keeps only the newest; once the phone catches up, a
 * newer state is sent at once, and the one held back must then be dropped, not sent after it: the phone would end on
 * an old state. The WebSocket door runs in this process (as in test/security/slow-client.test.ts) so that the test
 * can see the server side's bufferedAmount.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MAX_BUFFERED_BYTES } from '@gravity-led/gateway';
import type { LedState } from '@gravity-led/shared';
import { WsClient } from '../helpers/clients.js';
import { type Door, openDoor } from '../helpers/door.js';
import { sleep, waitFor } from '../helpers/wait.js';

describe('a phone that lags behind', () => {
  let door: Door;

  before(async () => {
    door = await openDoor('slow-phone-test-token-0123456789');
  });

  after(() => door.close());

  it('ends on the newest state when a newer one goes out before the one held back', async () => {
    const client = WsClient.connect(door.url);
    await client.opened;
    await client.next('hello');
    const [session] = door.sessions();
    assert.ok(session, 'the door holds the session');
    const raw = (client.socket as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    raw.pause();
    const padding = 'x'.repeat(400);
    const state = (seq: number) => ({ left: 0, right: seq % 100, reason: 'gravity', seq, ts: Date.now(), note: padding }) as LedState;
    // The phone stops reading until the gateway has more than MAX_BUFFERED_BYTES waiting: the next state is held.
    let seq = 0;
    const filledBy = Date.now() + 10_000;
    while (session.socket.bufferedAmount <= MAX_BUFFERED_BYTES) {
      assert.ok(Date.now() < filledBy, 'the socket never filled up');
      for (let i = 0; i < 100; i++) door.server.broadcastState(state(++seq));
      await sleep(1);
    }
    const held = ++seq;
    door.server.broadcastState(state(held));
    // The phone catches up; the moment it has, a newer state arrives and goes out at once.
    raw.resume();
    // Looked at every turn of the event loop, not every 20 ms as waitFor does: the hold timer must not go first.
    const deadline = Date.now() + 10_000;
    while (session.socket.bufferedAmount > MAX_BUFFERED_BYTES) {
      assert.ok(Date.now() < deadline, 'the phone never caught up');
      await new Promise((resolve) => setImmediate(resolve));
    }
    const newest = ++seq;
    door.server.broadcastState(state(newest));
    await waitFor('the newest state', () => client.frames.some((f) => f.seq === newest), 10_000);
    // The hold timer ticks every 50 ms: long enough for a held frame to go out after the newest.
    await sleep(300);
    const last = client.frames.filter((f) => f.type === 'state').at(-1);
    assert.equal(last?.seq, newest, `the phone ended on state ${String(last?.seq)}, not the newest (${newest}); ${held} was held back`);
    client.close();
  });
});
