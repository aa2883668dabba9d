/**
 * The gateway's connection ids (`conn` in every log line of a connection): each WebSocket door (ControllerServer)
 * numbers its own connections from 1. A process runs several doors: the warm-up's private gateways, each with one,
 * before the real one opens; were the count the process's, the first real phone of a warmed-up gateway would be
 * logged as `conn: 4` and an operator would look for the three before it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { warmUpStandalone } from '@gravity-led/gateway';
import { captureLog } from '../helpers/capture-log.js';
import { WsClient } from '../helpers/clients.js';
import { type Door, openDoor } from '../helpers/door.js';
import { waitFor } from '../helpers/wait.js';

const TOKEN = 'connection-ids-test-token-0123456789';

/** A door that logs, and the `conn` of each connection it opened, in order. */
async function loggingDoor(): Promise<{ door: Door; conns: () => unknown[] }> {
  const { log, records } = captureLog();
  const door = await openDoor(TOKEN, log);
  return { door, conns: () => records.filter((r) => r.msg === 'connection opened').map((r) => r.conn) };
}

/** Connects to `door`, waits for its hello, and leaves. */
async function visit(door: Door): Promise<void> {
  const client = WsClient.connect(door.url);
  try {
    await client.opened;
    await client.next('hello');
  } finally {
    client.close();
  }
  // One controller place: the next visitor waits for this one to be gone.
  await waitFor('the place free', () => door.server.controllerCount === 0, 10_000);
}

describe('connection ids', () => {
  it('each door numbers its own connections from 1, whatever other doors of the process did', async () => {
    const first = await loggingDoor();
    const second = await loggingDoor();
    try {
      await visit(first.door);
      await visit(first.door);
      await visit(second.door);
      await visit(first.door);
      assert.deepEqual(first.conns(), [1, 2, 3]);
      assert.deepEqual(second.conns(), [1]);
    } finally {
      await first.door.close();
      await second.door.close();
    }
  });

  it("after the warm-up's private gateways, the real gateway's first phone is conn 1", async () => {
    const warmed = await warmUpStandalone({ frames: 30, prefix: 'gravity-led' });
    assert.equal(warmed.outcome, 'done');
    const real = await loggingDoor();
    try {
      await visit(real.door);
      assert.deepEqual(real.conns(), [1]);
    } finally {
      await real.door.close();
    }
  });
});
