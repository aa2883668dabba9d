/**
 * The led-driver process with its warm-up on (WARMUP_FRAMES), started as its container starts it, against a real
 * broker: it says how it warmed up, then works as ever; nothing of the rehearsal reaches a topic of the broker or the
 * real LEDs (the fake pigpio, which records every PWM write, as the real backend); a stop signal during the rehearsal
 * stops the service at once and cleanly; WARMUP_FRAMES=0 rehearses nothing.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { operatorClient } from '../helpers/clients.js';
import { type PinState, pigpioEnv, readPigpioState } from '../helpers/fake-pigpio.js';
import { PATIENCE_MS } from '../helpers/faults.js';
import { type LogLine, ServiceProcess, type SimLeds, START_PATIENCE_MS, TestSystem } from '../helpers/system.js';
import { waitFor, within } from '../helpers/wait.js';

const scratch = mkdtempSync(join(tmpdir(), 'gravity-led-warm-up-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** Everything the broker delivers to a subscriber of `#`: every topic of the system (not $SYS). */
async function everything(system: TestSystem): Promise<{ client: MqttClient; seen: { topic: string; payload: string }[] }> {
  const client = await operatorClient(system);
  const seen: { topic: string; payload: string }[] = [];
  client.on('message', (topic, payload) => seen.push({ topic, payload: payload.toString() }));
  await client.subscribeAsync('#', { qos: 1 });
  return { client, seen };
}

/** The position of the first log record whose message contains `text`, or -1. */
function indexOf(lines: readonly LogLine[], text: string): number {
  return lines.findIndex((l) => typeof l.msg === 'string' && l.msg.includes(text));
}

/** A led-driver on its own, without a broker it could reach: the rehearsal needs none. */
function loneDriver(name: string, env: Record<string, string>): ServiceProcess {
  return new ServiceProcess('led-driver', {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    DATA_DIR: scratch,
    LOG_FORMAT: 'json',
    LOG_LEVEL: 'debug',
    METRICS_PORT: '0',
    MQTT_URL: 'mqtt://127.0.0.1:1',
    LED_BACKEND: 'sim',
    LED_SIM_FILE: join(scratch, `${name}.json`),
    ...env,
  });
}

describe('the led-driver process with WARMUP_FRAMES', () => {
  it('logs its warm-up, then drives the LEDs from the real broker; no message of the rehearsal reaches a topic', async () => {
    const system = await TestSystem.start({ services: ['broker'] });
    const { client, seen } = await everything(system);
    try {
      Object.assign(system.env, { WARMUP_FRAMES: '500' });
      const driver = await system.startService('led-driver', 'led-driver ready');
      const warmed = await driver.waitForLog('warmed up');
      assert.equal(warmed.level, 30);
      assert.equal(warmed.frames, 500);
      assert.equal(typeof warmed.ms, 'number');
      assert.equal(warmed.msg, `warmed up: 500 frames in ${warmed.ms} ms`);
      assert.equal(driver.lines.filter((l) => l.msg.startsWith('warmed up')).length, 1, 'said once');
      await driver.waitForLog('connected to MQTT broker', PATIENCE_MS);
      // Subscribed once it says `online` (its subscriptions come after the CONNACK): a frame before would be lost.
      await waitFor(
        'the led-driver online',
        () => seen.some((m) => m.topic === 'gravity-led/led-driver/status' && m.payload === 'online'),
        PATIENCE_MS,
      );
      // The warm-up comes before the real driver exists: before it is ready, before it reaches the broker.
      assert.ok(indexOf(driver.lines, 'warmed up') < indexOf(driver.lines, 'led-driver ready'));
      assert.ok(indexOf(driver.lines, 'warmed up') < indexOf(driver.lines, 'connected to MQTT broker'));
      // The private driver logs nothing: the real one connects once, and its LEDs were released once (none yet).
      assert.equal(driver.lines.filter((l) => l.msg === 'connected to MQTT broker').length, 1);
      assert.equal(driver.lines.filter((l) => l.msg === 'LED hardware released').length, 0);

      client.publish('gravity-led/gravity', '{"x":0,"y":40,"z":91.65,"seq":424242}');
      await waitFor('the green LED at 40 %', () => system.simLeds?.right === 40, PATIENCE_MS);
      await waitFor('its state on the broker', () =>
        seen.some((m) => m.topic === 'gravity-led/leds/state' && m.payload.includes('424242')),
      );

      // On the broker: our one gravity value, and the real driver's own messages only.
      const gravity = seen.filter((m) => m.topic === 'gravity-led/gravity');
      assert.deepEqual(
        gravity.map((m) => m.payload),
        ['{"x":0,"y":40,"z":91.65,"seq":424242}'],
      );
      const states = seen
        .filter((m) => m.topic === 'gravity-led/leds/state')
        .map((m) => JSON.parse(m.payload) as { reason: string; seq?: number });
      assert.deepEqual(
        states.map((s) => [s.reason, s.seq]),
        [
          ['start', undefined],
          ['gravity', 424242],
        ],
      );
      assert.deepEqual(
        seen.filter((m) => m.topic.startsWith('gravity-led/gateway/')),
        [],
        "the scripted gateway's messages stayed in the rehearsal",
      );
      assert.deepEqual(
        seen.filter((m) => m.topic === 'gravity-led/led-driver/status').map((m) => m.payload),
        ['online'],
      );
      assert.deepEqual(driver.linesAtLeast(40), [], 'no warning');
    } finally {
      client.end(true);
      await system.stop();
    }
  });

  it('never writes the real LEDs during the rehearsal: the fake pigpio records no duty above 0 until a real frame', async () => {
    const system = await TestSystem.start({ services: ['broker'] });
    const stateFile = join(system.dataDir, 'pigpio.json');
    const model = join(system.dataDir, 'model');
    writeFileSync(model, 'Raspberry Pi 4 Model B Rev 1.4\0');
    Object.assign(system.env, {
      LED_BACKEND: 'pigpio',
      LED_BOARD_MODEL_FILE: model,
      WARMUP_FRAMES: '300',
      ...pigpioEnv(stateFile),
    });
    const client = await operatorClient(system);
    try {
      const driver = await system.startService('led-driver', 'led-driver ready');
      assert.equal((await driver.waitForLog('warmed up')).frames, 300);
      const pins = readPigpioState(stateFile)?.pins;
      assert.ok(pins, 'the led-driver loaded the fake pigpio');
      for (const gpio of ['18', '5']) {
        const pin: PinState | undefined = pins[gpio];
        assert.ok(pin, `GPIO ${gpio} opened`);
        assert.equal(pin.peak, 0, `GPIO ${gpio} never lit: ${JSON.stringify(pin.writes)}`);
        assert.ok(
          pin.writes.every((steps) => steps === 0),
          `GPIO ${gpio} written only 0: ${JSON.stringify(pin.writes)}`,
        );
      }
      // The real LEDs are the real driver's: a real frame lights them (PWM range 1000: 40 % is 400 steps), once the
      // driver is subscribed (`online`, retained: it comes after the CONNACK and the SUBACKs).
      await driver.waitForLog('connected to MQTT broker', PATIENCE_MS);
      const online = new Promise<void>((resolve) =>
        client.on('message', (topic, payload) => topic === 'gravity-led/led-driver/status' && payload.toString() === 'online' && resolve()),
      );
      await client.subscribeAsync('gravity-led/led-driver/status', { qos: 1 });
      await within(online, PATIENCE_MS, 'the led-driver online');
      client.publish('gravity-led/gravity', '0 40 91.65');
      await waitFor('GPIO 18 at 400 steps', () => readPigpioState(stateFile)?.pins['18']?.peak === 400, PATIENCE_MS);
    } finally {
      client.end(true);
      await system.stop();
    }
  });

  it('a stop signal during the rehearsal stops the service at once, cleanly', async () => {
    const driver = loneDriver('stop', { WARMUP_FRAMES: '100000' });
    try {
      await driver.waitForLog('warming up', START_PATIENCE_MS);
      const signalled = Date.now();
      driver.kill('SIGTERM');
      const { code } = await driver.exited(10_000);
      const took = Date.now() - signalled;
      assert.equal(code, 0, driver.raw.join('\n'));
      // Well before the rehearsal's own 5 s deadline, and within the shutdown's promise of 2 s.
      assert.ok(took < 2000, `stopped ${took} ms after the signal`);
      const warmed = driver.lines.find((l) => l.msg.startsWith('warmed up'));
      assert.ok(warmed && typeof warmed.frames === 'number' && warmed.frames < 100_000, JSON.stringify(warmed));
      assert.ok(indexOf(driver.lines, 'warm-up cut short') >= 0);
      assert.ok(indexOf(driver.lines, 'led-driver stopped') > indexOf(driver.lines, 'warmed up'));
      assert.deepEqual(driver.linesAtLeast(50), [], 'no error');
      const leds = readFileSync(join(scratch, 'stop.json'), 'utf8');
      assert.deepEqual(
        JSON.parse(leds) as SimLeds,
        { left: 0, right: 0, closed: true, pid: driver.child.pid },
        'the real LEDs off and released',
      );
    } finally {
      driver.kill('SIGKILL');
    }
  });

  it('WARMUP_FRAMES=0 rehearses nothing', async () => {
    const driver = loneDriver('off', { WARMUP_FRAMES: '0' });
    try {
      await driver.waitForLog('led-driver ready', START_PATIENCE_MS);
      assert.deepEqual(
        driver.lines.filter((l) => /warm/i.test(l.msg)),
        [],
      );
    } finally {
      driver.kill('SIGKILL');
    }
  });
});
