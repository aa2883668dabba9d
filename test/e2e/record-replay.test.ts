/**
 * Record and replay with the real client against the real system: a sweep recorded through the gateway replays to
 * the same LED states (but for values the led-driver left out because a newer one arrived with them: helpers/replay.ts), through the gateway and straight to MQTT (as the operator, the account found in
 * DATA_DIR/secrets.json, or given on the command line), at the recorded pace or faster, in a loop until Ctrl+C; a bad
 * file or a refused account changes nothing and says why.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readRecording } from '@gravity-led/client';
import type { MqttClient } from 'mqtt';
import { runCli } from '../helpers/cli.js';
import { operatorClient } from '../helpers/clients.js';
import { type StateMessage, StateWatcher } from '../helpers/leds.js';
import { assertReplayed, coalescedInputs } from '../helpers/replay.js';
import { TestSystem } from '../helpers/system.js';
import { sleep, waitFor } from '../helpers/wait.js';

const client = runCli;

/** What the led-driver applied from gravity, in order: the duties and the seq each one echoes. */
const applied = (states: StateMessage[]) =>
  states.filter((s) => s.reason === 'gravity').map((s) => ({ left: s.left, right: s.right, seq: s.seq }));

describe('record and replay', () => {
  let system: TestSystem;
  let operator: MqttClient;
  let watcher: StateWatcher;
  let env: NodeJS.ProcessEnv;
  const files = mkdtempSync(join(tmpdir(), 'gravity-led-replay-'));
  const recorded = join(files, 'sweep.jsonl');
  /** The states the led-driver applied while the sweep was recorded. */
  let original: ReturnType<typeof applied>;

  before(async () => {
    system = await TestSystem.start();
    operator = await operatorClient(system);
    watcher = new StateWatcher(operator);
    // As on the machine that runs the services: the token and the operator's account come from DATA_DIR.
    env = { PATH: process.env.PATH, DATA_DIR: system.dataDir };
  });
  after(async () => {
    operator?.end(true);
    await system?.stop();
    rmSync(files, { recursive: true, force: true });
  });

  /**
   * Both LEDs dark again after a run, by whichever came first: its last frame, the stale fail-safe, or the controller
   * leaving (a later fail-safe changes nothing then: the driver reports only changes).
   */
  const ledsOff = async (what: string, from: number) => {
    await waitFor(
      what,
      () => {
        const last = watcher.states.slice(from).at(-1);
        return last && last.left === 0 && last.right === 0 ? last : undefined;
      },
      10_000,
    );
    await sleep(200);
  };

  it('--record writes the sweep a controller sends, with times, as JSON lines', async () => {
    const from = watcher.states.length;
    const run = client(
      ['--url', system.gatewayUrl, '--json', '--sweep', '--period', '1', '--rate', '25', '--duration', '2', '--record', recorded],
      env,
    );
    assert.equal(await run.exit, 0, run.stderr());
    assert.match(run.stderr(), /recorded \d+ frames to .*sweep\.jsonl/);
    await ledsOff('off after the recording', from);
    original = applied(watcher.states.slice(from));

    const lines = readFileSync(recorded, 'utf8').trimEnd().split('\n');
    const header = JSON.parse(lines[0] as string);
    assert.equal(header.format, 'gravity-led-recording');
    assert.equal(header.version, 1);
    assert.equal(header.source, 'client');
    const { frames } = readRecording(recorded);
    assert.equal(frames.length, lines.length - 1);
    assert.ok(frames.length >= 10, `only ${frames.length} frames in 2 s at 25 a second`);
    assert.deepEqual(
      frames.map((f) => f.seq),
      frames.map((_, i) => i + 1),
      'every frame sent, numbered as on the wire',
    );
    assert.ok(frames.some((f) => f.y > 20) && frames.some((f) => f.y < -20), 'both sides of the sweep');
    // What the driver applied is what the recording holds: each applied state echoes a recorded frame of that duty.
    assert.ok(original.length >= 10, `${original.length} states`);
    for (const state of original) {
      const frame = frames.find((f) => f.seq === state.seq);
      assert.ok(frame, `state with seq ${state.seq} from a recorded frame`);
      assert.deepEqual([state.left, state.right], frame.y > 0 ? [0, frame.y] : frame.y < 0 ? [-frame.y, 0] : [0, 0]);
    }
  });

  it('--replay to the gateway, twice as fast, gives the same LED states in the same order', async () => {
    const from = watcher.states.length;
    const coalesced = await coalescedInputs(system.ports.driverMetrics);
    const run = client(['--url', system.gatewayUrl, '--json', '--replay', recorded, '--speed', '2'], env);
    assert.equal(await run.exit, 0, run.stderr());
    assert.match(run.stderr(), /replayed \d+ frames from/);
    await ledsOff('off after the replay', from);
    const replayed = applied(watcher.states.slice(from));
    assertReplayed(replayed, readRecording(recorded).frames, (await coalescedInputs(system.ports.driverMetrics)) - coalesced);
    // The client printed the gateway's frames as it always does, the states echoing the recorded numbers among them.
    assert.deepEqual(
      run
        .frames()
        .filter((f) => f.type === 'state' && f.reason === 'gravity')
        .map((f) => f.seq),
      replayed.map((s) => s.seq),
    );
  });

  it('--replay --mqtt publishes straight to the broker as the operator (account from DATA_DIR): the same LED states', async () => {
    const from = watcher.states.length;
    const gateway = system.service('gateway');
    const opened = gateway.lines.filter((l) => l.msg === 'connection opened').length;
    const coalesced = await coalescedInputs(system.ports.driverMetrics);
    const run = client(['--replay', recorded, '--mqtt', `mqtt://127.0.0.1:${system.ports.broker}`], env);
    assert.equal(await run.exit, 0, run.stderr());
    assert.match(run.stderr(), /published \d+ frames from .* on gravity-led\/gravity/);
    // No controller to leave this time: if the last frame left them lit, the stale fail-safe turns them off.
    await ledsOff('off after the replay', from);
    assertReplayed(
      applied(watcher.states.slice(from)),
      readRecording(recorded).frames,
      (await coalescedInputs(system.ports.driverMetrics)) - coalesced,
    );
    assert.equal(gateway.lines.filter((l) => l.msg === 'connection opened').length, opened, 'the gateway was not involved');
  });

  it('--replay --mqtt with the account on the command line, and a refused account that changes nothing', async () => {
    const { operatorUsername, operatorPassword } = system.secrets;
    const noSecrets = { PATH: process.env.PATH, DATA_DIR: join(files, 'none') };
    const broker = `mqtt://127.0.0.1:${system.ports.broker}`;
    const from = watcher.states.length;
    const coalesced = await coalescedInputs(system.ports.driverMetrics);
    const good = client(
      ['--replay', recorded, '--mqtt', broker, '--speed', '4', '--mqtt-username', operatorUsername, '--mqtt-password', operatorPassword],
      noSecrets,
    );
    assert.equal(await good.exit, 0, good.stderr());
    await ledsOff('off after the replay', from);
    assertReplayed(
      applied(watcher.states.slice(from)),
      readRecording(recorded).frames,
      (await coalescedInputs(system.ports.driverMetrics)) - coalesced,
    );

    const before = watcher.states.length;
    const wrong = client(
      ['--replay', recorded, '--mqtt', broker, '--mqtt-username', operatorUsername, '--mqtt-password', 'not-the-password'],
      noSecrets,
    );
    assert.equal(await wrong.exit, 1);
    assert.match(wrong.stderr(), /refused the account \(Connection refused: (Bad username or password|Not authorized)\)/);
    await sleep(300);
    assert.equal(watcher.states.length, before, 'no LED state changed');
  });

  it('a bad recording changes nothing: exit 2, the line that is wrong, and no connection made', async () => {
    const lines = readFileSync(recorded, 'utf8').split('\n');
    lines[3] = '{"t":120,"x":0,"y":"forty","z":91.6,"seq":3}';
    const bad = join(files, 'bad.jsonl');
    writeFileSync(bad, lines.join('\n'));
    const gateway = system.service('gateway');
    const opened = gateway.lines.filter((l) => l.msg === 'connection opened').length;
    const before = watcher.states.length;
    for (const target of [
      ['--url', system.gatewayUrl],
      ['--mqtt', `mqtt://127.0.0.1:${system.ports.broker}`],
    ]) {
      const run = client(['--replay', bad, ...target], env);
      assert.equal(await run.exit, 2);
      assert.match(run.stderr(), /client: --replay .*bad\.jsonl line 4: x, y and z must be numbers/);
      assert.equal(run.stdout(), '');
    }
    const other = join(files, 'other.jsonl');
    writeFileSync(other, '{"format":"something-else","version":1}\n{"t":0,"x":0,"y":1,"z":1}\n');
    const run = client(['--replay', other], env);
    assert.equal(await run.exit, 2);
    assert.match(run.stderr(), /other\.jsonl line 1: not a gravity-led recording/);
    await sleep(300);
    assert.equal(gateway.lines.filter((l) => l.msg === 'connection opened').length, opened, 'nothing reached the gateway');
    assert.equal(watcher.states.length, before, 'no LED state changed');
  });

  it('--loop replays again and again, a demo without a phone, until Ctrl+C turns the LEDs off', async () => {
    const from = watcher.states.length;
    const run = client(['--url', system.gatewayUrl, '--json', '--replay', recorded, '--speed', '8', '--loop'], env);
    const first = original[0]?.seq;
    const last = original.at(-1)?.seq;
    // The first recorded state again after the last one: the second round has begun.
    await waitFor(
      'a second round',
      () => {
        const seqs = applied(watcher.states.slice(from)).map((s) => s.seq);
        const end = seqs.indexOf(last);
        return end >= 0 && seqs.indexOf(first, end) > end;
      },
      15_000,
    );
    const mark = watcher.states.length;
    run.child.kill('SIGINT');
    assert.equal(await run.exit, 0, run.stderr());
    await ledsOff('off as the looping client leaves', mark);
  });
});
