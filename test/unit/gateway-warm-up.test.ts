/**
 * The gateway's warm-up rehearsal (gateway/src/warm-up.ts) in this process, as the gateway service runs it: a private
 * broker (startBroker), a private gateway (startGateway) on it, an echo led-driver over its TCP port and a phone over
 * WebSocket, in closed loop, in three rounds of their own.
 *
 * - it round-trips the asked number of frames, the seed's text and binary frames among them (a frame the gateway
 *   refused would get no state, and the loop would wait for it until its deadline);
 * - with an echo led-driver that stops answering, it stops at its deadline with the frames that came back;
 * - a stop request ends it at once;
 * - afterwards nothing of it is left: its ports refuse connections, no timer, socket or server remains, and what it
 *   built is garbage (every server and socket it opened is collected).
 */
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { Server } from 'node:net';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { warmUp } from '@gravity-led/gateway';
import { portAccepts, WARMUP_ROUNDS } from '@gravity-led/shared';

/** Node's resources keeping the event loop alive (timers, sockets, servers), once pending closes are done. */
async function activeResources(): Promise<string[]> {
  await new Promise((resolve) => setImmediate(resolve));
  return process.getActiveResourcesInfo().sort();
}

describe('the gateway warm-up rehearsal', () => {
  const prefix = 'gravity-led';

  it('round-trips the asked frames, every wire format among them, and says how long it took', async () => {
    const result = await warmUp({ frames: 300, prefix });
    assert.equal(result.outcome, 'done');
    assert.equal(result.frames, 300);
    assert.ok(result.ms > 0 && result.ms < 5000, `${result.ms} ms`);
    // Three rounds, each its own private broker and gateway.
    assert.equal(result.ports.length, WARMUP_ROUNDS);
    const ports = result.ports.flatMap((p) => [p.broker, p.gateway]);
    assert.ok(ports.every((port) => port > 0));
    assert.equal(new Set(ports).size, ports.length);
  });

  it('stops at its deadline when the echo led-driver stops answering, with the frames that came back', async () => {
    const startedAt = performance.now();
    const result = await warmUp({ frames: 100_000, prefix, deadlineMs: 400, echoAnswers: 25 });
    const took = performance.now() - startedAt;
    assert.equal(result.outcome, 'deadline');
    assert.equal(result.frames, 25);
    // The deadline, then the closing (each part bounded), not the 5 s of the real deadline.
    assert.ok(took >= 400 && took < 3000, `${took} ms`);
  });

  it('ends at once when a stop is requested', async () => {
    const stop = new AbortController();
    const startedAt = performance.now();
    const running = warmUp({ frames: 100_000, prefix, signal: stop.signal });
    setTimeout(() => stop.abort(), 200);
    const result = await running;
    const took = performance.now() - startedAt;
    assert.equal(result.outcome, 'stopped');
    assert.ok(result.frames > 0 && result.frames < 100_000, `${result.frames} frames`);
    assert.ok(took < 2000, `${took} ms`);
    // Asked to stop before it began: nothing is driven.
    const early = new AbortController();
    early.abort();
    assert.deepEqual((await warmUp({ frames: 100, prefix, signal: early.signal })).frames, 0);
  });

  it('leaves no port, socket, server or timer behind', async () => {
    const before = await activeResources();
    const { ports } = await warmUp({ frames: 200, prefix });
    assert.deepEqual(await activeResources(), before);
    assert.equal(ports.length, WARMUP_ROUNDS);
    for (const { broker, gateway } of ports) {
      assert.equal(await portAccepts(broker), false, `the private broker port ${broker} still accepts`);
      assert.equal(await portAccepts(gateway), false, `the private gateway port ${gateway} still accepts`);
    }
  });

  it('leaves garbage only: every server and socket it opened is collected', async () => {
    // Each part holds its sockets and servers (the brokers' and the gateways' listeners, the MQTT client's and the
    // phone's connections, both ends): were any part kept (by a listener left on something that lives on, a timer, a
    // module-level cache), what it holds would stay too. Leaking any one of the four parts, checked, keeps one alive.
    const held: [string, WeakRef<object>][] = [];
    const onSocket = (kind: string) => (message: unknown) => {
      held.push([kind, new WeakRef((message as { socket: object }).socket)]);
    };
    const client = onSocket('client socket');
    const server = onSocket('server socket');
    const listen = Server.prototype.listen;
    subscribe('net.client.socket', client);
    subscribe('net.server.socket', server);
    Server.prototype.listen = function (this: Server, ...args: unknown[]) {
      held.push(['server', new WeakRef(this)]);
      return (listen as (...a: unknown[]) => Server).apply(this, args);
    } as typeof listen;
    try {
      await warmUp({ frames: 200, prefix });
    } finally {
      Server.prototype.listen = listen;
      unsubscribe('net.client.socket', client);
      unsubscribe('net.server.socket', server);
    }
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    await new Promise((resolve) => setTimeout(resolve, 10));
    gc();
    // Each round: two servers (broker, gateway) and two connections (echo led-driver, phone), both ends.
    const round = ['client socket', 'client socket', 'server', 'server', 'server socket', 'server socket'];
    assert.deepEqual(
      held.map(([kind]) => kind).sort(),
      Array.from({ length: WARMUP_ROUNDS }, () => round)
        .flat()
        .sort(),
    );
    assert.deepEqual(
      held.filter(([, ref]) => ref.deref() !== undefined).map(([kind]) => kind),
      [],
      'still alive after the rehearsal',
    );
  });
});
