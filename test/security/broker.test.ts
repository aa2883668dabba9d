/**
 * The broker's locks, tried with the tools a person (or an intruder) would use: mosquitto_pub with good, wrong and
 * no credentials; an operator reaching for topics it may not touch; packets announcing more than the broker takes,
 * over TCP, WebSocket and TLS.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect as connectTcp, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect as connectTls } from 'node:tls';
import { promisify } from 'node:util';
import { MAX_PACKET_BYTES, MAX_PUBLISH_BYTES } from '@gravity-led/broker';
import mqtt, { type MqttClient } from 'mqtt';
import WebSocket from 'ws';
import { collect, MosquittoSub, mosquittoPub, operatorClient } from '../helpers/clients.js';
import { StateWatcher } from '../helpers/leds.js';
import { MEMORY_GROWTH_BOUND, rssBytes } from '../helpers/memory.js';
import { scrape } from '../helpers/metrics.js';
import { freePort } from '../helpers/ports.js';
import { TestSystem } from '../helpers/system.js';
import { sleep, waitFor } from '../helpers/wait.js';

const run = promisify(execFile);

/** A throwaway self-signed certificate for 127.0.0.1, made with openssl as the README tells a person to. */
async function makeCertificate(dir: string): Promise<{ cert: string; key: string }> {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    key,
    '-out',
    cert,
    '-days',
    '1',
    '-subj',
    '/CN=localhost',
    '-addext',
    'subjectAltName=IP:127.0.0.1,DNS:localhost',
  ]);
  return { cert, key };
}

/** The remaining-length field of an MQTT fixed header. */
function varint(n: number): Buffer {
  const bytes: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    bytes.push(byte);
  } while (n > 0);
  return Buffer.from(bytes);
}

/** A PUBLISH fixed header announcing `length` bytes to follow: 200 MB is within MQTT's 256 MB maximum. */
function hugeHeader(length = 200 * 1024 * 1024): Buffer {
  return Buffer.concat([Buffer.from([0x30]), varint(length)]);
}

/**
 * Writes the header, then up to `total` bytes of filler, and reports whether the broker closed the connection
 * before all of it went out (it must, or it would be buffering the lot).
 */
async function flood(socket: Socket, total = 64 * 1024 * 1024): Promise<{ closedEarly: boolean; written: number }> {
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  let closed = false;
  socket.on('close', () => {
    closed = true;
  });
  socket.on('error', () => {});
  socket.write(hugeHeader());
  let written = 0;
  while (written < total && !closed) {
    if (!socket.write(chunk)) {
      await Promise.race([new Promise((r) => socket.once('drain', r)), new Promise((r) => socket.once('close', r)), sleep(10_000)]);
    }
    written += chunk.length;
  }
  await waitFor('the broker to close the connection', () => closed, 10_000).catch(() => {});
  socket.destroy();
  return { closedEarly: closed && written < total, written };
}

describe('broker: accounts, permissions and limits', () => {
  let system: TestSystem;
  let certDir: string;
  let tlsPort: number;
  let cert: { cert: string; key: string };
  let operator: MqttClient;
  let leds: StateWatcher;

  before(async () => {
    certDir = mkdtempSync(join(tmpdir(), 'gravity-led-cert-'));
    cert = await makeCertificate(certDir);
    tlsPort = await freePort();
    system = await TestSystem.start({
      env: { BROKER_TLS_PORT: String(tlsPort), TLS_CERT_FILE: cert.cert, TLS_KEY_FILE: cert.key, FAILSAFE_TIMEOUT_MS: '600000' },
    });
    operator = await operatorClient(system);
    leds = new StateWatcher(operator);
    await leds.until('the retained start state', () => true);
  });

  after(async () => {
    operator?.end(true);
    await system?.stop();
    if (certDir) rmSync(certDir, { recursive: true, force: true });
  });

  /** Drives the LEDs through a legal path and waits for it: later than anything refused before it. */
  async function sentinel(right: number): Promise<void> {
    const result = await mosquittoPub(system, 'gravity-led/gravity', `0 ${right} 50`);
    assert.equal(result.code, 0, result.stderr);
    await leds.until(`right = ${right}`, (s) => s.right === right);
  }

  it('mosquitto_pub with the operator account may inject gravity', async () => {
    await sentinel(11);
  });

  it('mosquitto_pub with a wrong password is refused', async () => {
    const { operatorUsername } = system.secrets;
    const result = await mosquittoPub(system, 'gravity-led/gravity', '0 66 50', {
      username: operatorUsername,
      password: 'not-the-password',
    });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /not authori[sz]ed|bad user name or password/i);
    await sentinel(12);
    assert.ok(!leds.states.some((s) => s.right === 66), 'the refused message never reached the LEDs');
  });

  it('mosquitto_pub with an unknown user, or with the service name and a guessed password, is refused', async () => {
    const { serviceUsername } = system.secrets;
    for (const auth of [
      { username: 'admin', password: 'admin123' },
      { username: serviceUsername, password: 'password' },
    ]) {
      const result = await mosquittoPub(system, 'gravity-led/gravity', '0 67 50', auth);
      assert.notEqual(result.code, 0, `${auth.username} got in`);
    }
  });

  it('anonymous clients are refused: mosquitto_pub without -u, and an MQTT client without credentials', async () => {
    const anonymous = await run(
      'mosquitto_pub',
      ['-h', '127.0.0.1', '-p', String(system.ports.broker), '-t', 'gravity-led/gravity', '-m', '0 68 50'],
      {
        timeout: 10_000,
      },
    ).then(
      () => 0,
      (error: { code?: number }) => error.code ?? -1,
    );
    assert.notEqual(anonymous, 0);
    const client = mqtt.connect(`mqtt://127.0.0.1:${system.ports.broker}`, { reconnectPeriod: 0 });
    const outcome = await new Promise<string>((resolve) => {
      client.once('connect', () => resolve('connected'));
      client.once('error', (error) => resolve(error.message));
    });
    client.end(true);
    assert.notEqual(outcome, 'connected');
    await sentinel(13);
    assert.ok(!leds.states.some((s) => s.right === 68));
  });

  it('the operator cannot publish the led-driver state, the status topics, the occupancy or discovery configs: dropped, acknowledged, connected', async () => {
    const forged = '{"left":77,"right":77,"reason":"gravity","ts":1}';
    const everything = new MosquittoSub(system, '#');
    await everything.next('gravity-led/leds/state', () => true);
    for (const [topic, message] of [
      ['gravity-led/leds/state', forged],
      ['gravity-led/led-driver/status', 'offline'],
      ['gravity-led/gateway/status', 'offline'],
      ['gravity-led/gateway/clients', '{"clients":0,"maxClients":1}'],
      ['homeassistant/light/gravity-led/left/config', '{"name":"forged"}'],
      ['some-other-app/switch', 'on'],
    ] as const) {
      // As Mosquitto does for MQTT 3.1.1, the broker acknowledges the publish (PUBACK for QoS 1) and drops it
      // [MQTT-3.3.5-2]: mosquitto_pub succeeds, and nothing of it is delivered or retained.
      const result = await mosquittoPub(system, topic, message, undefined, ['-q', '1', '-r']);
      assert.equal(result.code, 0, `${topic}: ${result.stderr}`);
    }
    const status = collect(operator, 'gravity-led/led-driver/status');
    await waitFor('the retained led-driver status', () => status.messages.length > 0);
    assert.deepEqual(status.messages, ['online'], 'the retained status was not overwritten');
    await sentinel(14);
    assert.ok(!leds.states.some((s) => s.left === 77), 'the forged state never reached a subscriber');
    await sleep(200);
    everything.stop();
    for (const line of everything.lines) {
      assert.ok(!/forged|"left":77|some-other-app|offline/.test(line), `a subscriber of # was delivered ${line}`);
    }
    // A fresh subscriber finds the led-driver's own retained state, not the forged one.
    const fresh = await operatorClient(system);
    const retained = new StateWatcher(fresh);
    const state = await retained.until('the retained state', () => true);
    fresh.end(true);
    assert.equal(state.right, 14);
    assert.ok(system.service('led-driver').running);
  });

  it('the operator reads the prefix, the discovery prefix and $SYS: `#` is granted and delivers only those; a filter reaching nothing readable gets 128', async () => {
    for (const filter of ['#', '$SYS/#', '+/leds/state', '$SYS/+/heartbeat', 'gravity-led/#', 'homeassistant/#']) {
      const granted = await operator.subscribeAsync(filter);
      assert.equal(granted[0]?.qos, 0, `subscription to ${filter}`);
    }
    for (const filter of ['some-other-app/#', 'zigbee2mqtt/bridge/state', 'gravity-led-2/#']) {
      // mqtt.js rejects a subscription the broker refused (return code 128) and carries the SUBACK.
      const granted = await operator.subscribeAsync(filter).then(
        (grants) => grants.map((g) => g.qos),
        (error: { packet?: { granted?: number[] } }) => error.packet?.granted ?? [],
      );
      assert.deepEqual(granted, [128], `subscription to ${filter} was granted`);
    }
    assert.ok(operator.connected, 'a refused subscription leaves the client connected');
    // The services may not read $SYS (nor anything beyond their own topics).
    const { serviceUsername, servicePassword } = system.secrets;
    const service = mqtt.connect(`mqtt://127.0.0.1:${system.ports.broker}`, {
      username: serviceUsername,
      password: servicePassword,
      reconnectPeriod: 0,
    });
    await new Promise<void>((resolve, reject) => service.once('connect', () => resolve()).once('error', reject));
    const refused = await service.subscribeAsync('$SYS/#').then(
      (grants) => grants.map((g) => g.qos),
      (error: { packet?: { granted?: number[] } }) => error.packet?.granted ?? [],
    );
    service.end(true);
    assert.deepEqual(refused, [128]);
  });

  it('a last will on a forbidden topic is not published when the operator vanishes', async () => {
    const { operatorUsername, operatorPassword } = system.secrets;
    const sneaky = mqtt.connect(`mqtt://127.0.0.1:${system.ports.broker}`, {
      username: operatorUsername,
      password: operatorPassword,
      reconnectPeriod: 0,
      will: {
        topic: 'gravity-led/leds/state',
        payload: Buffer.from('{"left":88,"right":88,"reason":"gravity","ts":1}'),
        qos: 0,
        retain: true,
      },
    });
    await new Promise<void>((resolve, reject) => {
      sneaky.once('connect', () => resolve());
      sneaky.once('error', reject);
    });
    // An unclean end: the socket just drops, which is when a will is published.
    (sneaky.stream as Socket).destroy();
    sneaky.end(true);
    await sleep(200);
    await sentinel(15);
    assert.ok(!leds.states.some((s) => s.left === 88), 'the will reached the state topic');
  });

  it(`a publish with more than ${MAX_PUBLISH_BYTES} bytes of payload is dropped (acknowledged, as Mosquitto's message_size_limit), counted`, async () => {
    const before = await scrape(`http://127.0.0.1:${system.ports.brokerMetrics}/metrics`);
    const big = `0 69 ${'5'.repeat(MAX_PUBLISH_BYTES + 100)}`;
    const result = await mosquittoPub(system, 'gravity-led/gravity', big, undefined, ['-q', '1']);
    assert.equal(result.code, 0, result.stderr);
    await sentinel(16);
    const driver = system.service('led-driver');
    assert.ok(!driver.lines.some((l) => l.kind === 'too-large'), 'the oversized payload reached the led-driver');
    assert.ok(!leds.states.some((s) => s.right === 69));
    const after = await scrape(`http://127.0.0.1:${system.ports.brokerMetrics}/metrics`);
    const counted = (s: typeof after) =>
      s.count('gravity_led_broker_publishes_refused_total', { account: 'operator', reason: 'too-large' });
    assert.equal(counted(after) - counted(before), 1);
  });

  it(`a packet announcing more than ${MAX_PACKET_BYTES} bytes is cut off before CONNECT, not buffered (TCP)`, async () => {
    const pid = system.service('broker').child.pid as number;
    const before = rssBytes(pid);
    const socket = connectTcp({ host: '127.0.0.1', port: system.ports.broker });
    await new Promise((resolve) => socket.once('connect', resolve));
    const result = await flood(socket);
    assert.ok(result.closedEarly, `the broker read ${result.written} bytes without closing`);
    const growth = rssBytes(pid) - before;
    assert.ok(growth < MEMORY_GROWTH_BOUND, `broker grew by ${growth} bytes`);
    await sentinel(17);
  });

  it('a CONNECT with the right account but over the limit (a 16 KiB will) is cut off, never answered', async () => {
    const { operatorUsername, operatorPassword } = system.secrets;
    const str = (s: string | Buffer) => {
      const bytes = Buffer.isBuffer(s) ? s : Buffer.from(s);
      return Buffer.concat([Buffer.from([bytes.length >> 8, bytes.length & 0xff]), bytes]);
    };
    // Protocol "MQTT" level 4; flags: username, password, will, clean session; keepalive 60 s.
    const body = Buffer.concat([
      str('MQTT'),
      Buffer.from([4, 0xc6, 0, 60]),
      str('big-will'),
      str('gravity-led/gravity'),
      str(Buffer.alloc(16 * 1024, 0x35)),
      str(operatorUsername),
      str(operatorPassword),
    ]);
    const socket = connectTcp({ host: '127.0.0.1', port: system.ports.broker });
    await new Promise((resolve) => socket.once('connect', resolve));
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    socket.on('error', () => {});
    let closed = false;
    socket.once('close', () => {
      closed = true;
    });
    socket.write(Buffer.concat([Buffer.from([0x10]), varint(body.length), body]));
    await waitFor('the broker to close or to answer', () => closed || received.length > 0, 10_000);
    socket.destroy();
    assert.equal(Buffer.concat(received).length, 0, 'the broker answered (CONNACK) an oversized CONNECT');
    await sentinel(18);
  });

  it('the same cut-off holds for MQTT over WebSocket', async () => {
    const pid = system.service('broker').child.pid as number;
    const before = rssBytes(pid);
    const ws = new WebSocket(`ws://127.0.0.1:${system.ports.brokerWs}/`, 'mqtt');
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    let closed = false;
    ws.on('close', () => {
      closed = true;
    });
    ws.on('error', () => {});
    ws.send(hugeHeader());
    const chunk = Buffer.alloc(32 * 1024, 0x61);
    let sent = 0;
    while (!closed && sent < 1024) {
      ws.send(chunk);
      sent++;
      if (ws.bufferedAmount > 1024 * 1024) await sleep(10);
    }
    await waitFor('the WebSocket to close', () => closed, 10_000);
    assert.ok(sent < 1024, 'the broker accepted 32 MB of one packet');
    const growth = rssBytes(pid) - before;
    assert.ok(growth < MEMORY_GROWTH_BOUND, `broker grew by ${growth} bytes`);
  });

  it('MQTT over TLS (mqtts) works with the operator account, refuses a wrong password, and cuts off huge packets', async () => {
    const tlsArgs = ['-p', String(tlsPort), '--cafile', cert.cert];
    const good = await mosquittoPub(system, 'gravity-led/gravity', '0 19 50', undefined, tlsArgs);
    assert.equal(good.code, 0, good.stderr);
    await leds.until('right = 19 over mqtts', (s) => s.right === 19);
    const { operatorUsername } = system.secrets;
    const bad = await mosquittoPub(
      system,
      'gravity-led/gravity',
      '0 70 50',
      { username: operatorUsername, password: 'wrong-password' },
      tlsArgs,
    );
    assert.notEqual(bad.code, 0);

    const socket = connectTls({ host: '127.0.0.1', port: tlsPort, ca: [readFileSync(cert.cert)] });
    await new Promise((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', reject);
    });
    const result = await flood(socket);
    assert.ok(result.closedEarly, `the broker read ${result.written} bytes over TLS without closing`);
    await sentinel(20);
    assert.ok(!leds.states.some((s) => s.right === 70));
  });

  it('after all of this the broker and the services are still running', () => {
    for (const name of ['broker', 'gateway', 'led-driver'] as const) assert.ok(system.service(name).running, `${name} stopped`);
  });
});
