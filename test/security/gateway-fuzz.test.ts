/**
 * Fuzzing the gateway over real sockets: tens of thousands of random and mutated frames from an authenticated
 * controller, frames from clients that never authenticated, and mangled HTTP and WebSocket bytes on raw TCP.
 * Each time: no crash, no LED change except by a valid frame, and bounded memory. The seed is printed.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { operatorClient, WsClient } from '../helpers/clients.js';
import { anyInput, type FuzzInput, invalidInputs, mutate, possiblyAcceptedFrame } from '../helpers/fuzz.js';
import { StateWatcher } from '../helpers/leds.js';
import { MEMORY_GROWTH_BOUND, rssBytes } from '../helpers/memory.js';
import { Prng } from '../helpers/prng.js';
import { TestSystem } from '../helpers/system.js';
import { sleep, waitFor } from '../helpers/wait.js';

const FRAMES = 12_000;

function send(client: WsClient, input: FuzzInput): void {
  client.send('bytes' in input ? input.bytes : input.text);
}

/** Runs `task` for 0..count-1 with at most `width` at a time. */
async function inParallel(count: number, width: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

describe('gateway fuzz', () => {
  const rng = Prng.fromEnv('gateway-fuzz');
  let system: TestSystem;
  let mqtt: MqttClient;
  let leds: StateWatcher;
  let controller: WsClient;
  let pid: number;
  let rssAtStart: number;

  before(async () => {
    system = await TestSystem.start({ env: { FAILSAFE_TIMEOUT_MS: '600000', LOG_LEVEL: 'info' } });
    mqtt = await operatorClient(system);
    leds = new StateWatcher(mqtt);
    controller = await WsClient.controller(system);
    controller.send('0 33 50');
    await leds.until('right = 33', (s) => s.right === 33);
    pid = system.service('gateway').child.pid as number;
    rssAtStart = rssBytes(pid);
  });

  after(async () => {
    controller?.close();
    mqtt?.end(true);
    await system?.stop();
  });

  /** A valid frame from the controller, and the LEDs follow it: the gateway still works and everything before it has been handled. */
  async function sentinel(right: number): Promise<void> {
    controller.send(`0 ${right} 50`);
    await leds.until(`right = ${right}`, (s) => s.right === right, 30_000);
  }

  function assertHealthy(): void {
    assert.ok(system.service('gateway').running, 'the gateway process is running');
    const growth = rssBytes(pid) - rssAtStart;
    assert.ok(growth < MEMORY_GROWTH_BOUND, `the gateway grew by ${Math.round(growth / 1024 / 1024)} MB`);
  }

  it(`${FRAMES} invalid random and mutated frames from the controller: each answered with an error, none moves the LEDs`, async () => {
    const inputs = invalidInputs(rng, FRAMES, possiblyAcceptedFrame);
    const statesBefore = leds.states.length;
    const errorsBefore = controller.frames.filter((f) => f.type === 'error').length;
    const errors = () => controller.frames.filter((f) => f.type === 'error').length - errorsBefore;
    // In batches, so the socket's send buffer stays small; no round trip per frame.
    for (let at = 0; at < inputs.length; at += 1000) {
      for (const input of inputs.slice(at, at + 1000)) send(controller, input);
      await waitFor(`error frames for the first ${at + 1000} inputs`, () => errors() >= Math.min(at + 1000, inputs.length) - 1000, 30_000);
    }
    await waitFor(`${FRAMES} error frames`, () => errors() === FRAMES, 60_000);
    assert.equal(leds.states.length, statesBefore, 'an invalid frame changed the LEDs');
    await sentinel(34);
    assert.deepEqual(
      leds.states.slice(statesBefore).map((s) => s.right),
      [34],
    );
    const reasons = new Set(
      controller.frames
        .filter((f) => f.type === 'error')
        .slice(errorsBefore)
        .map((f) => f.reason),
    );
    for (const reason of reasons) assert.match(String(reason), /^[a-z-]+$/);
    assert.equal(controller.closeCode, undefined, 'the controller is still connected');
    assertHealthy();
  });

  it('2,000 mutated frames that may or may not be valid: only valid values light the LEDs, and the last frame wins', async () => {
    const statesBefore = leds.states.length;
    for (let i = 0; i < 2000; i++) send(controller, anyInput(rng));
    await sentinel(35);
    for (const state of leds.states.slice(statesBefore)) {
      assert.equal(state.reason, 'gravity');
      assert.ok(state.left >= 0 && state.left <= 100 && state.right >= 0 && state.right <= 100, JSON.stringify(state));
      assert.ok(state.left === 0 || state.right === 0, 'never both LEDs at once');
    }
    assertHealthy();
  });

  it('300 clients that never authenticate, each throwing frames (valid-looking ones too): all closed with 1008, nothing moves', async () => {
    const statesBefore = leds.states.length;
    const codes = new Map<number, number>();
    await inParallel(300, 12, async (i) => {
      // From twelve loopback addresses, as twelve machines would: the gateway keeps only a few places to
      // authenticate for each address (MAX_PENDING_AUTH_PER_ADDRESS), and this test is about what happens in them.
      const client = WsClient.connect(system.gatewayUrl, { localAddress: `127.0.1.${(i % 12) + 1}` });
      await client.opened;
      for (let i = rng.int(1, 6); i > 0; i--)
        send(client, rng.chance(0.3) ? { text: rng.pick(['0 90 10', '{"x":0,"y":90,"z":10}']) } : anyInput(rng));
      const code = await client.closed(10_000);
      codes.set(code, (codes.get(code) ?? 0) + 1);
      assert.ok(!client.frames.some((f) => f.type === 'hello' || f.type === 'state'), 'an unauthenticated client was answered');
    });
    assert.deepEqual([...codes.keys()], [1008], `close codes: ${JSON.stringify([...codes])}`);
    await sentinel(36);
    assert.deepEqual(
      leds.states.slice(statesBefore).map((s) => s.right),
      [36],
    );
    assertHealthy();
  });

  it('300 raw TCP connections with mangled HTTP requests and WebSocket frames: no crash, nothing moves', async () => {
    const statesBefore = leds.states.length;
    const upgrade = [
      'GET / HTTP/1.1',
      `Host: 127.0.0.1:${system.ports.gateway}`,
      'Upgrade: websocket',
      'Connection: Upgrade',
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
      'Sec-WebSocket-Version: 13',
      '',
      '',
    ].join('\r\n');
    await inParallel(300, 12, async () => {
      const socket: Socket = connect({ host: '127.0.0.1', port: system.ports.gateway });
      socket.on('error', () => {});
      let closed = false;
      socket.on('close', () => {
        closed = true;
      });
      await new Promise((resolve) => socket.once('connect', resolve));
      const kind = rng.int(0, 3);
      if (kind === 0) socket.write(rng.bytes(rng.int(1, 4000)));
      else if (kind === 1) socket.write(mutate(rng, upgrade));
      else if (kind === 2) socket.write(`GET /?x=${'a'.repeat(rng.int(10_000, 40_000))} HTTP/1.1\r\nHost: x\r\n\r\n`);
      else {
        // A proper handshake without a token, then WebSocket frames with broken framing and random payloads.
        socket.write(upgrade);
        await sleep(20);
        for (let i = rng.int(1, 8); i > 0; i--) {
          const header = Buffer.from([rng.int(0, 255), rng.int(0, 255)]);
          socket.write(Buffer.concat([header, rng.bytes(rng.int(0, 200))]));
        }
      }
      // Most are closed at once; the rest (a request cut short, a frame announcing more bytes) are simply dropped.
      await waitFor('the gateway to close', () => closed, 500).catch(() => {});
      socket.destroy();
    });
    await sentinel(37);
    assert.deepEqual(
      leds.states.slice(statesBefore).map((s) => s.right),
      [37],
    );
    assertHealthy();
  });
});
