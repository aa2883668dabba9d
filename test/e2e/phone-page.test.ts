/**
 * The phone page and the live view in real headless Chromium against the real system: synthetic `devicemotion`
 * events drive the LEDs (checked on MQTT and on the page), the token flow, the in-use message, reconnection, and
 * the page served under a LAN host name over https (a secure context) and over plain http (the https guidance); the
 * measured figures on both pages and in /metrics, Set level and the sensitivity, and Record with its download replayed
 * by the command-line client to the same LED states.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { readRecording } from '@gravity-led/client';
import { CERTIFICATE_FILE } from '@gravity-led/shared';
import type { MqttClient } from 'mqtt';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { launchChromium, setMotion, turnedRight } from '../helpers/browser.js';
import { runCli } from '../helpers/cli.js';
import { collect, operatorClient, WsClient } from '../helpers/clients.js';
import { type StateMessage, StateWatcher } from '../helpers/leds.js';
import { checkHistogram, scrape } from '../helpers/metrics.js';
import { assertReplayed, coalescedInputs } from '../helpers/replay.js';
import { ROOT, TestSystem } from '../helpers/system.js';
import { servedCertificate } from '../helpers/tls.js';
import { sleep, waitFor } from '../helpers/wait.js';

const G = 9.80665;
/** Turned clockwise by asin(0.8) = 53.1°: right edge down, so the seed's y is +80 (green 80 %). */
const TILT_RIGHT_80 = { x: -0.8 * G, y: 0.6 * G, z: 0 };
/** Turned anticlockwise: y = -60 (red 60 %). */
const TILT_LEFT_60 = { x: 3, y: 4, z: 0 };
/** README's picture is refreshed only on request (UPDATE_SCREENSHOTS=1): a test run must not change the work tree. */
const SCREENSHOT = process.env.UPDATE_SCREENSHOTS ? join(ROOT, 'docs/phone.png') : join(tmpdir(), `gravity-led-phone-${process.pid}.png`);
/** A phone held turned right by about 53° (80 % green), wobbling ±4° as a hand does: the LEDs change with every frame. */
const HAND_AT_80 = { degrees: 53.13, amplitude: 4 };

/** What the element shows (textContent: the page puts no hidden text in these). */
async function text(locator: Locator): Promise<string> {
  return ((await locator.textContent()) ?? '').trim();
}

describe('phone page and live view in Chromium', () => {
  let system: TestSystem;
  let browser: Browser;
  let mqtt: MqttClient;
  let leds: StateWatcher;
  const contexts: BrowserContext[] = [];
  const pageErrors: string[] = [];

  before(async () => {
    // The certificate the gateway generates itself, naming the host a phone uses (PUBLIC_HOSTS), as on a real LAN.
    system = await TestSystem.start({ env: { GATEWAY_HTTPS_PORT: 'auto', PUBLIC_HOSTS: 'pi.test' } });
    mqtt = await operatorClient(system);
    leds = new StateWatcher(mqtt);
    browser = await launchChromium(['--host-resolver-rules=MAP pi.test 127.0.0.1']);
  });

  // Every test leaves no page behind, failed or not: a page still controlling would hold the only place.
  afterEach(async () => {
    for (const context of contexts.splice(0)) await context.close().catch(() => {});
    assert.deepEqual(pageErrors.splice(0), [], 'no script error in any page');
  });

  after(async () => {
    await browser?.close();
    mqtt?.end(true);
    await system?.stop();
  });

  /** A fresh browser profile (own storage), sized like a phone. */
  async function openPage(url: string): Promise<Page> {
    const context = await browser.newContext({
      viewport: { width: 390, height: 780 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
      ignoreHTTPSErrors: true,
    });
    contexts.push(context);
    const page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(`${page.url()}: ${error.message}`));
    await page.goto(url);
    return page;
  }

  const httpBase = () => `http://127.0.0.1:${system.ports.gateway}`;
  const token = () => system.secrets.gatewayToken;

  async function statusIs(page: Page, state: string, shows?: RegExp): Promise<void> {
    const status = page.locator('#status');
    await waitFor(
      `status ${state}${shows ? ` showing ${shows}` : ''}`,
      async () => (await status.getAttribute('data-state')) === state && (!shows || shows.test(await text(status))),
      10_000,
    );
  }

  async function ledDuty(page: Page, side: 'left' | 'right'): Promise<{ duty: number; opacity: number; text: string }> {
    return page.evaluate((s) => {
      const led = document.getElementById(`led-${s}`) as HTMLElement;
      const glow = led.querySelector('.glow') as HTMLElement;
      return {
        duty: Number(led.dataset.duty),
        opacity: Number(getComputedStyle(glow).opacity),
        text: (led.querySelector('output') as HTMLElement).textContent ?? '',
      };
    }, side);
  }

  async function waitLed(page: Page, side: 'left' | 'right', duty: number): Promise<void> {
    await waitFor(`the page to show ${side} = ${duty}`, async () => (await ledDuty(page, side)).duty === duty, 10_000);
  }

  it('takes the token from the fragment, hides it from the address, keeps it for a reload, and connects', async () => {
    const page = await openPage(`${httpBase()}/#token=${encodeURIComponent(token())}`);
    await statusIs(page, 'ready', /Connected/);
    assert.equal(await page.evaluate(() => location.hash), '', 'the token left the visible address');
    assert.equal(await page.evaluate(() => localStorage.getItem('gravity-led.token')), token());
    assert.equal(await page.locator('#token-form').isHidden(), true);
    await page.reload();
    await statusIs(page, 'ready', /Connected/);
    await page.context().close();
  });

  it('a wrong token says so and asks for the token; typing the right one connects', async () => {
    const page = await openPage(`${httpBase()}/#token=not-the-right-token-at-all`);
    await statusIs(page, 'refused', /Wrong token/);
    assert.equal(await page.locator('#token-form').isVisible(), true);
    await page.locator('#token-form input').fill(token());
    await page.locator('#token-form button').click();
    await statusIs(page, 'ready', /Connected/);
    assert.equal(await page.locator('#token-form').isHidden(), true);
    await page.context().close();
  });

  it('Start, then devicemotion events: the LEDs follow over MQTT and on the page, all of it on screen', async () => {
    const page = await openPage(`${httpBase()}/#token=${encodeURIComponent(token())}`);
    await statusIs(page, 'ready');
    assert.equal(await page.evaluate(() => window.isSecureContext), true, 'loopback is a secure context');
    await page.locator('#start').click();
    await statusIs(page, 'ready', /Controlling/);
    await setMotion(page, TILT_RIGHT_80);
    const state = await leds.until('right = 80 from the page', (s) => s.right === 80 && s.left === 0, 10_000);
    assert.equal(state.reason, 'gravity');
    assert.equal(typeof state.seq, 'number', 'the page numbers its frames');
    await waitLed(page, 'right', 80);
    assert.equal((await ledDuty(page, 'right')).text, '80 %');
    // The glow's opacity is the duty cycle (after its short transition).
    await waitFor('green glow at 0.8', async () => Math.abs((await ledDuty(page, 'right')).opacity - 0.8) < 0.01, 10_000);
    assert.equal((await ledDuty(page, 'left')).opacity, 0);
    assert.equal(await text(page.locator('#gy')), '80.0');

    await page.screenshot({ path: join(tmpdir(), `gravity-led-phone-steady-${process.pid}.png`) });
    for (const id of ['#status', '#led-left', '#led-right', '#start', '#tilt']) {
      assert.equal(await page.locator(id).isVisible(), true, `${id} visible`);
      const box = await page.locator(id).boundingBox();
      assert.ok(
        box && box.width > 0 && box.height > 0 && box.y >= 0 && box.y + box.height <= 780,
        `${id} on screen: ${JSON.stringify(box)}`,
      );
    }
    const left = await page.locator('#led-left .bulb').boundingBox();
    const rightBox = await page.locator('#led-right .bulb').boundingBox();
    assert.ok(left && rightBox && left.x + left.width < rightBox.x, 'red on the left, green on the right, apart');
    assert.ok(left.width >= 100, 'the LEDs are big enough to read at a glance');
    assert.equal(await text(page.locator('#start')), 'Stop');

    await setMotion(page, TILT_LEFT_60);
    await leds.until('left = 60 from the page', (s) => s.left === 60 && s.right === 0, 10_000);
    await waitLed(page, 'left', 60);
    await waitLed(page, 'right', 0);

    // The sensor goes quiet: the page stops sending stale values, so the fail-safe turns the LEDs off.
    await setMotion(page, null);
    await leds.until('stale fail-safe', (s) => s.reason === 'stale' && s.left === 0 && s.right === 0, 10_000);
    await waitFor('the reason on the page', async () => /Fail-safe/.test(await text(page.locator('#reason'))), 10_000);

    // Stop gives up control: back to a viewer, the controller left.
    await setMotion(page, TILT_RIGHT_80);
    await leds.until('right = 80 again', (s) => s.right === 80, 10_000);
    await page.locator('#start').click();
    await leds.until('off when the controller left', (s) => s.reason === 'controller-left' && s.right === 0, 10_000);
    await statusIs(page, 'ready', /Connected/);
    await waitLed(page, 'right', 0);
    await setMotion(page, null);
    await page.context().close();
  });

  /** The figure's value and the small line under it. */
  async function figure(page: Page, id: string): Promise<{ value: string; detail: string }> {
    return { value: await text(page.locator(`#${id} output`)), detail: await text(page.locator(`#${id} small`)) };
  }
  const perSecond = (value: string) => Number(/^(\d+\.\d)\/s$/.exec(value)?.[1] ?? Number.NaN);
  const ms = (value: string) => Number(/^(\d+(?:\.\d)?) ms$/.exec(value.replace(/^worst /, ''))?.[1] ?? Number.NaN);

  it('shows what it measured: frames sent and received, LED changes, the round trip; the live view and /metrics the same; screenshot for the README', async () => {
    const view = await openPage(`${httpBase()}/view#token=${encodeURIComponent(token())}`);
    await statusIs(view, 'ready', /Watching/);
    const page = await openPage(`${httpBase()}/#token=${encodeURIComponent(token())}`);
    await statusIs(page, 'ready');
    const metrics0 = await scrape(`${httpBase()}/metrics`);
    const count = (s: typeof metrics0, name: string) => (s.types.has(name) ? s.count(`${name}_count`) : 0);
    await page.locator('#start').click();
    await statusIs(page, 'ready', /Controlling/);
    await setMotion(page, turnedRight(HAND_AT_80.degrees), HAND_AT_80);

    // The phone page: its own frames and round trips on its own clock, the gateway's count from its stats frames.
    await waitFor(
      'the figures on the phone',
      async () => {
        const f = { sent: await figure(page, 'fig-sent'), received: await figure(page, 'fig-received') };
        return perSecond(f.sent.value) > 5 && perSecond(f.received.value) > 5 && ms((await figure(page, 'fig-latency')).value) > 0;
      },
      15_000,
    );
    // The gateway's window also holds the tail of the test before: wait until it holds this page's frames only.
    await waitFor(
      "the gateway's window filled",
      async () => {
        const [s, r] = [perSecond((await figure(page, 'fig-sent')).value), perSecond((await figure(page, 'fig-received')).value)];
        return Math.abs(s - r) <= 0.1 * s;
      },
      15_000,
    );
    const sent = await figure(page, 'fig-sent');
    assert.equal(sent.detail, 'asked 30');
    assert.ok(perSecond(sent.value) > 0 && perSecond(sent.value) <= 32, `sent ${sent.value}: never more than asked`);
    assert.equal((await figure(page, 'fig-received')).detail, 'at gateway');
    assert.ok(perSecond((await figure(page, 'fig-leds')).value) > 0);
    const latency = await figure(page, 'fig-latency');
    assert.ok(ms(latency.value) > 0 && ms(latency.value) <= ms(latency.detail), `p50 ${latency.value}, ${latency.detail}`);
    await page.screenshot({ path: SCREENSHOT });
    for (const id of ['#status', '#led-left', '#led-right', '#fig-sent', '#fig-received', '#fig-leds', '#fig-latency', '#start', '#tilt']) {
      const box = await page.locator(id).boundingBox();
      assert.ok(box && box.width > 0 && box.y >= 0 && box.y + box.height <= 780, `${id} on screen: ${JSON.stringify(box)}`);
    }

    // The live view: the gateway's figures, its two measured legs and their sum.
    await waitFor(
      "the gateway's figures on the live view",
      async () =>
        perSecond((await figure(view, 'fig-received')).value) > 5 &&
        ms((await figure(view, 'fig-round-trip')).value) > 0 &&
        ms((await figure(view, 'fig-link')).value) > 0,
      15_000,
    );
    const roundTrip = await figure(view, 'fig-round-trip');
    assert.ok(ms(roundTrip.value) <= ms(roundTrip.detail));
    assert.ok(perSecond((await figure(view, 'fig-leds')).value) > 0);
    assert.ok(ms((await figure(view, 'fig-total')).value) > 0);

    // Prometheus has the same measurements, one observation each.
    const metrics1 = await scrape(`${httpBase()}/metrics`);
    checkHistogram(metrics1, 'gravity_led_gateway_led_round_trip_seconds');
    checkHistogram(metrics1, 'gravity_led_gateway_link_round_trip_seconds');
    assert.ok(
      count(metrics1, 'gravity_led_gateway_led_round_trip_seconds') > count(metrics0, 'gravity_led_gateway_led_round_trip_seconds'),
    );
    assert.ok(
      count(metrics1, 'gravity_led_gateway_link_round_trip_seconds') > count(metrics0, 'gravity_led_gateway_link_round_trip_seconds'),
    );

    // Measured, not claimed: hold the led-driver still for 400 ms and both round trips say so.
    const driver = system.service('led-driver').child;
    driver.kill('SIGSTOP');
    await sleep(400);
    driver.kill('SIGCONT');
    await waitFor(
      'a worst round trip of the stall on the phone',
      async () => ms((await figure(page, 'fig-latency')).detail) >= 300,
      10_000,
    );
    await waitFor('and at the gateway', async () => ms((await figure(view, 'fig-round-trip')).detail) >= 300, 10_000);

    // The sensor goes quiet: the page sends nothing, and says 0 a second, not the 30 it asked for.
    await setMotion(page, null);
    await waitFor('nothing sent', async () => (await figure(page, 'fig-sent')).value === '0.0/s', 15_000);
    await waitFor('nothing received', async () => (await figure(view, 'fig-received')).value === '0.0/s', 15_000);
    await page.locator('#start').click();
    await leds.until('off after Stop', (s) => s.left === 0 && s.right === 0, 10_000);
  });

  it('Set level makes the held attitude both LEDs off, and the sensitivity the tilt for 100 %; kept per phone', async () => {
    const gravity = collect(mqtt, 'gravity-led/gravity');
    const page = await openPage(`${httpBase()}/#token=${encodeURIComponent(token())}`);
    await statusIs(page, 'ready');
    const fullScale = async (degrees: number) => {
      await page.locator('#full-scale').evaluate((el: HTMLInputElement, d) => {
        el.value = String(d);
        el.dispatchEvent(new Event('input', { bubbles: true }));
      }, degrees);
    };
    await fullScale(45);
    assert.equal(await text(page.locator('#full-scale-value')), '45°');
    await page.locator('#start').click();
    await statusIs(page, 'ready', /Controlling/);

    // Held turned 20° right: with full brightness at 45°, that is sin 20° / sin 45° = 48.37 %.
    await setMotion(page, turnedRight(20));
    await leds.until('right = 48.37 at 20° of 45°', (s) => s.right === 48.37 && s.left === 0, 10_000);
    await page.locator('#set-level').click();
    await leds.until('both off where the phone is held', (s) => s.right === 0 && s.left === 0 && s.reason === 'gravity', 10_000);
    assert.match(await text(page.locator('#level-note')), /Level set for portrait/);
    // A further 45° either way is full brightness; 30° is sin 30° / sin 45°.
    await setMotion(page, turnedRight(65));
    await leds.until('right = 100 at 45° past level', (s) => s.right === 100 && s.left === 0, 10_000);
    await setMotion(page, turnedRight(-25));
    await leds.until('left = 100 at 45° the other way', (s) => s.left === 100 && s.right === 0, 10_000);
    await setMotion(page, turnedRight(50));
    await leds.until('right = 70.71 at 30° past level', (s) => s.right === 70.71, 10_000);
    // On the wire, the seed's frame: a gravity vector of length 100 whose y is the duty. On MQTT the gateway adds only
    // its generation (run, gen: the order of occupancy and gravity, docs/safety.md).
    const { run, gen, ...frame } = JSON.parse(gravity.messages.at(-1) ?? '{}');
    assert.equal(typeof run, 'string');
    assert.equal(typeof gen, 'number');
    assert.deepEqual(Object.keys(frame).sort(), ['seq', 'x', 'y', 'z']);
    assert.equal(frame.y, 70.71);
    assert.ok(Math.abs(Math.hypot(frame.x, frame.y, frame.z) - 100) < 0.02, JSON.stringify(frame));

    // Kept by this phone: after a reload the same level and sensitivity (without the level 50° would be 100 %).
    await setMotion(page, null);
    await page.reload();
    await statusIs(page, 'ready');
    assert.equal(await text(page.locator('#full-scale-value')), '45°');
    await page.locator('#start').click();
    await statusIs(page, 'ready', /Controlling/);
    await setMotion(page, turnedRight(35));
    await leds.until('right = 36.6 at 15° past the kept level', (s) => s.right === 36.6, 10_000);
    await setMotion(page, turnedRight(50));
    await leds.until('right = 70.71 again', (s) => s.right === 70.71, 10_000);
    // Reset level: back to upright, the sensitivity stays.
    await page.locator('#reset-level').click();
    await setMotion(page, turnedRight(20));
    await leds.until('right = 48.37 again without the level', (s) => s.right === 48.37, 10_000);
    await setMotion(page, null);
    await page.locator('#start').click();
    await leds.until('off after Stop', (s) => s.left === 0 && s.right === 0, 10_000);

    // Another phone (its own storage) has the seed's rule.
    const other = await openPage(`${httpBase()}/#token=${encodeURIComponent(token())}`);
    await statusIs(other, 'ready');
    assert.equal(await text(other.locator('#full-scale-value')), '90° (the seed)');
    await other.locator('#start').click();
    await statusIs(other, 'ready', /Controlling/);
    await setMotion(other, turnedRight(20));
    await leds.until('right = 34.2, the seed rule', (s) => s.right === 34.2, 10_000);
    await setMotion(other, null);
    await other.locator('#start').click();
    await leds.until('off after Stop', (s) => s.left === 0 && s.right === 0, 10_000);
  });

  it('Record offers the frames the page sent as a download, which the client replays to the same LED states', async () => {
    const page = await openPage(`${httpBase()}/#token=${encodeURIComponent(token())}`);
    await statusIs(page, 'ready');
    await page.locator('#start').click();
    await statusIs(page, 'ready', /Controlling/);
    await leds.until('the LEDs dark before the recording', (s) => s.left === 0 && s.right === 0, 10_000);
    await page.locator('#record').click();
    assert.equal(await text(page.locator('#record')), 'Stop recording');
    const from = leds.states.length;
    await setMotion(page, turnedRight(HAND_AT_80.degrees), HAND_AT_80);
    await waitFor(
      'two seconds of frames',
      async () => /Recording: \d{2,} frames, [2-9]\.\d s/.test(await text(page.locator('#record-note'))),
      15_000,
    );
    await setMotion(page, null);
    await sleep(200);
    await page.locator('#record').click();
    const link = page.locator('#download');
    await waitFor('the download link', () => link.isVisible(), 5000);
    assert.match(await text(link), /^Download recording \(\d+ frames, \d+\.\d s\)$/);
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    assert.match(download.suggestedFilename(), /^gravity-led-\d{8}-\d{6}\.jsonl$/);
    const file = join(tmpdir(), `gravity-led-page-recording-${process.pid}.jsonl`);
    await download.saveAs(file);
    await page.locator('#start').click();
    await leds.until('off after Stop', (s) => s.left === 0 && s.right === 0, 10_000);

    try {
      const recording = readRecording(file);
      assert.equal(recording.header.source, 'phone-page');
      assert.equal(recording.header.sendHz, 30);
      const seqs = recording.frames.map((f) => f.seq as number);
      assert.ok(seqs.length >= 20, `${seqs.length} frames`);
      assert.ok(
        seqs.every((seq, i) => i === 0 || seq === (seqs[i - 1] as number) + 1),
        'every frame sent, in order',
      );
      const recorded = (s: StateMessage) => s.reason === 'gravity' && typeof s.seq === 'number' && seqs.includes(s.seq);
      const original = leds.states.slice(from).filter(recorded);
      assert.ok(original.length >= 20, `${original.length} states while recording`);

      // The client replays the page's file through the gateway: the same LED states, in the same order.
      const mark = leds.states.length;
      const coalesced = await coalescedInputs(system.ports.driverMetrics);
      const replay = runCli(['--url', system.gatewayUrl, '--json', '--replay', file], { PATH: process.env.PATH, DATA_DIR: system.dataDir });
      assert.equal(await replay.exit, 0, replay.stderr());
      await leds.until('off after the replay', (s) => s.left === 0 && s.right === 0, 10_000);
      const duty = (s: StateMessage) => ({ left: s.left, right: s.right, seq: s.seq });
      assertReplayed(
        leds.states.slice(mark).filter(recorded).map(duty),
        recording.frames,
        (await coalescedInputs(system.ports.driverMetrics)) - coalesced,
      );
    } finally {
      rmSync(file, { force: true });
    }
  });

  it('the slider drives the LEDs where there is no motion sensor', async () => {
    const page = await openPage(`${httpBase()}/#token=${encodeURIComponent(token())}`);
    await statusIs(page, 'ready');
    await page.locator('#start').click();
    await statusIs(page, 'ready', /Controlling/);
    await page.locator('#tilt').evaluate((el: HTMLInputElement) => {
      el.value = '-35';
      el.dispatchEvent(new Event('input', { bubbles: true }));
    });
    await leds.until('left = 35 from the slider', (s) => s.left === 35 && s.right === 0, 10_000);
    await waitLed(page, 'left', 35);
    await waitFor('the no-sensor hint', async () => /slider/.test(await text(page.locator('#sensor-note'))), 10_000);
    await page.locator('#start').click();
    await leds.until('off after Stop', (s) => s.left === 0 && s.reason === 'controller-left', 10_000);
    await page.context().close();
  });

  it('a second page gets the in-use message, and takes over by itself once the first stops', async () => {
    const first = await openPage(`${httpBase()}/#token=${encodeURIComponent(token())}`);
    const second = await openPage(`${httpBase()}/#token=${encodeURIComponent(token())}`);
    await statusIs(first, 'ready');
    await statusIs(second, 'ready');
    await first.locator('#start').click();
    await statusIs(first, 'ready', /Controlling/);
    await second.locator('#start').click();
    await statusIs(second, 'in-use', /In use/);
    const notice = second.locator('#notice');
    assert.equal(await notice.isVisible(), true);
    assert.match(await text(notice), /device in use/i);
    assert.equal(await notice.getAttribute('data-kind'), 'in-use');
    await first.locator('#start').click();
    await statusIs(second, 'ready', /Controlling/);
    assert.equal(await notice.isHidden(), true);
    await setMotion(second, TILT_LEFT_60);
    await leds.until('the second page drives', (s) => s.left === 60, 10_000);
    await setMotion(second, null);
    await first.context().close();
    await second.context().close();
  });

  it('the live view shows the tilt vector and the LEDs, without taking the controller place', async () => {
    const view = await openPage(`${httpBase()}/view#token=${encodeURIComponent(token())}`);
    await statusIs(view, 'ready', /Watching/);
    assert.equal(await view.evaluate(() => location.hash), '');
    const phone = await openPage(`${httpBase()}/`);
    // Same origin, separate profile: this page needs its own token.
    await phone.locator('#token-form input').fill(token());
    await phone.locator('#token-form button').click();
    await statusIs(phone, 'ready');
    await phone.locator('#start').click();
    await statusIs(phone, 'ready', /Controlling/);
    await setMotion(phone, TILT_RIGHT_80);
    await waitFor('the view to show y = 80', async () => (await text(view.locator('#gy'))) === '80.0', 10_000);
    assert.equal(await text(view.locator('#gx')), '60.0');
    assert.match((await view.locator('#phone-shape').getAttribute('transform')) ?? '', /^rotate\(53\.1\)$/);
    assert.equal(await view.locator('#tilt-view').evaluate((el) => el.classList.contains('idle')), false);
    await waitLed(view, 'right', 80);
    await setMotion(phone, null);
    await waitFor('the view to go idle', async () => /No controller/.test(await text(view.locator('#tilt-note'))), 10_000);
    await phone.locator('#start').click();
    await waitLed(view, 'right', 0);
    await view.context().close();
    await phone.context().close();
  });

  it('shows when the LEDs cannot be driven, and reconnects by itself after the gateway restarts', async () => {
    const page = await openPage(`${httpBase()}/#token=${encodeURIComponent(token())}`);
    await statusIs(page, 'ready');
    const driver = system.service('led-driver');
    driver.kill('SIGTERM');
    await driver.exited();
    const notice = page.locator('#notice');
    await waitFor(
      'the unavailable notice',
      async () => (await notice.getAttribute('data-kind')) === 'unavailable' && (await notice.isVisible()),
      10_000,
    );
    assert.match(await text(notice), /cannot be driven/);
    await driver.restart();
    await driver.waitForLog('connected to MQTT broker', 15_000);
    await waitFor('the notice to clear', () => notice.isHidden(), 10_000);

    const gateway = system.service('gateway');
    const from = gateway.lines.length;
    await gateway.restart();
    await statusIs(page, 'retrying', /Offline/);
    assert.match(await text(page.locator('#notice')), /Reconnecting/);
    await gateway.waitForLog('connected to MQTT broker', 15_000, from);
    await statusIs(page, 'ready', /Connected/);
    await page.context().close();
  });

  it('under a LAN host name over https the page is a secure context and drives the LEDs', async () => {
    const page = await openPage(`https://pi.test:${system.ports.gatewayHttps}/#token=${encodeURIComponent(token())}`);
    assert.equal(await page.evaluate(() => window.isSecureContext), true);
    assert.equal(await page.evaluate(() => location.hostname), 'pi.test');
    // What the browser got is the certificate generated in DATA_DIR, and it names pi.test.
    const served = await servedCertificate(system.ports.gatewayHttps, 'pi.test');
    const generated = new X509Certificate(
      /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/.exec(readFileSync(join(system.dataDir, CERTIFICATE_FILE), 'utf8'))?.[0] ??
        '',
    );
    assert.equal(served.fingerprint256, generated.fingerprint256);
    assert.match(generated.subjectAltName ?? '', /DNS:pi\.test/);
    await statusIs(page, 'ready');
    assert.equal(await page.locator('#insecure').isHidden(), true);
    await page.locator('#start').click();
    await statusIs(page, 'ready', /Controlling/);
    await setMotion(page, TILT_LEFT_60);
    await leds.until('left = 60 over wss', (s) => s.left === 60 && s.right === 0, 10_000);
    await waitLed(page, 'left', 60);
    // Screen Wake Lock: taken while controlling, released on Stop.
    const awake = page.locator('#awake-note');
    await waitFor('the screen kept on', async () => (await awake.getAttribute('data-on')) === 'true', 10_000);
    assert.match(await text(awake), /Screen kept on/);
    await setMotion(page, null);
    await page.locator('#start').click();
    await leds.until('off after Stop', (s) => s.reason === 'controller-left', 10_000);
    await waitFor('the wake lock released', async () => (await awake.getAttribute('data-on')) === 'false', 10_000);
    await page.context().close();
  });

  it('takes the screen wake lock again when the page becomes visible after the browser dropped it', async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 780 }, ignoreHTTPSErrors: true });
    contexts.push(context);
    // Record the page's real wake lock requests, so the test can drop a lock as a browser does when the page hides.
    await context.addInitScript(() => {
      const w = window as unknown as { locks: WakeLockSentinel[]; hidden: boolean };
      w.locks = [];
      w.hidden = false;
      const request = navigator.wakeLock.request.bind(navigator.wakeLock);
      navigator.wakeLock.request = async (type) => {
        const sentinel = await request(type);
        w.locks.push(sentinel);
        return sentinel;
      };
      Object.defineProperty(document, 'visibilityState', { get: () => (w.hidden ? 'hidden' : 'visible') });
      Object.defineProperty(document, 'hidden', { get: () => w.hidden });
    });
    const page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(`${page.url()}: ${error.message}`));
    await page.goto(`https://pi.test:${system.ports.gatewayHttps}/#token=${encodeURIComponent(token())}`);
    await statusIs(page, 'ready');
    await page.locator('#start').click();
    const awake = page.locator('#awake-note');
    await waitFor('the screen kept on', async () => (await awake.getAttribute('data-on')) === 'true', 10_000);
    const locks = () => page.evaluate(() => (window as unknown as { locks: WakeLockSentinel[] }).locks.length);
    assert.equal(await locks(), 1);
    await page.evaluate(async () => {
      const w = window as unknown as { locks: WakeLockSentinel[]; hidden: boolean };
      w.hidden = true;
      document.dispatchEvent(new Event('visibilitychange'));
      await w.locks[0]?.release();
    });
    await waitFor('the lock reported lost', async () => (await awake.getAttribute('data-on')) === 'false', 10_000);
    await page.evaluate(() => {
      (window as unknown as { hidden: boolean }).hidden = false;
      document.dispatchEvent(new Event('visibilitychange'));
    });
    await waitFor('the screen kept on again', async () => (await awake.getAttribute('data-on')) === 'true', 10_000);
    assert.equal(await locks(), 2);
    await page.locator('#start').click();
    await waitFor('released on Stop', async () => (await awake.getAttribute('data-on')) === 'false', 10_000);
    assert.equal(await page.evaluate(() => (window as unknown as { locks: WakeLockSentinel[] }).locks[1]?.released), true);
  });

  it('under a LAN host name over plain http it says motion needs the https link and shows it', async () => {
    const page = await openPage(`http://pi.test:${system.ports.gateway}/#token=${encodeURIComponent(token())}`);
    assert.equal(await page.evaluate(() => window.isSecureContext), false);
    const insecure = page.locator('#insecure');
    await waitFor('the https guidance', () => insecure.isVisible(), 10_000);
    assert.match(await text(insecure), /Motion sensors need the secure link/);
    const link = page.locator('#https-link');
    await waitFor('the https link', async () => (await link.getAttribute('href'))?.startsWith('https://'), 10_000);
    assert.equal(await link.getAttribute('href'), `https://pi.test:${system.ports.gatewayHttps}/#token=${encodeURIComponent(token())}`);
    assert.equal(await text(link), `https://pi.test:${system.ports.gatewayHttps}/`);
    // The link works: following it lands on a secure page that connects with the token it carries.
    await link.click();
    await page.waitForURL(/^https:\/\/pi\.test/);
    assert.equal(await page.evaluate(() => window.isSecureContext), true);
    await statusIs(page, 'ready', /Connected/);
    await page.context().close();
  });
});

describe('gateway: gravity to viewers', () => {
  let system: TestSystem;
  before(async () => {
    system = await TestSystem.start();
  });
  after(async () => {
    await system?.stop();
  });

  it('a viewer gets each published vector as a gravity frame; a controller does not', async () => {
    const viewer = await WsClient.controller(system, '&role=viewer');
    const controller = await WsClient.controller(system);
    controller.send('0 45 89.3');
    const frame = await viewer.next('gravity', (f) => f.y === 45, 10_000);
    assert.deepEqual(frame, { type: 'gravity', x: 0, y: 45, z: 89.3 });
    await controller.next('state', (f) => f.right === 45, 10_000);
    assert.equal(controller.frames.filter((f) => f.type === 'gravity').length, 0);
    // Refused frames reach nobody.
    controller.send('0 x 1');
    await controller.next('error');
    controller.send('0 46 88.8');
    await viewer.next('gravity', (f) => f.y === 46, 10_000);
    assert.equal(viewer.frames.filter((f) => f.type === 'gravity' && f.y !== 45 && f.y !== 46).length, 0);
    viewer.close();
    controller.close();
  });
});
