/**
 * Clients that never read, against the real gateway process: each makes the gateway owe it frames of one kind as
 * fast as it can (error frames for junk, state frames, gravity frames to a viewer, pongs for pings), and the gateway's
 * RSS must stay within 20 MB of what it was before, however long the attack goes on. GATEWAY_HEARTBEAT_MS is long
 * here, so the bound comes from what the gateway buffers, not from the heartbeat dropping the client.
 *
 * The baseline is taken after a busy, well-behaved phone has exercised the same paths (frames in, errors and states
 * out), as the issue's own measurement started from a gateway that had been in use: V8 sizes its young generation to
 * the allocation rate once (up to about 32 MB on a large machine), which is no queue and does not grow further.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MAX_VIEWERS } from '@gravity-led/gateway';
import { encodeGravityJson } from '@gravity-led/shared';
import type { MqttClient } from 'mqtt';
import { operatorClient, WsClient } from '../helpers/clients.js';
import { light } from '../helpers/faults.js';
import { rssBytes } from '../helpers/memory.js';
import { scrape } from '../helpers/metrics.js';
import { clientFrame, NonReadingClient, Opcode } from '../helpers/raw-ws.js';
import { TestSystem } from '../helpers/system.js';
import { sleep, waitFor } from '../helpers/wait.js';

const RSS_BOUND = 20 * 1024 * 1024;
/** How long each attack runs: long enough for an unbounded queue to pass the bound several times over. */
const ATTACK_MS = 6000;
/** The largest a control frame may carry (RFC 6455 section 5.5): each ping owes a pong of the same size. */
const PING_PAYLOAD = Buffer.alloc(125, 0x2a);

describe('clients that never read', () => {
  let system: TestSystem;
  let mqtt: MqttClient;
  let pid: number;
  const token = () => encodeURIComponent(system.secrets.gatewayToken);

  before(async () => {
    system = await TestSystem.start({
      env: { FAILSAFE_TIMEOUT_MS: '600000', GATEWAY_HEARTBEAT_MS: '600000', GATEWAY_MAX_CLIENTS: '4', LOG_LEVEL: 'info' },
    });
    mqtt = await operatorClient(system);
    pid = system.service('gateway').child.pid as number;
    // A busy phone that reads: valid frames and junk in batches, each answered, and a viewer watching.
    const phone = await WsClient.controller(system);
    const viewer = await WsClient.controller(system, '&role=viewer');
    for (let round = 0; round < 20; round++) {
      const from = phone.frames.length;
      for (let i = 0; i < 1000; i++) phone.send(i % 4 === 1 ? 'junk' : i % 4 === 3 ? '{"x":' : `0 ${(i % 90) + 1} 40`);
      await waitFor('the answers', () => phone.frames.length - from >= 500, 30_000);
    }
    phone.close();
    viewer.close();
    await phone.closed();
  });

  after(async () => {
    mqtt?.end(true);
    await system?.stop();
  });

  /**
   * Runs `attack` for ATTACK_MS, sampling the gateway's RSS; asserts that it stayed within RSS_BOUND of what it was
   * just before, and that the gateway still serves a phone meanwhile.
   */
  async function underAttack(what: string, attack: () => Promise<() => void>): Promise<void> {
    await sleep(500);
    const baseline = rssBytes(pid);
    const stop = await attack();
    let highest = 0;
    const until = Date.now() + ATTACK_MS;
    while (Date.now() < until) {
      highest = Math.max(highest, rssBytes(pid));
      await sleep(200);
    }
    const growth = highest - baseline;
    process.stdout.write(`# ${what}: RSS +${(growth / 1024 / 1024).toFixed(1)} MB at most\n`);
    assert.ok(growth < RSS_BOUND, `${what}: the gateway grew by ${(growth / 1024 / 1024).toFixed(1)} MB`);
    // The gateway still works for a phone that reads, during the attack.
    const phone = await WsClient.controller(system);
    await light(phone, 20 + Math.floor(Math.random() * 60));
    phone.close();
    await phone.closed();
    stop();
  }

  /**
   * The operator injecting gravity over MQTT, about 2,000 values a second (each a new LED state for every client): a
   * steady stream of state frames owed to clients, well below what the MQTT side itself is tested with.
   */
  function operatorFlood(y: (i: number) => number): { stop(): void } {
    let running = true;
    void (async () => {
      for (let i = 0; running; i++) {
        mqtt.publish('gravity-led/gravity', encodeGravityJson({ x: 0, y: y(i), z: 10 }));
        if (i % 20 === 0) await sleep(10);
      }
    })();
    return {
      stop: () => {
        running = false;
      },
    };
  }

  async function nonReader(query: string, headers = ''): Promise<NonReadingClient> {
    const client = await NonReadingClient.open(system.ports.gateway, `/?token=${token()}${query}`, headers);
    assert.equal(client.status, 101);
    return client;
  }

  it('a viewer sends junk as fast as it can (each owed an error frame)', async () => {
    await underAttack('junk from a viewer', async () => {
      const viewer = await nonReader('&role=viewer');
      viewer.flood(() => clientFrame(Opcode.Text, 'x'));
      return () => viewer.stop();
    });
  });

  it('a controller sends junk as fast as it can (each owed an error frame)', async () => {
    await underAttack('junk from a controller', async () => {
      const controller = await nonReader('');
      controller.flood((i) => clientFrame(Opcode.Text, i % 2 ? '1 2' : '{"x":'));
      return () => controller.stop();
    });
  });

  it('a controller streams valid frames and the operator floods gravity over MQTT (each change owed a state frame)', async () => {
    await underAttack('state frames', async () => {
      const controller = await nonReader('');
      controller.flood((i) => clientFrame(Opcode.Text, `0 ${(i % 99) + 1} 10`), 50);
      const viewer = await nonReader('&role=viewer');
      const flood = operatorFlood((i) => -((i % 99) + 1));
      return () => {
        flood.stop();
        controller.stop();
        viewer.stop();
      };
    });
  });

  it('a client sends pings as fast as it can (each owed a pong): terminated, memory bounded', async () => {
    let pinger: NonReadingClient | undefined;
    await underAttack('pings', async () => {
      pinger = await nonReader('&role=viewer');
      pinger.flood(() => clientFrame(Opcode.Ping, PING_PAYLOAD));
      return () => pinger?.stop();
    });
    assert.equal(pinger?.closed, true, 'a client owed ever more pongs is dropped');
  });

  it('unauthenticated clients send pings during their time to authenticate', async () => {
    await underAttack('pings before authenticating', async () => {
      const clients: NonReadingClient[] = [];
      for (let i = 0; i < 3; i++) {
        const client = await NonReadingClient.open(system.ports.gateway, '/');
        client.flood(() => clientFrame(Opcode.Ping, PING_PAYLOAD));
        clients.push(client);
      }
      return () => {
        for (const c of clients) c.stop();
      };
    });
  });

  it(`${MAX_VIEWERS * 3} viewers at once, none reading, while the LEDs change: at most ${MAX_VIEWERS} are let in`, async () => {
    const viewers: NonReadingClient[] = [];
    await underAttack('many viewers', async () => {
      for (let i = 0; i < MAX_VIEWERS * 3; i++) viewers.push(await nonReader('&role=viewer'));
      const flood = operatorFlood((i) => (i % 99) + 1);
      return () => flood.stop();
    });
    const metrics = await scrape(`http://127.0.0.1:${system.ports.gateway}/metrics`);
    assert.equal(metrics.value('gravity_led_gateway_clients', { role: 'viewer' }), MAX_VIEWERS);
    assert.equal(metrics.count('gravity_led_gateway_refused_total', { reason: 'viewers-full' }), MAX_VIEWERS * 2);
    for (const v of viewers) v.stop();
  });

  it('every service is still running', () => {
    for (const name of ['broker', 'gateway', 'led-driver'] as const) assert.ok(system.service(name).running, `${name} stopped`);
  });
});
