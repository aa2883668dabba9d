/**
 * The command-line client against the running system, as a person runs it: lines on stdin drive the LEDs (seen by
 * an MQTT tool on leds/state), binary and JSON frames do the same, a sweep lights both sides in turn, wss:// works
 * with the generated certificate pinned, and every failure ends with a non-zero exit and one line saying why.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { runCli } from '../helpers/cli.js';
import { operatorClient, WsClient } from '../helpers/clients.js';
import { type StateMessage, StateWatcher } from '../helpers/leds.js';
import { freePort } from '../helpers/ports.js';
import { ROOT, TestSystem } from '../helpers/system.js';
import { waitFor } from '../helpers/wait.js';

const client = runCli;

describe('command-line client', () => {
  let system: TestSystem;
  let operator: MqttClient;
  let watcher: StateWatcher;
  let token: string;
  let cert: string;

  before(async () => {
    system = await TestSystem.start({ env: { GATEWAY_HTTPS_PORT: 'auto', FAILSAFE_TIMEOUT_MS: '3000' } });
    operator = await operatorClient(system);
    watcher = new StateWatcher(operator);
    token = system.secrets.gatewayToken;
    cert = readFileSync(join(system.dataDir, 'tls.pem'), 'utf8');
  });
  after(async () => {
    operator?.end(true);
    await system?.stop();
  });

  const seen = (what: string, match: (s: StateMessage) => boolean, from = 0) =>
    waitFor(what, () => watcher.states.slice(from).find(match), 10_000);

  it('sends the lines typed on stdin in the seed format, prints the state frames, and ends cleanly at the end of stdin', async () => {
    const run = client(['--url', system.gatewayUrl, '--token', token]);
    await waitFor('hello on stdout', () => run.frames().find((f) => f.type === 'hello'), 10_000);
    const from = watcher.states.length;
    run.child.stdin?.write('0 40 91.6\n');
    await seen('right = 40 on leds/state', (s) => s.right === 40 && s.left === 0, from);
    run.child.stdin?.write('0 -30 95.4\n');
    await seen('left = 30 on leds/state', (s) => s.left === 30 && s.right === 0, from);
    run.child.stdin?.end();
    assert.equal(await run.exit, 0, run.stderr());
    const states = run.frames().filter((f) => f.type === 'state');
    assert.ok(
      states.some((f) => f.right === 40),
      run.stdout(),
    );
    assert.ok(
      states.some((f) => f.left === 30),
      run.stdout(),
    );
    // The gateway judges a text line as typed, and its error frame is printed.
    const bad = client(['--url', system.gatewayUrl, '--token', token]);
    bad.child.stdin?.end('1 2\n');
    assert.equal(await bad.exit, 0, bad.stderr());
    assert.ok(
      bad.frames().some((f) => f.type === 'error' && f.reason === 'wrong-count'),
      bad.stdout(),
    );
  });

  it('sends 12-byte binary frames with --binary, and refuses a line it cannot encode', async () => {
    const from = watcher.states.length;
    const run = client(['--url', system.gatewayUrl, '--token', token, '--binary']);
    run.child.stdin?.end('not a number\n0 55 83.5\n');
    await seen('right = 55 on leds/state', (s) => s.right === 55, from);
    assert.equal(await run.exit, 0, run.stderr());
    assert.match(run.stderr(), /line 1 not sent: "not" is not a decimal number/);
    assert.ok(
      run.frames().some((f) => f.type === 'state' && f.right === 55),
      run.stdout(),
    );
  });

  it('sweeps smoothly left and right with --sweep, lighting each LED in turn, and stops after --duration', async () => {
    const from = watcher.states.length;
    const run = client(['--url', system.gatewayUrl, '--token', token, '--sweep', '--period', '1', '--rate', '25', '--duration', '3']);
    await seen('the right LED during the sweep', (s) => s.right > 20 && s.left === 0, from);
    await seen('the left LED during the sweep', (s) => s.left > 20 && s.right === 0, from);
    assert.equal(await run.exit, 0, run.stderr());
    const applied = watcher.states.slice(from).filter((s) => s.reason === 'gravity');
    assert.ok(applied.length >= 4, `only ${applied.length} states`);
    assert.ok(
      applied.every((s) => s.left <= 80 && s.right <= 80),
      'the default amplitude is 80',
    );
  });

  it('drives the LEDs over wss:// with --json and the generated certificate given as --ca', async () => {
    const from = watcher.states.length;
    const url = `wss://localhost:${system.ports.gatewayHttps}/`;
    const ca = join(system.dataDir, 'tls.pem');
    const run = client(['--url', url, '--token', token, '--json', '--ca', ca]);
    run.child.stdin?.end('0 25 96.8\n');
    await seen('right = 25 on leds/state', (s) => s.right === 25, from);
    assert.equal(await run.exit, 0, run.stderr());
    assert.ok(
      run.frames().some((f) => f.type === 'state' && f.right === 25 && f.seq === 1),
      run.stdout(),
    );
  });

  it('pins the self-signed certificate by its SHA-256 fingerprint, and refuses a wrong one before sending the token', async () => {
    const fingerprint = new X509Certificate(cert).fingerprint256;
    const url = `wss://127.0.0.1:${system.ports.gatewayHttps}/`;
    const good = client(['--url', url, '--token', token, '--fingerprint', fingerprint]);
    good.child.stdin?.end('0 15 98.9\n');
    assert.equal(await good.exit, 0, good.stderr());
    assert.ok(
      good.frames().some((f) => f.type === 'hello'),
      good.stdout(),
    );

    const gateway = system.service('gateway');
    const opened = () => gateway.lines.filter((l) => l.msg === 'connection opened').length;
    const before = opened();
    const wrong = client([
      '--url',
      url,
      '--token',
      token,
      '--fingerprint',
      fingerprint.replace(/^../, fingerprint.startsWith('00') ? '11' : '00'),
    ]);
    assert.equal(await wrong.exit, 1);
    assert.match(wrong.stderr(), /not the pinned/);
    assert.equal(wrong.frames().length, 0);
    assert.equal(opened(), before, 'no WebSocket (and so no token) reached the gateway');

    const unpinned = client(['--url', url, '--token', token]);
    assert.equal(await unpinned.exit, 1);
    assert.match(unpinned.stderr(), /certificate is not trusted \(DEPTH_ZERO_SELF_SIGNED_CERT.*--fingerprint/);
  });

  it('takes the token from DATA_DIR/secrets.json when none is given, on the machine that runs the services', async () => {
    const run = client(['--url', system.gatewayUrl], { PATH: process.env.PATH, DATA_DIR: system.dataDir });
    run.child.stdin?.end();
    assert.equal(await run.exit, 0, run.stderr());
    assert.ok(
      run.frames().some((f) => f.type === 'hello'),
      run.stdout(),
    );
  });

  it('ends with 1 and says so for a wrong token, a device in use, no token at all, and a gateway that is not there', async () => {
    const wrong = client(['--url', system.gatewayUrl, '--token', 'wrong-token-wrong-token']);
    assert.equal(await wrong.exit, 1);
    assert.match(wrong.stderr(), /refused the token \(HTTP 401/);

    const holder = await WsClient.controller(system);
    try {
      const busy = client(['--url', system.gatewayUrl, '--token', token]);
      assert.equal(await busy.exit, 1);
      assert.match(busy.stderr(), /the device is in use \(close code 1013: device in use/);
    } finally {
      holder.close();
      await holder.closed();
    }

    // No --token, no GATEWAY_TOKEN, and a DATA_DIR that is not the services' (the token is looked up there): the
    // gateway waits 5 s for an auth frame, then refuses; the client says where a token comes from.
    const empty = mkdtempSync(join(tmpdir(), 'gravity-led-client-'));
    try {
      const tokenless = client(['--url', system.gatewayUrl], { PATH: process.env.PATH, DATA_DIR: empty });
      assert.equal(await tokenless.exit, 1);
      assert.match(tokenless.stderr(), /refused the client \(close code 1008.*no token was given or found: --token TOKEN/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }

    const nowhere = client(['--url', `ws://127.0.0.1:${await freePort()}/`, '--token', token]);
    assert.equal(await nowhere.exit, 1);
    assert.match(nowhere.stderr(), /connection refused \(is the gateway running/);
  });

  it('closes the connection and exits 0 on Ctrl+C, and the LEDs go off as the controller leaves', async () => {
    const run = client(['--url', system.gatewayUrl, '--token', token]);
    await waitFor('hello on stdout', () => run.frames().find((f) => f.type === 'hello'), 10_000);
    const from = watcher.states.length;
    run.child.stdin?.write('0 35 93.7\n');
    await seen('right = 35', (s) => s.right === 35, from);
    run.child.kill('SIGINT');
    assert.equal(await run.exit, 0, run.stderr());
    await seen('both off as the controller leaves', (s) => s.left === 0 && s.right === 0 && s.reason === 'controller-left', from);
  });

  it('explains itself with --help through npm run client, and refuses a bad command line with 2', async () => {
    const help = spawn('npm', ['run', '--silent', 'client', '--', '--help'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
    });
    let out = '';
    help.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    const code = await new Promise((resolve) => help.on('exit', resolve));
    assert.equal(code, 0);
    for (const option of ['--url', '--token', '--sweep', '--binary', '--json', '--ca', '--fingerprint', '--insecure']) {
      assert.ok(out.includes(option), `--help does not mention ${option}`);
    }
    const bad = client(['--rate', '5']);
    assert.equal(await bad.exit, 2);
    assert.match(bad.stderr(), /--rate applies to --sweep only/);
  });
});
