/**
 * A client that stops reading must not make the gateway queue state, availability or stats frames without bound. The WebSocket door is run
 * in this process (a real HTTP server, real sockets, a real `ws` client whose socket is paused), so the test can read
 * the server side's bufferedAmount; the MQTT side is not needed: states are handed to the door as the bridge would.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MAX_BUFFERED_BYTES } from '@gravity-led/gateway';
import type { LedState } from '@gravity-led/shared';
import { WsClient } from '../helpers/clients.js';
import { type Door, openDoor } from '../helpers/door.js';
import { sleep, waitFor } from '../helpers/wait.js';

describe('a slow client', () => {
  let door: Door;

  before(async () => {
    door = await openDoor('slow-client-test-token-0123456789');
  });

  after(() => door.close());

  /** A connected client that has stopped reading, and the server side's session of it. */
  async function stalledClient() {
    // One place (maxClients 1): the previous test's client must have gone.
    await waitFor('the place free', () => door.server.controllerCount === 0, 10_000);
    const client = WsClient.connect(door.url);
    await client.opened;
    await client.next('hello');
    const [session] = door.sessions();
    assert.ok(session, 'the door holds the session');
    // The client stops reading: the kernel's buffers fill, then whatever the gateway keeps sending waits in memory.
    const raw = (client.socket as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    raw.pause();
    return { client, session, raw };
  }

  /** Offers `count` times what `offer` sends, and checks that the server side kept at most about MAX_BUFFERED_BYTES waiting. */
  async function offerWhileStalled(session: { socket: { bufferedAmount: number } }, count: number, offer: (i: number) => void) {
    let highest = 0;
    for (let i = 1; i <= count; i++) {
      offer(i);
      if (i % 1000 === 0) {
        highest = Math.max(highest, session.socket.bufferedAmount);
        // Let the socket move what it can to the kernel, as it would between MQTT messages.
        await sleep(1);
      }
    }
    assert.ok(highest > 0, 'the client never fell behind: the test did not test anything');
    assert.ok(highest <= MAX_BUFFERED_BYTES + 1024, `bufferedAmount reached ${highest} bytes`);
  }

  it('gets at most about MAX_BUFFERED_BYTES queued, then the newest state once it reads again', async () => {
    const { client, session, raw } = await stalledClient();

    const padding = 'x'.repeat(400);
    const total = 100_000;
    // 100,000 frames of ~500 bytes is ~50 MB offered; the kernel takes a few MB, the gateway holds back the rest.
    await offerWhileStalled(session, total, (i) =>
      door.server.broadcastState({ left: 0, right: i % 100, reason: 'gravity', seq: i, ts: Date.now(), note: padding } as LedState),
    );

    raw.resume();
    await waitFor('the newest state', () => client.frames.at(-1)?.seq === total, 30_000);
    const received = client.frames.filter((f) => f.type === 'state').length;
    assert.ok(received < total, `all ${received} frames were queued for the slow client`);
    client.close();
  });

  it('the live figures and the link pings queue no more for a client that never reads', async () => {
    const { client, session, raw } = await stalledClient();
    const spread = { p50: 1.5, max: 9.9, samples: 150 };
    await offerWhileStalled(session, 100_000, (i) => {
      door.server.broadcastStats({ type: 'stats', window: 5, received: i, ledUpdates: 30, roundTrip: spread, link: spread });
      door.server.probeLinks(() => {});
    });
    raw.resume();
    await waitFor('the stats it was sent', () => client.frames.some((f) => f.type === 'stats'), 30_000);
    assert.ok(client.frames.filter((f) => f.type === 'stats').length < 100_000, 'every stats frame was queued');
    client.close();
  });

  it('gets availability frames the same way: at most about MAX_BUFFERED_BYTES queued, then the newest once it reads', async () => {
    const { client, session, raw } = await stalledClient();
    // The broker flapping, or the led-driver going on and offline, as fast as it can: each a frame owed to every
    // client. 400,000 of some 55 bytes is 22 MB offered, past what the kernel takes.
    const total = 400_000;
    await offerWhileStalled(session, total, (i) => door.server.broadcastAvailability(i % 2 === 0));
    raw.resume();
    // The last one offered (total is even) says available.
    await waitFor('the newest availability', () => client.frames.at(-1)?.type === 'available', 30_000);
    await sleep(200);
    assert.equal(client.frames.at(-1)?.type, 'available');
    const received = client.frames.filter((f) => f.type === 'available' || f.type === 'unavailable').length;
    assert.ok(received < total, `all ${received} availability frames were queued for the slow client`);
    client.close();
  });
});
