/**
 * The gateway's limits: how many controllers (GATEWAY_MAX_CLIENTS, changed at run time with mosquitto_pub), how
 * fast one may send (GATEWAY_MAX_RATE: excess dropped, newest wins), how long a silent connection lives
 * (heartbeat), and how many may wait to authenticate.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MAX_PENDING_AUTH } from '@gravity-led/gateway';
import type { MqttClient } from 'mqtt';
import WebSocket from 'ws';
import { collect, MosquittoSub, mosquittoPub, operatorClient, WsClient } from '../helpers/clients.js';
import { StateWatcher } from '../helpers/leds.js';
import { TestSystem } from '../helpers/system.js';
import { sleep, waitFor } from '../helpers/wait.js';

const CLIENTS = 'gravity-led/gateway/clients';
const SET = 'gravity-led/gateway/max-clients/set';

describe('gateway limits', () => {
  let system: TestSystem;
  let mqtt: MqttClient;
  let leds: StateWatcher;
  let sub: MosquittoSub;

  before(async () => {
    system = await TestSystem.start({ env: { FAILSAFE_TIMEOUT_MS: '600000', GATEWAY_MAX_RATE: '20', GATEWAY_HEARTBEAT_MS: '1000' } });
    mqtt = await operatorClient(system);
    leds = new StateWatcher(mqtt);
    sub = new MosquittoSub(system, CLIENTS);
  });

  after(async () => {
    sub?.stop();
    mqtt?.end(true);
    await system?.stop();
  });

  /** The newest retained occupancy, as mosquitto_sub printed it. */
  async function occupancy(clients: number, maxClients: number): Promise<void> {
    await sub.next(CLIENTS, (p) => {
      const o = JSON.parse(p) as { clients: number; maxClients: number };
      return o.clients === clients && o.maxClients === maxClients;
    });
    await waitFor(`the latest occupancy to be ${clients}/${maxClients}`, () => {
      const last = sub.lines.filter((l) => l.startsWith(`${CLIENTS} `)).at(-1);
      if (last === undefined) return false;
      // The occupancy, stamped with the gateway's generation (docs/safety.md, "What is guaranteed").
      const { run, gen, ...occupancy } = JSON.parse(last.slice(CLIENTS.length + 1)) as Record<string, unknown>;
      return typeof run === 'string' && typeof gen === 'number' && JSON.stringify(occupancy) === JSON.stringify({ clients, maxClients });
    });
  }

  async function setCapacity(value: string): Promise<void> {
    const result = await mosquittoPub(system, SET, value);
    assert.equal(result.code, 0, result.stderr);
  }

  it('by default one controller: a second is closed with 1013 and a reason saying the device is in use', async () => {
    const first = await WsClient.controller(system);
    await occupancy(1, 1);
    const second = WsClient.connect(`${system.gatewayUrl}?token=${encodeURIComponent(system.secrets.gatewayToken)}`);
    assert.equal(await second.closed(), 1013);
    assert.match(second.closeReason, /in use/);
    // A viewer does not take a controller's place.
    const viewer = await WsClient.controller(system, '&role=viewer');
    first.send('0 41 50');
    await first.next('state', (f) => f.right === 41);
    await viewer.next('state', (f) => f.right === 41);
    viewer.close();
    first.close();
    await first.closed();
    await occupancy(0, 1);
  });

  it('mosquitto_pub on max-clients/set raises the capacity at run time, published retained', async () => {
    await setCapacity('3');
    await occupancy(0, 3);
    const clients = [await WsClient.controller(system), await WsClient.controller(system), await WsClient.controller(system)];
    await occupancy(3, 3);
    const fourth = WsClient.connect(`${system.gatewayUrl}?token=${encodeURIComponent(system.secrets.gatewayToken)}`);
    assert.equal(await fourth.closed(), 1013);
    for (const c of clients) c.close();
    await Promise.all(clients.map((c) => c.closed()));
    await occupancy(0, 3);
  });

  it('lowering the capacity below the current count closes the newest controllers with 1013; the oldest keeps driving', async () => {
    const oldest = await WsClient.controller(system);
    const middle = await WsClient.controller(system);
    const newest = await WsClient.controller(system);
    await occupancy(3, 3);
    await setCapacity('1');
    assert.equal(await newest.closed(), 1013);
    assert.equal(await middle.closed(), 1013);
    assert.match(newest.closeReason, /capacity lowered/);
    await occupancy(1, 1);
    assert.equal(oldest.closeCode, undefined, 'the oldest controller stays connected');
    oldest.send('0 42 50');
    await leds.until('right = 42 from the oldest controller', (s) => s.right === 42);
    oldest.close();
    await oldest.closed();
    await occupancy(0, 1);
  });

  it('capacity 0 refuses every controller; invalid values are ignored; a wrong password cannot change it', async () => {
    await setCapacity('0');
    await occupancy(0, 0);
    const refused = WsClient.connect(`${system.gatewayUrl}?token=${encodeURIComponent(system.secrets.gatewayToken)}`);
    assert.equal(await refused.closed(), 1013);
    for (const bad of ['-1', 'abc', '1001', '1.5', '', '2 3', '99999999999999999999', '{"n":2}']) await setCapacity(bad);
    const { operatorUsername } = system.secrets;
    const intruder = await mosquittoPub(system, SET, '5', { username: operatorUsername, password: 'wrong-password' });
    assert.notEqual(intruder.code, 0);
    // Still 0: the next good value is the first change the gateway announces.
    await setCapacity('1');
    await occupancy(0, 1);
    // Logged once as a warning, the rest counted at debug level: a flood of bad values is no flood of log lines.
    const ignored = system.service('gateway').lines.filter((l) => l.msg.startsWith('ignored: expected a whole number'));
    assert.deepEqual(
      ignored.map((l) => l.level),
      [40, 20, 20, 20, 20, 20, 20, 20],
    );
    assert.equal(ignored.at(-1)?.count, 8);
    const announced = sub.lines.filter((l) => l.startsWith(`${CLIENTS} `)).map((l) => JSON.parse(l.slice(CLIENTS.length + 1)).maxClients);
    const afterZero = announced.slice(announced.lastIndexOf(0));
    assert.deepEqual([...new Set(afterZero)], [0, 1], 'no other capacity was ever announced');
    assert.ok(system.service('gateway').running);
  });

  it('a controller sending faster than GATEWAY_MAX_RATE has the excess dropped, and the newest value wins', async () => {
    const gravity = collect(mqtt, 'gravity-led/gravity');
    await sleep(100);
    const gateway = system.service('gateway');
    const from = gateway.lines.length;
    const client = await WsClient.controller(system);
    const sent = 300;
    for (let i = 0; i < sent - 1; i++) client.send(`0 ${(i % 60) + 1} 50`);
    client.send('0 77 50');
    await leds.until('right = 77, the last value sent', (s) => s.right === 77);
    client.close();
    await client.closed();
    const summary = await gateway.waitForLog('controller disconnected', 10_000, from);
    assert.equal(summary.accepted, sent);
    assert.ok((summary.dropped as number) > 0, 'nothing was dropped');
    await waitFor('every forwarded value to arrive', () => gravity.messages.length === sent - (summary.dropped as number));
    assert.equal(JSON.parse(gravity.messages.at(-1) as string).y, 77);
    await sleep(200);
    assert.equal(gravity.messages.length, sent - (summary.dropped as number), 'no queued backlog followed');
  });

  it('a client that stops answering pings is dropped by the heartbeat', async () => {
    const silent = new WebSocket(`${system.gatewayUrl}?token=${encodeURIComponent(system.secrets.gatewayToken)}`, { autoPong: false });
    const client = new WsClient(silent);
    await client.opened;
    await client.next('hello');
    assert.equal(await client.closed(10_000), 1006, 'terminated without a closing handshake');
    await occupancy(0, 1);
  });

  it(`at most ${MAX_PENDING_AUTH} connections may wait to authenticate; a client with the token still gets in`, async () => {
    const pending: WsClient[] = [];
    for (let i = 0; i < MAX_PENDING_AUTH; i++) pending.push(WsClient.connect(system.gatewayUrl));
    await Promise.all(pending.map((c) => c.opened));
    const extra = WsClient.connect(system.gatewayUrl);
    assert.equal(await extra.closed(), -503);
    const controller = await WsClient.controller(system);
    controller.close();
    for (const c of pending) c.close();
    await Promise.all(pending.map((c) => c.closed()));
    const later = WsClient.connect(system.gatewayUrl);
    await later.opened;
    later.send(JSON.stringify({ type: 'auth', token: system.secrets.gatewayToken }));
    await later.next('hello');
    later.close();
  });
});
