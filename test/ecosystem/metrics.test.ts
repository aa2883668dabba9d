/** Prometheus endpoints of the gateway and the led-driver, scraped over HTTP after real traffic and parsed. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { mosquittoPub, operatorClient, WsClient } from '../helpers/clients.js';
import { StateWatcher } from '../helpers/leds.js';
import { checkHistogram, type Scrape, scrape } from '../helpers/metrics.js';
import { TestSystem } from '../helpers/system.js';
import { sleep, waitFor } from '../helpers/wait.js';

describe('metrics', () => {
  let system: TestSystem;
  let mqtt: MqttClient;
  let leds: StateWatcher;
  let gatewayUrl: string;
  let driverUrl: string;

  before(async () => {
    system = await TestSystem.start({ env: { FAILSAFE_TIMEOUT_MS: '500' } });
    mqtt = await operatorClient(system);
    leds = new StateWatcher(mqtt);
    gatewayUrl = `http://127.0.0.1:${system.ports.gateway}`;
    driverUrl = `http://127.0.0.1:${system.ports.driverMetrics}`;
  });

  after(async () => {
    mqtt?.end(true);
    await system?.stop();
  });

  it('both endpoints speak the text exposition format 0.0.4, and health says ok', async () => {
    for (const base of [gatewayUrl, driverUrl]) {
      const s = await scrape(`${base}/metrics`);
      assert.match(s.contentType, /^text\/plain; version=0\.0\.4/);
      for (const [name] of s.types) assert.match(name, /^gravity_led_/);
      for (const path of ['/healthz', '/readyz']) {
        const response = await fetch(`${base}${path}`);
        assert.equal(response.status, 200, `${base}${path}`);
        assert.deepEqual(await response.json(), { status: 'ok' });
      }
    }
    const driver = await scrape(`${driverUrl}/metrics`);
    assert.equal(driver.value('gravity_led_driver_mqtt_connected'), 1);
    assert.equal((await fetch(`${driverUrl}/nothing`)).status, 404);
  });

  it('frames, latency, clients, duty and state reasons add up after a controller drives the LEDs', async () => {
    const g0 = await scrape(`${gatewayUrl}/metrics`);
    const d0 = await scrape(`${driverUrl}/metrics`);
    const controller = await WsClient.controller(system);
    const viewer = await WsClient.controller(system, '&role=viewer');

    const g1 = await scrape(`${gatewayUrl}/metrics`);
    assert.equal(g1.value('gravity_led_gateway_clients', { role: 'controller' }), 1);
    assert.equal(g1.value('gravity_led_gateway_clients', { role: 'viewer' }), 1);

    // Each value waits for its state, so none is replaced by the rate cap: every one is published.
    for (const y of [11, 22, 33]) {
      controller.send(`0 ${y} 90`);
      await leds.until(`right = ${y}`, (s) => s.right === y);
    }
    controller.send('1 2');
    controller.send('{"x":');
    controller.send('1 2');
    viewer.send('0 50 80');
    await waitFor(
      'four error frames',
      () => controller.frames.filter((f) => f.type === 'error').length === 3 && viewer.frames.some((f) => f.type === 'error'),
    );

    const g2 = await scrape(`${gatewayUrl}/metrics`);
    const d2 = await scrape(`${driverUrl}/metrics`);
    const delta = (a: Scrape, b: Scrape, name: string, labels?: Record<string, string>) => b.count(name, labels) - a.count(name, labels);
    assert.equal(delta(g0, g2, 'gravity_led_gateway_frames_accepted_total'), 3);
    assert.equal(delta(g0, g2, 'gravity_led_gateway_frames_rejected_total', { reason: 'wrong-count' }), 2);
    assert.equal(delta(g0, g2, 'gravity_led_gateway_frames_rejected_total', { reason: 'bad-json' }), 1);
    assert.equal(delta(g0, g2, 'gravity_led_gateway_frames_rejected_total', { reason: 'refused' }), 1, 'the viewer frame');

    const h0 = g0.types.has('gravity_led_gateway_publish_latency_seconds')
      ? g0.count('gravity_led_gateway_publish_latency_seconds_count')
      : 0;
    const h2 = checkHistogram(g2, 'gravity_led_gateway_publish_latency_seconds');
    assert.equal(h2.count - h0, 3, 'one latency observation per published frame');
    assert.ok(h2.sum > 0);

    for (const s of [g2, d2]) {
      assert.equal(s.value('gravity_led_led_duty_percent', { led: 'right' }), 33);
      assert.equal(s.value('gravity_led_led_duty_percent', { led: 'left' }), 0);
    }
    assert.equal(delta(g0, g2, 'gravity_led_led_states_total', { reason: 'gravity' }), 3);
    assert.equal(delta(d0, d2, 'gravity_led_led_states_total', { reason: 'gravity' }), 3);

    // The last controller leaving is a fail-safe event, counted by reason on both sides.
    controller.close();
    await controller.closed();
    await leds.until('controller-left', (s) => s.reason === 'controller-left');
    const g3 = await scrape(`${gatewayUrl}/metrics`);
    const d3 = await scrape(`${driverUrl}/metrics`);
    assert.equal(delta(g2, g3, 'gravity_led_led_states_total', { reason: 'controller-left' }), 1);
    assert.equal(delta(d2, d3, 'gravity_led_led_states_total', { reason: 'controller-left' }), 1);
    assert.equal(g3.value('gravity_led_led_duty_percent', { led: 'right' }), 0);
    assert.equal(g3.value('gravity_led_gateway_clients', { role: 'controller' }), 0);
    viewer.close();
    await viewer.closed();
  });

  it("the gateway's log lines of one connection carry its connection id", async () => {
    const gateway = system.service('gateway');
    const from = gateway.lines.length;
    const controller = await WsClient.controller(system);
    controller.close();
    await controller.closed();
    const gone = await gateway.waitForLog('controller disconnected', 5000, from);
    const connected = await gateway.waitForLog('controller connected', 5000, from);
    assert.equal(typeof connected.conn, 'number');
    assert.equal(gone.conn, connected.conn);
    const opened = gateway.lines.slice(from).find((l) => l.msg === 'connection opened');
    assert.equal(opened?.conn, connected.conn);
  });

  it('the led-driver counts refused MQTT payloads by topic and kind, and applied manual commands', async () => {
    // Manual commands wait until the phone's last gravity is older than FAILSAFE_TIMEOUT_MS.
    await sleep(600);
    const d0 = await scrape(`${driverUrl}/metrics`);
    assert.equal((await mosquittoPub(system, 'gravity-led/gravity', '1 2')).code, 0);
    assert.equal((await mosquittoPub(system, 'gravity-led/leds/set', '{"left":500}')).code, 0);
    assert.equal((await mosquittoPub(system, 'gravity-led/leds/set', '{"left":5}')).code, 0);
    await leds.until('manual left = 5', (s) => s.reason === 'manual' && s.left === 5);
    const d1 = await scrape(`${driverUrl}/metrics`);
    const rejected = (s: Scrape, topic: string, kind: string) => s.count('gravity_led_driver_rejected_total', { topic, kind });
    assert.equal(rejected(d1, 'gravity-led/gravity', 'wrong-count') - rejected(d0, 'gravity-led/gravity', 'wrong-count'), 1);
    assert.equal(rejected(d1, 'gravity-led/leds/set', 'out-of-range') - rejected(d0, 'gravity-led/leds/set', 'out-of-range'), 1);
    assert.equal(d1.count('gravity_led_driver_manual_commands_total') - d0.count('gravity_led_driver_manual_commands_total'), 1);
    assert.equal(d1.value('gravity_led_led_duty_percent', { led: 'left' }), 5);
  });

  it('the round trips: one observation per frame whose seq came back, the link pinged each second; the same in the stats frames', async () => {
    const histogram = (s: Scrape, name: string) => (s.types.has(name) ? s.count(`${name}_count`) : 0);
    const ROUND_TRIP = 'gravity_led_gateway_led_round_trip_seconds';
    const LINK = 'gravity_led_gateway_link_round_trip_seconds';
    const g0 = await scrape(`${gatewayUrl}/metrics`);
    const viewer = await WsClient.controller(system, '&role=viewer');
    const controller = await WsClient.controller(system);
    // Each frame waits for its state: every one changes the LEDs, so every seq comes back once.
    for (let i = 1; i <= 12; i++) {
      controller.send(JSON.stringify({ x: 0, y: 10 + i, z: 99, seq: 500 + i }));
      await leds.until(`right = ${10 + i}`, (s) => s.right === 10 + i && s.seq === 500 + i);
    }
    // Without seq nothing can be matched: a state, no round trip.
    controller.send('0 40 91.6');
    await leds.until('right = 40', (s) => s.right === 40);
    // The same seq again with an unchanged duty: no state, so no round trip either.
    controller.send(JSON.stringify({ x: 0, y: 40, z: 91.6, seq: 600 }));
    const stats = await viewer.next('stats', (f) => (f.roundTrip as { samples: number } | null)?.samples === 12, 10_000);
    assert.equal(stats.window, 5);
    assert.ok(Number(stats.received) > 0 && Number(stats.ledUpdates) > 0, JSON.stringify(stats));
    const roundTrip = stats.roundTrip as { p50: number; max: number; samples: number };
    assert.ok(roundTrip.p50 > 0 && roundTrip.p50 <= roundTrip.max, JSON.stringify(roundTrip));
    await controller.next('stats', (f) => f.link !== null, 10_000);
    const g1 = await scrape(`${gatewayUrl}/metrics`);
    assert.equal(histogram(g1, ROUND_TRIP) - histogram(g0, ROUND_TRIP), 12);
    assert.ok(histogram(g1, LINK) - histogram(g0, LINK) >= 1, 'the controller answered a ping');
    checkHistogram(g1, ROUND_TRIP);

    // The controller leaves: the figures go on until the window is quiet, then one quiet frame, then silence.
    controller.close();
    await controller.closed();
    const quiet = await viewer.next(
      'stats',
      (f) => f.received === 0 && f.ledUpdates === 0 && f.roundTrip === null && f.link === null,
      15_000,
    );
    assert.equal(quiet.type, 'stats');
    const count = viewer.frames.filter((f) => f.type === 'stats').length;
    await sleep(2500);
    assert.equal(viewer.frames.filter((f) => f.type === 'stats').length, count, 'no figures while nothing happens');
    viewer.close();
    await viewer.closed();
  });

  it('a phone held still: the frames that change nothing are not timed to the next change', async () => {
    const ROUND_TRIP = 'gravity_led_gateway_led_round_trip_seconds';
    const samples = async () => (await scrape(`${gatewayUrl}/metrics`)).count(`${ROUND_TRIP}_count`);
    const frame = (y: number, seq: number) => JSON.stringify({ x: 0, y, z: 98, seq });
    const controller = await WsClient.controller(system);
    controller.send(frame(20, 700));
    // Its state frame is sent after the gateway has timed it.
    await controller.next('state', (f) => f.seq === 700);
    const before = await samples();
    // Held still for a second, at 30 frames a second, as at full brightness past the set tilt: every frame applied,
    // none changing the LEDs, none echoed.
    for (let seq = 701; seq <= 730; seq++) {
      controller.send(frame(20, seq));
      await sleep(33);
    }
    await sleep(300);
    controller.send(frame(21, 731));
    const state = await leds.until('right = 21', (s) => s.right === 21 && s.seq === 731);
    // The newest frame applied without a change: 730, unless it came in one read with 731 (superseded by it).
    const unchanged = state.unchanged ?? Number.NaN;
    assert.ok(unchanged >= 701 && unchanged <= 730, JSON.stringify(state));
    const echoed = await controller.next('state', (f) => f.seq === 731);
    assert.equal(echoed.unchanged, unchanged, 'the page is told too (gateway/public/measured.js does the same)');
    const from = controller.frames.length;
    // 731 itself, and any frame after `unchanged` that 731 superseded: not the 30 frames held still.
    assert.equal((await samples()) - before, 1 + (730 - unchanged));
    // The figures the page shows, sent after 731 was timed: its worst case is not the 1.3 s held still.
    const stats = await controller.next('stats', (f) => f.roundTrip !== null, 5000, from);
    assert.ok((stats.roundTrip as { max: number }).max < 1000, JSON.stringify(stats.roundTrip));
    controller.close();
    await controller.closed();
  });
});
