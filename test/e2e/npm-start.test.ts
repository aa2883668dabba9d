/**
 * The two commands a newcomer types, run as a person runs them: `npm start` prints where to point the phone and
 * MQTT tools, the system works, and Ctrl+C (SIGINT to the whole process group) stops all three cleanly.
 * `npm start -w <service>` runs one service alone, and a bad variable stops it with one clear line.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import mqtt from 'mqtt';
import WebSocket from 'ws';
import { freePort } from '../helpers/ports.js';
import { ROOT } from '../helpers/system.js';
import { waitFor } from '../helpers/wait.js';

interface Run {
  child: ChildProcess;
  output: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function npm(args: string[], env: NodeJS.ProcessEnv): Run {
  // detached: its own process group, so we can deliver SIGINT to every process in it, as a terminal's Ctrl+C does.
  const child = spawn('npm', args, { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, output: () => text, exit };
}

async function environment() {
  const dataDir = mkdtempSync(join(tmpdir(), 'gravity-led-start-'));
  const ports = { gateway: await freePort(), broker: await freePort(), ws: await freePort() };
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    DATA_DIR: dataDir,
    GATEWAY_PORT: String(ports.gateway),
    GATEWAY_HTTPS_PORT: '0',
    BROKER_PORT: String(ports.broker),
    BROKER_WS_PORT: String(ports.ws),
    // Its own TCP door, as the README says to set it with another BROKER_PORT: npm start's led-driver takes the
    // socket instead, which reaches the same broker.
    MQTT_URL: `mqtt://localhost:${ports.broker}`,
    LED_BACKEND: 'sim',
    LOG_FORMAT: 'json',
  };
  return { dataDir, ports, env };
}

/** The URL the led-driver connected to its broker with, from its log line. */
function driverUrl(output: string): string | undefined {
  for (const line of output.split('\n')) {
    if (!line.includes('"name":"led-driver"') || !line.includes('"msg":"connected to MQTT broker"')) continue;
    return (JSON.parse(line) as { url?: string }).url;
  }
  return undefined;
}

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('npm start', () => {
  const cleanups: (() => void)[] = [];
  after(() => {
    for (const cleanup of cleanups) cleanup();
  });

  it('prints the phone link with the token and the MQTT account, works end to end, and stops all three on Ctrl+C', async () => {
    const { dataDir, ports, env } = await environment();
    const run = npm(['start'], env);
    cleanups.push(() => {
      if (run.child.pid && groupAlive(run.child.pid)) process.kill(-run.child.pid, 'SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    });
    await waitFor('the start banner', () => run.output().includes('Press Ctrl+C to stop'), 60_000);
    const out = run.output();
    const token = /Access token: (\S+)/.exec(out)?.[1];
    assert.ok(token, out);
    assert.match(out, new RegExp(`http://localhost:${ports.gateway}/#token=${token}`));
    const username = /username: (\S+)/.exec(out)?.[1];
    const password = /password: (\S+)/.exec(out)?.[1];
    assert.ok(username && password, out);
    assert.match(out, new RegExp(`MQTT: mqtt://\\S+:${ports.broker}`));

    // What the banner printed is enough to use the system: the token drives the LEDs, the account reads them.
    const operator = mqtt.connect(`mqtt://127.0.0.1:${ports.broker}`, { username, password, reconnectPeriod: 0 });
    const states: { left: number; right: number }[] = [];
    operator.on('message', (_t, payload) => states.push(JSON.parse(payload.toString())));
    await new Promise<void>((resolve, reject) => {
      operator.once('connect', () => operator.subscribe('gravity-led/leds/state', () => resolve()));
      operator.once('error', reject);
    });
    const ws = new WebSocket(`ws://127.0.0.1:${ports.gateway}/`, { headers: { authorization: `Bearer ${token}` } });
    const frames: { type: string; right?: number }[] = [];
    ws.on('message', (data) => frames.push(JSON.parse(data.toString())));
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    await waitFor('the led-driver to be up', () => frames.find((f) => f.type === 'hello'), 10_000);
    // The led-driver may connect a moment after the gateway: send until the state reflects the frame.
    await waitFor(
      'right = 50 on leds/state',
      () => {
        ws.send('0 50 86.6');
        return states.find((s) => s.right === 50 && s.left === 0);
      },
      15_000,
    );
    await waitFor('the state frame on the WebSocket', () => frames.find((f) => f.type === 'state' && f.right === 50));
    ws.close();
    operator.end(true);
    // No MQTT_URL given: the led-driver reaches the hosted broker through its Unix socket in DATA_DIR, the owner's alone.
    const socket = join(dataDir, 'mqtt.sock');
    assert.equal(driverUrl(run.output()), `mqtt+unix://${socket}`);
    assert.equal(statSync(socket).mode, 0o140600, 'a socket, owner-only');

    const pid = run.child.pid as number;
    process.kill(-pid, 'SIGINT');
    const { code, signal } = await run.exit;
    await waitFor('every process of npm start to end', () => !groupAlive(pid), 10_000);
    assert.equal(existsSync(socket), false, 'the socket file is removed at the stop');
    const log = run.output();
    for (const service of ['broker', 'gateway', 'led-driver']) {
      assert.match(log, new RegExp(`"name":"${service}"[^\\n]*"msg":"${service} stopped"`), `${service} did not stop cleanly:\n${log}`);
    }
    // npm reports an interrupted script as killed by SIGINT, or exits 0/130 depending on its version: either is a clean stop.
    assert.ok(code === 0 || code === 130 || signal === 'SIGINT', `npm start ended with ${code ?? signal}`);
  });

  it('killed with kill -9 (no signal handler runs), its led-driver turns the LEDs off and ends too, rather than outliving it', async () => {
    const { dataDir, ports, env } = await environment();
    const pins = join(dataDir, 'leds.json');
    const run = npm(['start'], { ...env, LED_SIM_FILE: pins });
    cleanups.push(() => {
      if (run.child.pid && groupAlive(run.child.pid)) process.kill(-run.child.pid, 'SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    });
    await waitFor('the start banner', () => run.output().includes('Press Ctrl+C to stop'), 60_000);
    const token = /Access token: (\S+)/.exec(run.output())?.[1];
    const ws = new WebSocket(`ws://127.0.0.1:${ports.gateway}/`, { headers: { authorization: `Bearer ${token}` } });
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const duty = () => JSON.parse(readFileSync(pins, 'utf8')) as { left: number; right: number; closed: boolean };
    await waitFor(
      'right = 50 on the simulated pins',
      () => {
        ws.send('0 50 86.6');
        return existsSync(pins) && duty().right === 50;
      },
      15_000,
    );
    // npm start's own process: the one that hosts the gateway and the broker, and started the led-driver.
    const group = run.child.pid as number;
    const launcher = execFileSync('ps', ['-o', 'pid=,args=', '-g', String(group)], { encoding: 'utf8' })
      .split('\n')
      .map((line) => /^\s*(\d+)\s+\S*node\s.*scripts\/dist\/start\.js/.exec(line)?.[1])
      .find((pid) => pid !== undefined);
    assert.ok(launcher, 'the npm start process (node, not the shell npm runs it in)');
    process.kill(Number.parseInt(launcher, 10), 'SIGKILL');
    // Without a way to learn of it, the led-driver went on alone, holding its ports, and drove the pins beside the
    // next npm start's led-driver.
    await waitFor('every process of npm start to end', () => !groupAlive(group), 10_000);
    assert.deepEqual(duty(), { ...duty(), left: 0, right: 0, closed: true }, 'the LEDs off and released');
    assert.match(run.output(), /"name":"led-driver"[^\n]*"msg":"led-driver: the process that started it is gone: stopping"/);
    assert.match(run.output(), /"name":"led-driver"[^\n]*"msg":"led-driver stopped"/);
    ws.terminate();
  });

  it('with MQTT_URL naming another door or broker, its led-driver connects where MQTT_URL says, and no Unix socket is made', async () => {
    const { dataDir, ports, env } = await environment();
    // The broker's WebSocket door: the same broker, but not its TCP port, so the person's choice.
    const url = `ws://localhost:${ports.ws}`;
    const run = npm(['start'], { ...env, MQTT_URL: url });
    cleanups.push(() => {
      if (run.child.pid && groupAlive(run.child.pid)) process.kill(-run.child.pid, 'SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    });
    await waitFor('the led-driver to connect', () => driverUrl(run.output()), 60_000);
    assert.equal(driverUrl(run.output()), url);
    assert.equal(existsSync(join(dataDir, 'mqtt.sock')), false);
    const pid = run.child.pid as number;
    process.kill(-pid, 'SIGINT');
    await run.exit;
    await waitFor('every process of npm start to end', () => !groupAlive(pid), 10_000);
  });

  it('runs one service alone with npm start -w, as its container does', async () => {
    const { dataDir, ports, env } = await environment();
    const run = npm(['start', '-w', 'broker'], env);
    cleanups.push(() => {
      if (run.child.pid && groupAlive(run.child.pid)) process.kill(-run.child.pid, 'SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    });
    await waitFor('the broker to be ready', () => run.output().includes('"msg":"broker ready"'), 30_000);
    assert.match(run.output(), new RegExp(`"mqtt":${ports.broker}`));
    const pid = run.child.pid as number;
    process.kill(-pid, 'SIGTERM');
    await run.exit;
    await waitFor('the broker to end', () => !groupAlive(pid), 10_000);
    assert.match(run.output(), /"msg":"broker stopped"/);
  });

  it('stops a service at start with one line naming a bad variable, its value and what is allowed', async () => {
    const { dataDir, env } = await environment();
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    for (const [service, name, value, allowed] of [
      ['gateway', 'GATEWAY_PORT', 'abc', 'a TCP port 1..65535'],
      ['led-driver', 'LED_BACKEND', 'gpio', 'auto | pigpio | sysfs | sim'],
      ['broker', 'BROKER_PORT', '99999', 'a TCP port 1..65535'],
    ] as const) {
      const run = npm(['start', '--silent', '-w', service], { ...env, [name]: value });
      const { code } = await run.exit;
      assert.equal(code, 2, run.output());
      const lines = run.output().trim().split('\n');
      assert.deepEqual(lines, [`${service}: ${name}="${value}" is not allowed: expected ${allowed}`]);
    }
  });
});
