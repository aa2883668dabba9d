/**
 * The led-driver's warm-up (led-driver/src/warm-up.ts) in this process: a private driver, the real startLedDriver on
 * private simulated LEDs, driven over loopback TCP by the scripted peer playing the gateway. It round-trips the frames
 * it is asked for, ends at its deadline when the peer stops driving, serves one client only, ends with a warning (and
 * never an exception) when the peer refuses the driver, stops at once when the service is asked to stop, and leaves
 * nothing behind: no socket, no timer, no listener, and the private driver garbage.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  dutyFromGravity,
  type LedDriverOptions,
  rehearsalGravity,
  ShapedBackend,
  SimBackend,
  sameDuty,
  startLedDriver,
  type WarmUpOptions,
  warmUp,
} from '@gravity-led/led-driver';
import {
  decodeLedState,
  type PeerScript,
  parseGravityPayload,
  type ScriptedPeer,
  type ScriptedPeerOptions,
  startScriptedPeer,
  topicsFor,
  WARMUP_DEADLINE_MS,
  WARMUP_ROUNDS,
} from '@gravity-led/shared';
import { captureLog } from '../helpers/capture-log.js';
import { sleep, waitFor } from '../helpers/wait.js';

const topics = topicsFor('gravity-led');

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function options(overrides: Partial<WarmUpOptions> = {}): WarmUpOptions & { records: ReturnType<typeof captureLog>['records'] } {
  const { log, records } = captureLog();
  return { frames: 300, topics, shape: { gamma: 1, deadband: 0 }, failsafeTimeoutMs: 1000, log, records, ...overrides };
}

/** A peer as the warm-up starts it, with `wrap` put around the warm-up's script (to watch it, or to break it). */
function wrappedPeer(
  wrap: (script: PeerScript, peer: () => ScriptedPeer | undefined) => PeerScript,
  change: (options: ScriptedPeerOptions) => ScriptedPeerOptions = (o) => o,
  started: (peer: ScriptedPeer) => void = () => {},
): (options: ScriptedPeerOptions) => Promise<ScriptedPeer> {
  return async (peerOptions) => {
    let peer: ScriptedPeer | undefined;
    const changed = change(peerOptions);
    peer = await startScriptedPeer({ ...changed, script: wrap(changed.script, () => peer) });
    started(peer);
    return peer;
  };
}

/** What connecting to `port` gives now: 'connected', or the error code. */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

/** The process's handles and requests (sockets, servers, timers), by kind. */
function resources(): string[] {
  return process.getActiveResourcesInfo().sort();
}

/** The resources once whatever an earlier test closed has been released. */
async function baseline(): Promise<string[]> {
  await sleep(20);
  return resources();
}

/**
 * Waits until the process has the resources it had `before`: a socket closed on both ends is released by Node a
 * moment later (its handle's close callback), while anything left running (a timer of the driver, a reconnection
 * loop) would still be there after this short while.
 */
async function settlesBack(before: string[]): Promise<void> {
  const deadline = Date.now() + 300;
  while (JSON.stringify(resources()) !== JSON.stringify(before) && Date.now() < deadline) await sleep(5);
  assert.deepEqual(resources(), before, 'everything the warm-up opened is closed');
}

describe('the led-driver warm-up', () => {
  it('every rehearsal frame is the gateway JSON payload and changes the duty, tilting right and left in turn', () => {
    const generation = { run: 'abcd1234', gen: 1 };
    let previous = dutyFromGravity({ y: 0 });
    for (let seq = 0; seq < 2000; seq++) {
      const gravity = rehearsalGravity(seq);
      assert.equal(gravity.seq, seq);
      assert.ok(Math.abs(gravity.y) >= 1 && Math.abs(gravity.y) <= 95, `y ${gravity.y}`);
      assert.equal(Math.sign(gravity.y), seq % 2 === 0 ? 1 : -1);
      const duty = dutyFromGravity(gravity);
      assert.ok(!sameDuty(duty, previous), `frame ${seq} changes the duty`);
      previous = duty;
    }
    // What the peer sends: parsed by the driver's own parser, with the gateway's generation.
    const parsed = parseGravityPayload(Buffer.from(`{"x":2.5,"y":-8.37,"z":99.62,"seq":1,"run":"abcd1234","gen":1}`));
    assert.deepEqual(parsed, { ok: true, value: { x: 2.5, y: -8.37, z: 99.62, seq: 1, generation } });
  });

  it('round-trips the frames asked for through the real driver code, reports them, and leaves nothing behind', async () => {
    const before = await baseline();
    const exitListeners = process.listenerCount('exit');
    const states: number[] = [];
    const statuses: string[] = [];
    const ports = new Set<number>();
    const accounts = new Set<string>();
    let given: LedDriverOptions | undefined;
    const refs: WeakRef<object>[] = [];
    const warm = options({
      frames: 300,
      startPeer: wrappedPeer(
        (script) => ({
          ...script,
          published(topic, payload) {
            if (topic === topics.ledsState) states.push(decodeLedState(payload)?.seq ?? -1);
            if (topic === topics.driverStatus) statuses.push(payload.toString());
            script.published?.(topic, payload);
          },
        }),
        undefined,
        (peer) => {
          refs.push(new WeakRef(peer));
          ports.add(peer.port);
        },
      ),
      startDriver: (driverOptions) => {
        given = { ...driverOptions };
        accounts.add(driverOptions.account.password);
        const driver = startLedDriver(driverOptions);
        refs.push(new WeakRef(driver), new WeakRef(driver.client), new WeakRef(driverOptions.backend));
        return driver;
      },
    });
    const result = await warmUp(warm);

    assert.equal(result.frames, 300);
    assert.ok(result.ms > 0 && result.ms < WARMUP_DEADLINE_MS, `${result.ms} ms`);
    // Every frame's state came back, in order, each once, shared out to WARMUP_ROUNDS private drivers in turn, each
    // with a peer (a port) and an account of its own; each driver said `online`, and `offline` when it was closed.
    const withSeq = states.filter((seq) => seq >= 0);
    assert.deepEqual(
      withSeq,
      Array.from({ length: 300 }, (_, i) => i),
    );
    assert.equal(ports.size, WARMUP_ROUNDS);
    assert.equal(accounts.size, WARMUP_ROUNDS);
    assert.deepEqual(statuses, Array.from({ length: WARMUP_ROUNDS }, () => ['online', 'offline']).flat());

    // What the private driver was given: its own simulated LEDs (no file), a silent log, no metrics hook.
    assert.ok(given);
    assert.ok(given.backend instanceof SimBackend || given.backend instanceof ShapedBackend);
    assert.equal(given.onState, undefined, 'no metric of the real driver hears of it');
    assert.equal(given.haDiscovery, undefined);
    assert.equal(given.log.level, 'silent');
    assert.match(given.mqttUrl, /^mqtt:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(given.account.password, '', 'an account drawn for it');
    given = undefined;
    assert.deepEqual(
      warm.records.filter((r) => r.level >= 30),
      [],
      'a rehearsal that goes as planned says nothing but what the caller logs',
    );

    // Nothing left: no socket, server or timer of it, no listener, and the private copy collected.
    await settlesBack(before);
    assert.equal(process.listenerCount('exit'), exitListeners);
    assert.equal(refs.length, 4 * WARMUP_ROUNDS);
    await waitFor(
      'the private drivers, their clients, their LEDs and the peers to be garbage',
      async () => {
        gc();
        await sleep(10);
        return refs.every((ref) => ref.deref() === undefined);
      },
      5000,
    );
  });

  it('fewer frames than rounds: one frame per round, and no round without one', async () => {
    let peers = 0;
    const result = await warmUp(
      options({
        frames: WARMUP_ROUNDS - 1,
        startPeer: wrappedPeer(
          (script) => script,
          undefined,
          () => peers++,
        ),
      }),
    );
    assert.equal(result.frames, WARMUP_ROUNDS - 1);
    assert.equal(peers, WARMUP_ROUNDS - 1);
  });

  it('shapes the private LEDs as the real ones (LED_GAMMA, LED_DEADBAND): the same write path', async () => {
    let given: LedDriverOptions | undefined;
    const result = await warmUp(
      options({
        frames: 20,
        shape: { gamma: 2.2, deadband: 3 },
        startDriver: (driverOptions) => {
          given = driverOptions;
          return startLedDriver(driverOptions);
        },
      }),
    );
    assert.equal(result.frames, 20);
    assert.ok(given?.backend instanceof ShapedBackend);
  });

  it('stops at its deadline when the peer stops answering, with a warning, and closes everything', async () => {
    const before = await baseline();
    const deadlineMs = 400;
    let answered = 0;
    const warm = options({
      frames: 100_000,
      deadlineMs,
      // The scripted gateway falls silent after 25 states: no further frame, the loop waits for ever.
      startPeer: wrappedPeer((script) => ({
        ...script,
        published(topic, payload) {
          if (topic === topics.ledsState && decodeLedState(payload)?.seq !== undefined && ++answered > 25) return;
          script.published?.(topic, payload);
        },
      })),
    });
    const result = await warmUp(warm);
    assert.equal(result.frames, 25);
    assert.ok(result.ms >= deadlineMs, `${result.ms} ms: not before the deadline`);
    assert.ok(result.ms < deadlineMs + 1000, `${result.ms} ms: at the deadline, not long after`);
    const warning = warm.records.find((r) => r.level === 40);
    assert.ok(warning, 'a warning');
    assert.match(warning.msg, /deadline after 25 of 100000 frames/);
    await settlesBack(before);
  });

  it('the peer serves one connection: a second client during the rehearsal is refused, and the rehearsal completes', async () => {
    let second: Promise<string> | undefined;
    const result = await warmUp(
      options({
        frames: 200,
        startPeer: wrappedPeer((script, peer) => ({
          ...script,
          published(topic, payload) {
            // While the private driver is connected and frames flow: another client knocks.
            const p = peer();
            if (topic === topics.ledsState && !second && p) second = tryConnect(p.port);
            script.published?.(topic, payload);
          },
        })),
      }),
    );
    assert.ok(second, 'a second client tried');
    assert.equal(await second, 'ECONNREFUSED');
    assert.equal(result.frames, 200);
  });

  it('a wrong password is refused with CONNACK return code 4, and ends the rehearsal with a warning, never an exception', async () => {
    const before = await baseline();
    const warm = options({
      frames: 300,
      // The peer expects another password than the one the private driver presents.
      startPeer: wrappedPeer(
        (script) => script,
        (o) => ({ ...o, account: { ...o.account, password: `${o.account.password}-not` } }),
      ),
    });
    const result = await warmUp(warm);
    assert.equal(result.frames, 0);
    assert.ok(result.ms < 1000, `${result.ms} ms: at once, not at the deadline`);
    const warning = warm.records.find((r) => r.level === 40);
    assert.ok(warning, 'a warning');
    assert.match(String(warning.err), /bad user name or password \(CONNACK return code 4\)/);
    assert.match(warning.msg, /warm-up failed after 0 frames, starting without it/);
    await settlesBack(before);
  });

  it('a stop request ends it at once; one made before it began opens nothing', async () => {
    const stop = new AbortController();
    let states = 0;
    const warm = options({
      frames: 100_000,
      signal: stop.signal,
      startPeer: wrappedPeer((script) => ({
        ...script,
        published(topic, payload) {
          script.published?.(topic, payload);
          if (topic === topics.ledsState && ++states === 50) stop.abort('SIGTERM');
        },
      })),
    });
    const result = await warmUp(warm);
    assert.ok(result.frames >= 49 && result.frames < 100, `${result.frames} frames`);
    assert.ok(result.ms < 2000, `${result.ms} ms`);
    assert.ok(warm.records.some((r) => r.level === 30 && /cut short/.test(r.msg)));
    assert.equal(
      warm.records.find((r) => r.level >= 40),
      undefined,
      'a stop is no failure',
    );

    let started = false;
    const early = await warmUp(
      options({
        signal: AbortSignal.abort('SIGTERM'),
        startPeer: async (o) => {
          started = true;
          return startScriptedPeer(o);
        },
      }),
    );
    assert.equal(early.frames, 0);
    assert.equal(started, false, 'no peer, no driver');
  });
});
