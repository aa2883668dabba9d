/**
 * The broker's Unix socket door (BROKER_SOCKET; `npm start` gives its led-driver DATA_DIR/mqtt.sock), attacked and
 * used as on TCP: the same accounts and permissions behind it, a connection that sends no CONNECT closed within the
 * same 10 s, owner-only from its first moment, and what is already at its path respected: a socket file left by a
 * killed broker is replaced, a live broker's is not taken over, and a file that is not a socket is left as it is.
 * The real tool connects the way a person would: `mosquitto_sub --unix PATH` (mosquitto-clients 2.0).
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { startBroker } from '@gravity-led/broker';
import { type Account, randomSecret, topicsFor } from '@gravity-led/shared';
import mqtt from 'mqtt';
import { captureLog } from '../helpers/capture-log.js';
import { connectionLifetime } from '../helpers/ports.js';
import { TestSystem } from '../helpers/system.js';
import { waitFor } from '../helpers/wait.js';

const run = promisify(execFile);
/** The first bytes of an MQTT 3.1.1 CONNECT (type, a remaining length of 16, protocol name "MQ"): never finished. */
const CONNECT_START = Buffer.from([0x10, 16, 0, 4, 0x4d, 0x51]);

/** An owner-only folder, as DATA_DIR is. */
function folder(): string {
  return mkdtempSync(join(tmpdir(), 'gravity-led-socket-'));
}

/** What an MQTT client gets when it logs in over the socket at `path`: `connected` or the error. */
async function login(path: string, account: Account): Promise<string> {
  const client = mqtt.connect(`mqtt+unix://${path}`, { ...account, reconnectPeriod: 0, connectTimeout: 5000 });
  const outcome = await new Promise<string>((resolve) => {
    client.once('connect', () => resolve('connected'));
    client.once('error', (error) => resolve(error.message));
    client.once('close', () => resolve('closed'));
  });
  client.end(true);
  return outcome;
}

describe('the broker on its Unix socket (BROKER_SOCKET)', () => {
  const dir = folder();
  const socket = join(dir, 'mqtt.sock');
  let system: TestSystem;

  before(async () => {
    system = await TestSystem.start({ services: ['broker'], env: { BROKER_SOCKET: socket } });
  });

  after(async () => {
    await system?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const operator = (): Account => ({ username: system.secrets.operatorUsername, password: system.secrets.operatorPassword });

  it('is a socket only its owner may connect to, from its first moment', () => {
    assert.equal(statSync(socket).mode, 0o140600);
  });

  it('takes the same accounts as TCP, and refuses a wrong password', async () => {
    assert.equal(await login(socket, operator()), 'connected');
    const refused = await login(socket, { username: operator().username, password: 'not-the-password' });
    assert.match(refused, /Bad username or password|Not authorized/);
  });

  it("carries messages both ways with TCP's clients, with the same permissions: mosquitto_sub --unix and mqtt.js", async () => {
    const { username, password } = operator();
    const sub = spawn('mosquitto_sub', [
      '--unix',
      socket,
      '-u',
      username,
      '-P',
      password,
      '-t',
      'gravity-led/gravity',
      '-C',
      '1',
      '-W',
      '10',
    ]);
    let printed = '';
    sub.stdout.on('data', (chunk: Buffer) => {
      printed += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => sub.once('exit', resolve));
    // Published over TCP until the subscriber, once subscribed, has it.
    const tcp = mqtt.connect(`mqtt://127.0.0.1:${system.ports.broker}`, { username, password, reconnectPeriod: 0 });
    await new Promise((resolve, reject) => tcp.once('connect', resolve).once('error', reject));
    await waitFor(
      'mosquitto_sub --unix to print the value',
      () => {
        tcp.publish('gravity-led/gravity', '0 40 91.6');
        return printed.includes('0 40 91.6') || undefined;
      },
      10_000,
    );
    assert.equal(await exited, 0);
    // The other way, with the same permissions: what the operator may publish comes through to TCP, what only the
    // services may write (leds/state) does not.
    const seen: string[] = [];
    tcp.on('message', (topic, payload) => seen.push(`${topic} ${payload.toString()}`));
    await tcp.subscribeAsync(['gravity-led/leds/state', 'gravity-led/leds/left/set']);
    const pub = (topic: string, message: string) =>
      run('mosquitto_pub', ['--unix', socket, '-u', username, '-P', password, '-t', topic, '-m', message, '-q', '1'], {
        timeout: 10_000,
      }).catch(() => undefined);
    await pub('gravity-led/leds/state', '{"left":99,"right":0}');
    await pub('gravity-led/leds/left/set', '30');
    await waitFor('the permitted message on TCP', () => seen.includes('gravity-led/leds/left/set 30') || undefined, 5000);
    assert.deepEqual(
      seen.filter((m) => m.startsWith('gravity-led/leds/state ')),
      [],
      'an operator wrote leds/state through the socket',
    );
    tcp.end(true);
  });

  it('closes a connection that has sent no CONNECT 10 s after it opened, as on every door', async () => {
    const holds = [
      () => connect({ path: socket }).resume(),
      () => {
        const s = connect({ path: socket });
        s.resume();
        s.once('connect', () => s.write(CONNECT_START));
        return s;
      },
    ];
    const held = await Promise.all(holds.map((open) => connectionLifetime(open, 40_000)));
    for (const ms of held) assert.ok(ms >= 9_000 && ms < 12_500, `held ${(ms / 1000).toFixed(1)} s`);
    assert.equal(await login(socket, operator()), 'connected');
  });

  it('a stop removes the socket file; a broker killed leaves it, and the next start replaces it', async () => {
    const broker = system.service('broker');
    broker.kill('SIGKILL');
    await broker.exited(5000);
    assert.ok(existsSync(socket), 'a killed listener leaves its socket file');
    await broker.restart('broker ready');
    assert.equal(await login(socket, operator()), 'connected', 'the stale socket file was replaced');
    broker.kill('SIGTERM');
    await broker.exited(5000);
    assert.equal(existsSync(socket), false, 'a clean stop removes it');
    await broker.restart('broker ready');
    assert.equal(await login(socket, operator()), 'connected');
  });
});

describe('what is already at BROKER_SOCKET', () => {
  const accounts = {
    service: { username: 'service', password: randomSecret(18) },
    operator: { username: 'operator', password: randomSecret(18) },
  };
  const start = (socket: string) => {
    const { log, records } = captureLog();
    const broker = startBroker({
      host: '127.0.0.1',
      port: 0,
      wsPort: 0,
      tlsPort: 0,
      socket,
      secrets: accounts,
      prefix: 'gravity-led',
      topics: topicsFor('gravity-led'),
      log,
    });
    return { broker, records };
  };
  const dirs: string[] = [];
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it("a live broker's socket is not taken over: the second broker says so and runs on TCP alone", async () => {
    const dir = folder();
    dirs.push(dir);
    const socket = join(dir, 'mqtt.sock');
    const first = await start(socket).broker;
    const second = start(socket);
    const broker = await second.broker;
    try {
      assert.deepEqual(
        broker.listeners.map((l) => l.name),
        ['mqtt'],
      );
      const error = second.records.find((r) => r.level === 50);
      assert.match(error?.msg ?? '', new RegExp(`MQTT over the Unix socket is off: another broker listens on ${socket}`));
      assert.equal(await login(socket, accounts.operator), 'connected', "the first broker's socket still serves");
    } finally {
      await broker.close();
      await first.close();
    }
    assert.equal(existsSync(socket), false);
  });

  it('a file that is not a socket is left as it is', async () => {
    const dir = folder();
    dirs.push(dir);
    const path = join(dir, 'notes.txt');
    writeFileSync(path, 'keep me');
    const { broker: starting, records } = start(path);
    const broker = await starting;
    await broker.close();
    assert.equal(readFileSync(path, 'utf8'), 'keep me');
    assert.match(records.find((r) => r.level === 50)?.msg ?? '', /exists and is not a socket: not replaced/);
  });
});
