/**
 * The gateway's warm-up rehearsals in this process, as the gateway service runs them, in both its modes:
 * - hosting the broker (gateway/src/warm-up.ts): a private broker (startBroker), a private gateway (startGateway) on
 *   it, an echo led-driver over its TCP port and a phone over WebSocket, in closed loop, in three rounds of their own;
 * - standing alone, the broker another process's (gateway/src/warm-up-standalone.ts): a scripted MQTT peer playing
 *   the broker and the led-driver, a private gateway whose MQTT client connects to it, and the same phone.
 *
 * For each:
 * - it round-trips the asked number of frames, the seed's text and binary frames among them (a frame the gateway
 *   refused would get no state, and the loop would wait for it until its deadline);
 * - with a led-driver (the echo one, or the peer) that stops answering, it stops at its deadline with the frames that
 *   came back;
 * - a stop request ends it at once;
 * - afterwards nothing of it is left: its ports refuse connections, no timer, socket or server remains, and what it
 *   built is garbage (every server and socket it opened is collected).
 *
 * And, standing alone: every frame went through the round's peer, as an MQTT publish of the private gateway's own
 * client logged in with an account drawn for the round; a stop request while the peer is still opening ends it
 * before the private gateway is opened.
 */
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { Server } from 'node:net';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { warmUp, warmUpStandalone } from '@gravity-led/gateway';
import { portAccepts, type ScriptedPeer, type ScriptedPeerOptions, startScriptedPeer, topicsFor, WARMUP_ROUNDS } from '@gravity-led/shared';

const prefix = 'gravity-led';

/**
 * Node's resources keeping the event loop alive (timers, sockets, servers), once pending closes are done: a server's
 * `close` event comes before its handle is released, a destroyed socket's handle goes on the loop's next turns.
 */
async function activeResources(): Promise<string[]> {
  for (let turn = 0; turn < 3; turn++) await new Promise((resolve) => setImmediate(resolve));
  return process.getActiveResourcesInfo().sort();
}

/** What both modes are asked in these tests, `answers` being how many gravity values their led-driver answers. */
interface Run {
  readonly frames: number;
  readonly deadlineMs?: number;
  readonly signal?: AbortSignal;
  readonly answers?: number;
}

interface Result {
  readonly frames: number;
  readonly ms: number;
  readonly outcome: string;
  /** Each round's ports, whatever its parts. */
  readonly ports: readonly Readonly<Record<string, number>>[];
}

const MODES: readonly { readonly name: string; readonly run: (run: Run) => Promise<Result> }[] = [
  {
    name: 'hosting the broker',
    run: ({ answers, ...run }) => warmUp({ ...run, prefix, echoAnswers: answers }),
  },
  {
    name: 'standing alone, against a scripted peer',
    run: ({ answers, ...run }) => warmUpStandalone({ ...run, prefix, peerAnswers: answers }),
  },
];

for (const { name, run } of MODES) {
  describe(`the gateway warm-up rehearsal, ${name}`, () => {
    it('round-trips the asked frames, every wire format among them, and says how long it took', async () => {
      const result = await run({ frames: 300 });
      assert.equal(result.outcome, 'done');
      assert.equal(result.frames, 300);
      assert.ok(result.ms > 0 && result.ms < 5000, `${result.ms} ms`);
      // Three rounds, each its own private parts.
      assert.equal(result.ports.length, WARMUP_ROUNDS);
      const ports = result.ports.flatMap((p) => Object.values(p));
      assert.equal(ports.length, 2 * WARMUP_ROUNDS);
      assert.ok(ports.every((port) => port > 0));
      assert.equal(new Set(ports).size, ports.length);
    });

    it('stops at its deadline when its led-driver stops answering, with the frames that came back', async () => {
      const startedAt = performance.now();
      const result = await run({ frames: 100_000, deadlineMs: 400, answers: 25 });
      const took = performance.now() - startedAt;
      assert.equal(result.outcome, 'deadline');
      assert.equal(result.frames, 25);
      // The deadline, then the closing (each part bounded), not the 5 s of the real deadline.
      assert.ok(took >= 400 && took < 3000, `${took} ms`);
    });

    it('ends at once when a stop is requested', async () => {
      const stop = new AbortController();
      const startedAt = performance.now();
      const running = run({ frames: 100_000, signal: stop.signal });
      setTimeout(() => stop.abort(), 200);
      const result = await running;
      const took = performance.now() - startedAt;
      assert.equal(result.outcome, 'stopped');
      assert.ok(result.frames > 0 && result.frames < 100_000, `${result.frames} frames`);
      assert.ok(took < 2000, `${took} ms`);
      // Asked to stop before it began: nothing is driven, nothing opened.
      const early = new AbortController();
      early.abort();
      const before = await run({ frames: 100, signal: early.signal });
      assert.deepEqual([before.frames, before.outcome, before.ports], [0, 'stopped', []]);
    });

    it('leaves no port, socket, server or timer behind', async () => {
      const before = await activeResources();
      const { ports } = await run({ frames: 200 });
      assert.deepEqual(await activeResources(), before);
      assert.equal(ports.length, WARMUP_ROUNDS);
      for (const round of ports) {
        for (const [part, port] of Object.entries(round)) {
          assert.equal(await portAccepts(port), false, `the private ${part} port ${port} still accepts`);
        }
      }
    });

    it('leaves garbage only: every server and socket it opened is collected', async () => {
      // Each part holds its sockets and servers (the listeners of the broker or peer and of the gateway, the MQTT
      // client's and the phone's connections, both ends): were any part kept (by a listener left on something that
      // lives on, a timer, a module-level cache), what it holds would stay too. Leaking any one of the parts of the
      // hosted mode, checked, keeps one alive.
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
        await run({ frames: 200 });
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
      // Each round: two servers (broker or peer, gateway) and two connections (the led-driver's or the gateway's MQTT
      // client, the phone), both ends.
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
}

describe('the gateway warm-up rehearsal, standing alone: its scripted peer', () => {
  const topics = topicsFor(prefix);

  it('carries every frame: each an MQTT publish of the private gateway, logged in with an account of its round', async () => {
    const peers: { account: ScriptedPeerOptions['account']; subscribed: string[]; published: string[] }[] = [];
    const startPeer = (options: ScriptedPeerOptions): Promise<ScriptedPeer> => {
      const seen = { account: options.account, subscribed: [] as string[], published: [] as string[] };
      peers.push(seen);
      return startScriptedPeer({
        account: options.account,
        script: {
          ...options.script,
          subscribed(filters) {
            seen.subscribed.push(...filters);
            options.script.subscribed?.(filters);
          },
          published(topic, payload) {
            seen.published.push(topic);
            options.script.published?.(topic, payload);
          },
        },
      });
    };
    const result = await warmUpStandalone({ frames: 300, prefix, startPeer });
    assert.deepEqual([result.outcome, result.frames], ['done', 300]);
    assert.equal(peers.length, WARMUP_ROUNDS);
    // A fresh account each round, none of them the real service account's name.
    assert.equal(new Set(peers.map((p) => p.account.username)).size, WARMUP_ROUNDS);
    assert.equal(new Set(peers.map((p) => p.account.password)).size, WARMUP_ROUNDS);
    for (const { subscribed, published } of peers) {
      // The real gateway's subscriptions (mqtt-bridge.ts), its status around the frames, and one gravity value each
      // frame of the round (a third of them): none lost, none coalesced, none sent twice.
      assert.deepEqual(subscribed.sort(), [topics.ledsState, topics.driverStatus, topics.maxClientsSet].sort());
      assert.equal(published.filter((t) => t === topics.gravity).length, 100);
      assert.equal(published[0], topics.gatewayStatus);
      assert.equal(published.at(-1), topics.gatewayStatus);
    }
  });

  it('a stop request while the peer is still opening ends the warm-up before the private gateway is opened', async () => {
    const stop = new AbortController();
    const before = await activeResources();
    let opened: ScriptedPeer | undefined;
    const startPeer = async (options: ScriptedPeerOptions): Promise<ScriptedPeer> => {
      const opening = startScriptedPeer(options);
      stop.abort();
      opened = await opening;
      return opened;
    };
    const startedAt = performance.now();
    const result = await warmUpStandalone({ frames: 100_000, prefix, signal: stop.signal, startPeer });
    assert.ok(performance.now() - startedAt < 500);
    assert.deepEqual([result.outcome, result.frames], ['stopped', 0]);
    assert.ok(opened);
    assert.deepEqual(result.ports, [{ peer: opened.port, gateway: 0 }]);
    assert.deepEqual(await activeResources(), before);
    assert.equal(await portAccepts(opened.port), false);
  });

  it('a peer that refuses the account ends the warm-up with the reason, at once and with everything closed', async () => {
    const before = await activeResources();
    const startPeer = (options: ScriptedPeerOptions): Promise<ScriptedPeer> =>
      startScriptedPeer({ ...options, account: { username: options.account.username, password: 'another' } });
    const startedAt = performance.now();
    const result = await warmUpStandalone({ frames: 300, prefix, startPeer });
    assert.deepEqual([result.outcome, result.frames], ['failed', 0]);
    assert.match(String(result.error?.message), /bad user name or password/);
    assert.ok(performance.now() - startedAt < 2000);
    assert.deepEqual(await activeResources(), before);
  });
});
