/**
 * Graceful shutdown (docker stop, Ctrl+C): every service ends on SIGTERM/SIGINT with exit code 0 and no error in
 * its log; exit code 0 also proves it finished within the 2 s deadline, past which it would exit with 1. The
 * led-driver turns both LEDs off, then releases the GPIO, then exits, and leaves the truth retained behind it.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { collect, operatorClient, WsClient } from '../helpers/clients.js';
import { bothOff, light, PATIENCE_MS, pins } from '../helpers/faults.js';
import { StateWatcher } from '../helpers/leds.js';
import { type ServiceProcess, TestSystem } from '../helpers/system.js';
import { waitFor } from '../helpers/wait.js';

/** Index of the first log record from `from` on whose message contains `text` (and matches `extra`). */
function indexOfLog(service: ServiceProcess, text: string, from: number, extra: Record<string, unknown> = {}): number {
  const index = service.lines.slice(from).findIndex((l) => l.msg.includes(text) && Object.entries(extra).every(([k, v]) => l[k] === v));
  assert.ok(index >= 0, `${service.name} logged "${text}" ${JSON.stringify(extra)}:\n${service.raw.slice(-20).join('\n')}`);
  return from + index;
}

/** Stops a service with `signal` and checks that it ended cleanly: exit code 0, "stopped" logged, no error logged. */
async function stopCleanly(service: ServiceProcess, signal: NodeJS.Signals, from: number): Promise<void> {
  service.kill(signal);
  const { code, signal: killedBy } = await service.exited(PATIENCE_MS);
  assert.deepEqual({ code, killedBy }, { code: 0, killedBy: null }, service.raw.slice(-20).join('\n'));
  indexOfLog(service, `${service.name} stopped`, from);
  assert.deepEqual(service.linesAtLeast(50, from), [], `${service.name} logged no error while stopping`);
}

/** A TCP connection that says nothing. */
function idleConnection(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => resolve(socket));
    socket.on('error', reject);
  });
}

describe('graceful shutdown on SIGTERM / SIGINT', () => {
  let system: TestSystem;
  let mqtt: MqttClient;
  let leds: StateWatcher;

  before(async () => {
    system = await TestSystem.start();
    mqtt = await operatorClient(system);
    leds = new StateWatcher(mqtt);
  });

  after(async () => {
    mqtt?.end(true);
    await system?.stop();
  });

  it('SIGTERM to the led-driver: LEDs off, then the GPIO released, then exit 0; the retained state says `shutdown`', async () => {
    const driver = system.service('led-driver');
    const client = await WsClient.controller(system);
    await light(client, 65);
    await pins(system, 'right = 65', (p) => p.right === 65 && !p.closed);
    const from = driver.mark;
    const frames = client.frames.length;

    await stopCleanly(driver, 'SIGTERM', from);
    // The order, from the driver's own log: off first, then the hardware let go, then the end.
    const off = indexOfLog(driver, 'LEDs off (fail-safe)', from, { reason: 'shutdown' });
    const released = indexOfLog(driver, 'LED hardware released', from);
    const stopped = indexOfLog(driver, 'led-driver stopped', from);
    assert.ok(off < released && released < stopped, `off (${off}) < released (${released}) < stopped (${stopped})`);
    // The pins, as the process left them: off and released.
    assert.deepEqual(system.simLeds && { ...system.simLeds, pid: 0 }, { left: 0, right: 0, closed: true, pid: 0 });

    // What anyone who looks now learns: the retained state and status, and on the phone the reason and the outage.
    const late = await operatorClient(system);
    try {
      const state = await new StateWatcher(late).until('the retained state', () => true, PATIENCE_MS);
      assert.deepEqual([state.left, state.right, state.reason], [0, 0, 'shutdown']);
      const status = collect(late, 'gravity-led/led-driver/status');
      await waitFor('the retained led-driver status', () => status.messages.at(-1));
      assert.equal(status.messages.at(-1), 'offline');
    } finally {
      late.end(true);
    }
    await client.next('state', (f) => bothOff(f) && f.reason === 'shutdown', PATIENCE_MS, frames);
    await client.next('unavailable', () => true, PATIENCE_MS, frames);

    // Started again, it takes over by itself: the same phone drives the LEDs.
    const restart = driver.mark;
    await driver.restart('led-driver ready');
    await driver.waitForLog('connected to MQTT broker', PATIENCE_MS, restart);
    await client.next('available', () => true, PATIENCE_MS, frames);
    await light(client, 25);
    await pins(system, 'right = 25', (p) => p.right === 25 && !p.closed);
    client.close();
    await client.closed();
    await leds.until('both off', bothOff, PATIENCE_MS);
  });

  it('SIGINT to the led-driver with the LEDs already off: exit 0, and the last word is still `shutdown`', async () => {
    const driver = system.service('led-driver');
    await leds.until('both off', bothOff, PATIENCE_MS);
    const from = driver.mark;
    const states = leds.states.length;
    await stopCleanly(driver, 'SIGINT', from);
    indexOfLog(driver, 'LED hardware released', from);
    const last = await leds.until('the shutdown state', (s) => s.reason === 'shutdown', PATIENCE_MS);
    assert.ok(leds.states.length > states);
    assert.ok(bothOff(last));
    await driver.restart('led-driver ready');
    await driver.waitForLog('connected to MQTT broker', PATIENCE_MS, from);
  });

  it('SIGTERM to the gateway: its controllers are told it is going away (1001), it says `offline`, and exits 0', async () => {
    const gateway = system.service('gateway');
    const client = await WsClient.controller(system);
    await light(client, -40);
    // Connections that are not sessions yet must not hold the shutdown up: one silent, one not authenticated.
    const silent = await idleConnection(system.ports.gateway);
    const unauthenticated = WsClient.connect(system.gatewayUrl);
    await unauthenticated.opened;
    const status = collect(mqtt, 'gravity-led/gateway/status');
    const from = gateway.mark;
    await stopCleanly(gateway, 'SIGTERM', from);
    silent.destroy();
    assert.equal(await client.closed(), 1001);
    await waitFor('gateway offline', () => status.messages.includes('offline'), PATIENCE_MS);
    // The controller left first, then the gateway: either is a true reason for the dark.
    const off = await leds.until('both off', bothOff, PATIENCE_MS);
    assert.ok(['controller-left', 'gateway-offline'].includes(off.reason), off.reason);
    await pins(system, 'off', bothOff);
  });

  it('SIGTERM to the broker: exit 0; then gateway and led-driver, left without a broker, still stop cleanly', async () => {
    await system.service('gateway').restart('gateway ready');
    const broker = system.service('broker');
    const driver = system.service('led-driver');
    const gateway = system.service('gateway');
    // A client that connected but has not sent CONNECT yet (as a service does while reconnecting) must not hold
    // the shutdown up.
    const silent = await idleConnection(system.ports.broker);
    await stopCleanly(broker, 'SIGTERM', broker.mark);
    silent.destroy();
    await driver.waitForLog('lost the MQTT broker', PATIENCE_MS);
    const marks = { driver: driver.mark, gateway: gateway.mark };
    await Promise.all([stopCleanly(driver, 'SIGTERM', marks.driver), stopCleanly(gateway, 'SIGTERM', marks.gateway)]);
    assert.deepEqual(system.simLeds && { ...system.simLeds, pid: 0 }, { left: 0, right: 0, closed: true, pid: 0 });
  });
});
