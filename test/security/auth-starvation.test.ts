/**
 * Strangers who hold the places kept for connections still authenticating must not lock the phone out. They open
 * WebSocket handshakes without a token and never send an auth frame, reopening each as soon as it is closed or
 * refused: first from one address (the phone's own, 127.0.0.1), then from sixteen more. Meanwhile the real phone page
 * in Chromium connects, takes control and drives the LEDs, and a client using first-frame auth from another address
 * still gets in while the attack comes from one. The gateway's memory and log stay small.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { AUTH_TIMEOUT_MS, MAX_PENDING_AUTH, MAX_PENDING_AUTH_PER_ADDRESS } from '@gravity-led/gateway';
import type { MqttClient } from 'mqtt';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, setMotion } from '../helpers/browser.js';
import { operatorClient, WsClient } from '../helpers/clients.js';
import { StateWatcher } from '../helpers/leds.js';
import { rssBytes } from '../helpers/memory.js';
import { TestSystem } from '../helpers/system.js';
import { sleep, waitFor } from '../helpers/wait.js';

const RSS_BOUND = 20 * 1024 * 1024;
const G = 9.80665;

/**
 * Idle tokenless handshakes kept open from each address; each one closed or refused is opened again a second later.
 * That keeps every place taken (a place frees up only when its AUTH_TIMEOUT_MS is over), at a rate of a few hundred
 * handshakes a second: the attack of the issue (about 8 a second sufficed), not a flood of connections at the
 * highest rate a machine can make them, which costs any Node server its heap's growth until V8's first full GC.
 */
class Squatters {
  readonly statuses = new Map<string, number>();
  attempts = 0;
  private readonly sockets = new Set<Socket>();
  private running = true;

  constructor(
    private readonly port: number,
    addresses: readonly string[],
    perAddress: number,
  ) {
    for (const address of addresses) for (let i = 0; i < perAddress; i++) this.open(address);
  }

  private open(localAddress: string): void {
    if (!this.running) return;
    this.attempts++;
    const socket = connect({ host: '127.0.0.1', port: this.port, localAddress });
    this.sockets.add(socket);
    socket.on('error', () => {});
    socket.once('data', (chunk: Buffer) => {
      const status = /^HTTP\/1\.1 (\d{3})/.exec(chunk.toString('latin1'))?.[1] ?? 'other';
      this.statuses.set(status, (this.statuses.get(status) ?? 0) + 1);
      // An accepted one (101) is held as it is and never authenticates; it reads on only to see when it is closed.
    });
    socket.on('close', () => {
      this.sockets.delete(socket);
      setTimeout(() => this.open(localAddress), 1000);
    });
    socket.write(
      `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
  }

  stop(): void {
    this.running = false;
    for (const socket of this.sockets) socket.destroy();
  }
}

describe('strangers holding the places for connections still authenticating', () => {
  let system: TestSystem;
  let browser: Browser;
  let mqtt: MqttClient;
  let leds: StateWatcher;
  let rssAtStart: number;
  let rssHighest = 0;
  let sampler: NodeJS.Timeout | undefined;
  let logFrom: number;
  const squatters: Squatters[] = [];

  before(async () => {
    system = await TestSystem.start({ env: { FAILSAFE_TIMEOUT_MS: '600000', LOG_LEVEL: 'info' } });
    mqtt = await operatorClient(system);
    leds = new StateWatcher(mqtt);
    browser = await launchChromium();
    // The page and the browser are loaded once before the attack, so the baseline includes what a phone costs.
    const warmup = await browser.newContext();
    const page = await warmup.newPage();
    await page.goto(`http://127.0.0.1:${system.ports.gateway}/#token=${encodeURIComponent(system.secrets.gatewayToken)}`);
    await waitFor('the page to connect', async () => (await page.locator('#status').getAttribute('data-state')) === 'ready', 15_000);
    await warmup.close();
    await sleep(500);
    const pid = system.service('gateway').child.pid as number;
    rssAtStart = rssBytes(pid);
    sampler = setInterval(() => {
      rssHighest = Math.max(rssHighest, rssBytes(pid));
    }, 200);
    logFrom = system.service('gateway').mark;
  });

  after(async () => {
    clearInterval(sampler);
    for (const s of squatters) s.stop();
    await browser?.close();
    mqtt?.end(true);
    await system?.stop();
  });

  /** A fresh phone page: it connects while the attack runs, takes control, and its tilt reaches the LEDs. */
  async function phoneDrives(duty: number): Promise<void> {
    const context = await browser.newContext({ viewport: { width: 390, height: 780 }, isMobile: true, hasTouch: true });
    try {
      const page: Page = await context.newPage();
      await page.goto(`http://127.0.0.1:${system.ports.gateway}/#token=${encodeURIComponent(system.secrets.gatewayToken)}`);
      const status = page.locator('#status');
      await waitFor('the page to be connected', async () => (await status.getAttribute('data-state')) === 'ready', 15_000);
      await page.locator('#start').click();
      await waitFor('the page to control', async () => /Controlling/.test((await status.textContent()) ?? ''), 15_000);
      const s = duty / 100;
      await setMotion(page, { x: -s * G, y: Math.sqrt(1 - s * s) * G, z: 0 });
      await leds.until(`right = ${duty} from the page`, (l) => l.right === duty && l.left === 0, 15_000);
    } finally {
      await context.close();
    }
  }

  it(`from one address, more than ${MAX_PENDING_AUTH} at once: the page gets in and drives, and so does a first-frame client from elsewhere`, async () => {
    const attack = new Squatters(system.ports.gateway, ['127.0.0.1'], MAX_PENDING_AUTH + 8);
    squatters.push(attack);
    await waitFor('the attack to hold its places', () => (attack.statuses.get('101') ?? 0) >= MAX_PENDING_AUTH_PER_ADDRESS, 10_000);
    await sleep(1000);
    await phoneDrives(80);
    // As a viewer: the page's controller place may still be closing.
    const legacy = WsClient.connect(`${system.gatewayUrl}?role=viewer`, { localAddress: '127.0.0.99' });
    await legacy.opened;
    legacy.send(JSON.stringify({ type: 'auth', token: system.secrets.gatewayToken }));
    await legacy.next('hello');
    legacy.close();
    assert.ok((attack.statuses.get('429') ?? 0) > 0, `the attack was never refused: ${JSON.stringify([...attack.statuses])}`);
  });

  it('from seventeen addresses, every place taken: the page still gets in and drives', async () => {
    const addresses = Array.from({ length: 16 }, (_, i) => `127.0.0.${i + 2}`);
    const attack = new Squatters(system.ports.gateway, addresses, MAX_PENDING_AUTH_PER_ADDRESS + 4);
    squatters.push(attack);
    await waitFor('the attack to be refused for want of places', () => (attack.statuses.get('503') ?? 0) > 0, 15_000);
    await phoneDrives(60);
    // Once every place has been given up and taken again (each waits AUTH_TIMEOUT_MS for its auth frame).
    await sleep(AUTH_TIMEOUT_MS + 1000);
    await phoneDrives(70);
  });

  it('meanwhile the gateway stayed within 20 MB of its start and logged each kind of refusal once', async () => {
    const attempts = squatters.reduce((n, s) => n + s.attempts, 0);
    clearInterval(sampler);
    const rss = Math.max(rssHighest, rssBytes(system.service('gateway').child.pid as number));
    for (const s of squatters) s.stop();
    process.stdout.write(
      `# ${attempts} handshakes by the squatters; ${JSON.stringify(squatters.map((s) => Object.fromEntries(s.statuses)))}\n`,
    );
    assert.ok(attempts > 500, `only ${attempts} attempts: the attack did not press`);
    assert.ok(rss - rssAtStart < RSS_BOUND, `the gateway grew by ${((rss - rssAtStart) / 1024 / 1024).toFixed(1)} MB`);
    const lines = system
      .service('gateway')
      .lines.slice(logFrom)
      .filter((l) => l.level >= 30);
    assert.ok(lines.length < 30, `${lines.length} log lines: ${lines.map((l) => l.msg).join(' | ')}`);
    assert.ok(system.service('gateway').running);
  });
});
