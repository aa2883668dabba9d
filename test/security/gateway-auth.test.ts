/**
 * Who may drive the LEDs through the gateway: every way of presenting the token, every way of getting it wrong,
 * where the generated token lives, and GATEWAY_AUTH=none.
 */
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CloseReason, PROTOCOL, TOKEN_PROTOCOL_PREFIX, tokenProtocols } from '@gravity-led/gateway';
import { encodeGravityBinary } from '@gravity-led/shared';
import type { MqttClient } from 'mqtt';
import WebSocket from 'ws';
import { operatorClient, WsClient } from '../helpers/clients.js';
import { StateWatcher } from '../helpers/leds.js';
import { TestSystem } from '../helpers/system.js';
import { sleep } from '../helpers/wait.js';

describe('gateway authentication (GATEWAY_AUTH=token)', () => {
  let system: TestSystem;
  let mqtt: MqttClient;
  let leds: StateWatcher;
  let token: string;

  before(async () => {
    system = await TestSystem.start({ env: { FAILSAFE_TIMEOUT_MS: '600000' } });
    mqtt = await operatorClient(system);
    leds = new StateWatcher(mqtt);
    await leds.until('the retained start state', () => true);
    token = system.secrets.gatewayToken;
  });

  after(async () => {
    mqtt?.end(true);
    await system?.stop();
  });

  /** Proves a client may drive: a distinct duty goes through and comes back as state. */
  async function drives(client: WsClient, right: number): Promise<void> {
    client.send(`0 ${right} 50`);
    await client.next('state', (f) => f.right === right);
  }

  it('the generated token is kept in DATA_DIR/secrets.json, readable by the owner only, in an owner-only folder', () => {
    assert.match(token, /^[\w-]{24,}$/);
    assert.equal(statSync(join(system.dataDir, 'secrets.json')).mode & 0o777, 0o600);
    assert.equal(statSync(system.dataDir).mode & 0o077, 0, 'DATA_DIR is open to group or others');
  });

  it('Authorization: Bearer TOKEN at the handshake lets the controller in', async () => {
    const client = WsClient.connect(system.gatewayUrl, { headers: { authorization: `Bearer ${token}` } });
    await client.opened;
    await client.next('hello');
    await drives(client, 21);
    client.close();
    await client.closed();
  });

  it('?token=TOKEN in the URL lets the controller in', async () => {
    const client = WsClient.connect(`${system.gatewayUrl}?token=${encodeURIComponent(token)}`);
    await client.opened;
    await client.next('hello');
    await drives(client, 22);
    client.close();
    await client.closed();
  });

  it('the token as a subprotocol, as the phone page presents it, lets the controller in; the gateway answers "gravity-led", never the token', async () => {
    const client = new WsClient(new WebSocket(system.gatewayUrl, tokenProtocols(token)));
    await client.opened;
    assert.equal(client.socket.protocol, PROTOCOL);
    await client.next('hello');
    await drives(client, 26);
    client.close();
    await client.closed();
  });

  for (const [how, protocols] of [
    ['a wrong token as a subprotocol', tokenProtocols('not-the-token-at-all-0000')],
    ['a subprotocol token that is not base64url', [PROTOCOL, `${TOKEN_PROTOCOL_PREFIX}not+base64url`]],
  ] as const) {
    it(`${how}: completed handshake, then closed with 1008 "wrong token", so a page can tell it from a network failure`, async () => {
      const client = new WsClient(new WebSocket(system.gatewayUrl, [...protocols]));
      await client.opened;
      assert.equal(await client.closed(), 1008);
      assert.equal(client.closeReason, CloseReason.WrongToken);
      assert.ok(!client.frames.some((f) => f.type === 'hello'));
    });
  }

  it('a first frame {"type":"auth","token":TOKEN} lets the controller in', async () => {
    const client = WsClient.connect(system.gatewayUrl);
    await client.opened;
    await sleep(100);
    assert.deepEqual(client.frames, [], 'nothing is sent to a client that has not authenticated');
    client.send(JSON.stringify({ type: 'auth', token }));
    await client.next('hello');
    await drives(client, 23);
    client.close();
    await client.closed();
  });

  for (const [how, options, url] of [
    ['a wrong Bearer token', { headers: { authorization: 'Bearer not-the-token-at-all-0000' } }, ''],
    ['a wrong ?token=', {}, '?token=not-the-token-at-all-0000'],
    ['an empty ?token=', {}, '?token='],
    ['the right token with one character changed', {}, 'CHANGED'],
    ['another Authorization scheme', { headers: { authorization: 'Basic dXNlcjpwYXNz' } }, ''],
  ] as const) {
    it(`${how} is refused at the handshake with HTTP 401`, async () => {
      const query = url === 'CHANGED' ? `?token=${encodeURIComponent(`${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`)}` : url;
      const client = WsClient.connect(`${system.gatewayUrl}${query}`, options);
      assert.equal(await client.closed(), -401);
    });
  }

  it('no auth frame within 5 s: closed with 1008', async () => {
    const client = WsClient.connect(system.gatewayUrl);
    await client.opened;
    assert.equal(await client.closed(10_000), 1008);
    assert.ok(!client.frames.some((f) => f.type === 'hello'));
  });

  it('a wrong token in the first frame: closed with 1008', async () => {
    const client = WsClient.connect(system.gatewayUrl);
    await client.opened;
    client.send(JSON.stringify({ type: 'auth', token: `${token}x` }));
    assert.equal(await client.closed(), 1008);
    assert.match(client.closeReason, /wrong token/);
  });

  it('a gravity frame (text or binary) before authenticating closes with 1008 and moves nothing', async () => {
    const before = leds.states.length;
    for (const first of ['0 90 10', JSON.stringify({ x: 0, y: 90, z: 10 }), encodeGravityBinary(0, 90, 10)] as const) {
      const client = WsClient.connect(system.gatewayUrl);
      await client.opened;
      client.send(first);
      client.send('0 91 10');
      assert.equal(await client.closed(), 1008);
      assert.ok(!client.frames.some((f) => f.type === 'hello' || f.type === 'state'));
    }
    const controller = await WsClient.controller(system);
    await drives(controller, 24);
    assert.deepEqual(
      leds.states.slice(before).map((s) => s.right),
      [24],
      'only the authenticated controller moved the LEDs',
    );
    controller.close();
    await controller.closed();
  });

  it('a viewer must authenticate too, and cannot drive the LEDs', async () => {
    const anonymousViewer = WsClient.connect(`${system.gatewayUrl}?role=viewer`);
    await anonymousViewer.opened;
    anonymousViewer.send('0 92 10');
    assert.equal(await anonymousViewer.closed(), 1008);

    const viewer = WsClient.connect(`${system.gatewayUrl}?role=viewer&token=${encodeURIComponent(token)}`);
    await viewer.opened;
    await viewer.next('hello');
    const before = leds.states.length;
    viewer.send('0 93 10');
    const error = await viewer.next('error');
    assert.match(String(error.message), /viewer/);
    const controller = await WsClient.controller(system);
    await drives(controller, 25);
    assert.deepEqual(
      leds.states.slice(before).map((s) => s.right),
      [25],
    );
    viewer.close();
    controller.close();
    await controller.closed();
  });

  it('the token appears in the gateway log only in the phone link at start, and in no other service log', () => {
    const gateway = system.service('gateway');
    const withToken = gateway.raw.filter((line) => line.includes(token));
    assert.ok(withToken.length > 0, 'the gateway log shows the phone link with the token');
    const links = gateway.lines.filter((l) => l.msg.startsWith('open on the phone'));
    assert.equal(withToken.length, links.length, 'the token is logged only in the phone links');
    for (const name of ['broker', 'led-driver'] as const) {
      assert.ok(!system.service(name).raw.some((line) => line.includes(token)), `${name} logged the token`);
    }
    const { operatorPassword, servicePassword } = system.secrets;
    for (const name of ['broker', 'gateway', 'led-driver'] as const) {
      const raw = system.service(name).raw;
      assert.ok(!raw.some((line) => line.includes(operatorPassword) || line.includes(servicePassword)), `${name} logged a password`);
    }
  });

  it('after all of this every service is still running', () => {
    for (const name of ['broker', 'gateway', 'led-driver'] as const) assert.ok(system.service(name).running, `${name} stopped`);
  });
});

describe('gateway authentication off (GATEWAY_AUTH=none)', () => {
  let system: TestSystem;

  before(async () => {
    system = await TestSystem.start({ env: { GATEWAY_AUTH: 'none', FAILSAFE_TIMEOUT_MS: '600000' } });
  });

  after(async () => {
    await system?.stop();
  });

  it('a client without any token is let in and drives the LEDs', async () => {
    const client = WsClient.connect(system.gatewayUrl);
    await client.opened;
    await client.next('hello');
    client.send('0 31 50');
    await client.next('state', (f) => f.right === 31);
    client.close();
    await client.closed();
  });

  it('the gateway warns at start that authentication is off', async () => {
    const line = await system.service('gateway').waitForLog('GATEWAY_AUTH=none');
    assert.equal(line.level, 40, 'logged as a warning');
  });

  it('and the phone link it logs carries no token', () => {
    const links = system.service('gateway').lines.filter((l) => l.msg.startsWith('open on the phone'));
    assert.ok(links.length > 0);
    for (const link of links) assert.ok(!String(link.link).includes('token='), String(link.link));
  });
});
