/**
 * `docker compose up` as a person runs it on a Pi, proven by running it (`npm run test:docker`, not `npm test`).
 *
 * The repository's docker-compose.yml and Dockerfile, unchanged, with a .env as README's quick start has the person
 * write it (PUBLIC_HOSTS, here `pi.test`; the ports are free ones, as a person with a port conflict sets them). The
 * override adds only what this machine needs: no privileged mode (privileged containers cannot start here) and a test
 * tag for the image, so that a person's own `gravity-led` image is left alone. There is no GPIO here: LED_BACKEND
 * stays `auto`, which simulates off a Pi, and LED_SIM_FILE (a documented variable) shows the simulated pins.
 *
 * Then, over the published ports only, as the phone, the person and their MQTT tools reach a Pi: health, the phone
 * link and account that `link` prints, a phone frame to the LEDs and back, mosquitto_pub/sub with that account, the
 * phone page over https under the Pi's name in Chromium, `docker compose stop` (LEDs off, `shutdown`, `offline`,
 * exit 0), and recovery: `up` again after a stop, and a broker that dies being restarted by Docker.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchChromium, setMotion } from '../helpers/browser.js';
import { MosquittoSub, type MosquittoTarget, mosquittoPub, WsClient } from '../helpers/clients.js';
import { BUILD_ARGUMENTS, SERVICES } from '../helpers/compose.js';
import { ComposeProject, composeProgram, docker, dockerOut, dockerStream } from '../helpers/docker.js';
import { freePort } from '../helpers/ports.js';
import { decodeTerminalQr } from '../helpers/qr.js';
import { ROOT } from '../helpers/system.js';
import { servedCertificate, spkiHash } from '../helpers/tls.js';
import { waitFor } from '../helpers/wait.js';

const PROJECT = 'gravity-led-test';
const IMAGE = 'gravity-led:test';
/** The same Dockerfile with WITH_PIGPIO=false: an image for a Pi 5, or a quicker test build. */
const IMAGE_WITHOUT_PIGPIO = 'gravity-led:test-without-pigpio';
const PUBLIC_HOST = 'pi.test';
/** A Pi's first start: the broker's healthcheck (every 10 s) gates the others, whose own checks run every 15 s. */
const HEALTHY_MS = 120_000;

/** What `link` printed: all a person needs to connect. */
interface Printed {
  text: string;
  link: string;
  token: string;
  fingerprint: string;
  username: string;
  password: string;
}

function parseLink(text: string, httpsPort: number): Printed {
  const field = (re: RegExp) => {
    const value = re.exec(text)?.[1];
    assert.ok(value, `link printed no ${re}:\n${text}`);
    return value;
  };
  return {
    text,
    link: field(new RegExp(`(https://${PUBLIC_HOST.replace('.', '\\.')}:${httpsPort}/#token=\\S+)`)),
    token: field(/Access token: (\S+)/),
    fingerprint: field(/SHA-256 fingerprint: (\S+)/),
    username: field(/username: (\S+)/),
    password: field(/password: (\S+)/),
  };
}

describe('docker compose up, as on a Raspberry Pi', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gravity-led-docker-'));
  let compose: ComposeProject;
  let ports: { gateway: number; gatewayHttps: number; broker: number; brokerWs: number; metrics: number; brokerMetrics: number };
  let printed: Printed;
  let browser: Browser | undefined;
  const subs: MosquittoSub[] = [];
  const cleanups: (() => Promise<void>)[] = [];

  const mqttTarget = (): MosquittoTarget => ({
    secrets: { operatorUsername: printed.username, operatorPassword: printed.password },
    ports: { broker: ports.broker },
  });

  async function health(service: string): Promise<string> {
    const state = await compose.inspect(service);
    if (!state.State.Running)
      throw new Error(`${service} is ${state.State.Status} (exit ${state.State.ExitCode}):\n${await logs(service)}`);
    return state.State.Health?.Status ?? 'none';
  }

  async function allHealthy(): Promise<void> {
    await waitFor(
      'all three services healthy',
      async () => {
        for (const service of SERVICES) if ((await health(service)) !== 'healthy') return false;
        return true;
      },
      HEALTHY_MS,
    );
  }

  async function logs(service: string): Promise<string> {
    const result = await compose.run(['logs', '--no-color', service]);
    return result.stdout + result.stderr;
  }

  async function link(): Promise<Printed> {
    const result = await compose.run(['run', '--rm', '-T', 'gateway', 'link']);
    assert.equal(result.code, 0, result.stderr);
    return parseLink(result.stdout, ports.gatewayHttps);
  }

  /** A phone's controller on the published plain port, with the printed token. */
  async function phone(): Promise<WsClient> {
    const client = WsClient.connect(`ws://127.0.0.1:${ports.gateway}/?token=${encodeURIComponent(printed.token)}`);
    await client.opened;
    await client.next('hello', () => true, 10_000);
    return client;
  }

  /**
   * The simulated pins (LED_SIM_FILE on the shared volume), as one looks at the "hardware": read inside a running
   * container of the project that mounts the volume, or copied out of the stopped led-driver.
   */
  async function pins(): Promise<{ left: number; right: number; closed?: boolean }> {
    for (const service of ['led-driver', 'broker']) {
      if (!(await compose.container(service))) continue;
      const state = await compose.inspect(service);
      if (state.State.Running) return JSON.parse(await dockerOut(['exec', state.Id, 'cat', '/data/leds.json']));
    }
    const driver = await compose.inspect('led-driver');
    const copy = join(dir, 'leds.json');
    rmSync(copy, { force: true });
    await dockerOut(['cp', `${driver.Id}:/data/leds.json`, copy]);
    return JSON.parse(readFileSync(copy, 'utf8'));
  }

  /** A phone holding a tilt: the same frame 30 times a second, as the page sends while controlling. */
  function hold(client: WsClient, frame: string): () => void {
    client.send(frame);
    const timer = setInterval(() => client.send(frame), 33);
    return () => clearInterval(timer);
  }

  before(async () => {
    ports = {
      gateway: await freePort(),
      gatewayHttps: await freePort(),
      broker: await freePort(),
      brokerWs: await freePort(),
      metrics: await freePort(),
      brokerMetrics: await freePort(),
    };
    // The .env a person writes from .env.example: PUBLIC_HOSTS filled in; ports moved off ones in use.
    const env = [
      `PUBLIC_HOSTS=${PUBLIC_HOST}`,
      `GATEWAY_PORT=${ports.gateway}`,
      `GATEWAY_HTTPS_PORT=${ports.gatewayHttps}`,
      `BROKER_PORT=${ports.broker}`,
      `BROKER_WS_PORT=${ports.brokerWs}`,
      `METRICS_PORT=${ports.metrics}`,
      `BROKER_METRICS_PORT=${ports.brokerMetrics}`,
      'LED_SIM_FILE=/data/leds.json',
      `NODE_VERSION=${process.env.NODE_VERSION || BUILD_ARGUMENTS.NODE_VERSION}`,
    ];
    writeFileSync(join(dir, '.env'), `${env.join('\n')}\n`);
    // Only what this machine needs.
    writeFileSync(
      join(dir, 'docker-compose.test.yml'),
      [
        'services:',
        ...SERVICES.flatMap((s) => [`  ${s}:`, `    image: ${IMAGE}`, ...(s === 'led-driver' ? ['    privileged: false'] : [])]),
        '',
      ].join('\n'),
    );
    compose = new ComposeProject(await composeProgram(), PROJECT, join(dir, '.env'), join(dir, 'docker-compose.test.yml'));
    // Left over from an earlier run that was cut short.
    await compose.run(['down', '-v', '--remove-orphans'], 180_000);
  });

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup().catch(() => {});
  });

  after(async () => {
    for (const sub of subs) sub.stop();
    await browser?.close();
    if (compose) {
      const down = await compose.run(['down', '-v', '--remove-orphans'], 180_000);
      if (down.code !== 0) process.stderr.write(`docker compose down failed: ${down.stderr}\n`);
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('builds the one image, with no dev dependencies, and the pigpio C library and module in it', async (t) => {
    const started = Date.now();
    const code = await compose.stream(['build'], '  build | ');
    t.diagnostic(`image build: ${((Date.now() - started) / 1000).toFixed(0)} s`);
    assert.equal(code, 0, 'docker compose build');
    const size = Number(await dockerOut(['image', 'inspect', '--format', '{{.Size}}', IMAGE]));
    t.diagnostic(`image size: ${(size / 1e6).toFixed(0)} MB (base image included)`);
    // Against the lock file: every package that only development needs is absent, every other one present
    // (pigpio's optional ones too: WITH_PIGPIO is true by default).
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { dev?: boolean; devOptional?: boolean; link?: boolean }>;
    };
    const entries = Object.entries(lock.packages).filter(([path, info]) => path.startsWith('node_modules/') && !info.link);
    // One container (each start copies the image under vfs): which lock entries are installed, whether pigpio's
    // native module loads against the C library (initialising it needs a Pi), the image's user and its help.
    const probe = [
      "const fs = require('fs');",
      `for (const p of ${JSON.stringify(entries.map(([path]) => path))}) if (fs.existsSync('/app/' + p + '/package.json')) console.log('installed ' + p);`,
      "import('pigpio').then((m) => console.log('pigpio ' + typeof m.default.Gpio + ' ' + typeof m.default.initialize));",
    ].join('\n');
    const out = (
      await dockerOut([
        'run',
        '--rm',
        IMAGE,
        'sh',
        '-c',
        'id -un && /app/docker/entrypoint.sh help && cd /app/led-driver && node -e "$1"',
        'sh',
        probe,
      ])
    ).split('\n');
    const present = new Set(out.filter((l) => l.startsWith('installed ')).map((l) => l.slice('installed '.length)));
    let dev = 0;
    for (const [path, info] of entries) {
      if (info.dev || info.devOptional) {
        dev++;
        assert.ok(!present.has(path), `the dev dependency ${path} is in the image`);
      } else assert.ok(present.has(path), `${path} is missing from the image`);
    }
    assert.ok(dev > 10 && present.has('node_modules/pigpio'), `${dev} dev packages checked`);
    assert.ok(out.includes('pigpio function function'), out.join('\n'));
    assert.equal(out[0], 'node', "the image's user");
    assert.ok(
      out.some((l) => /^ {2}link +print the phone link/.test(l)),
      'help',
    );
  });

  it('`docker compose run --rm led-driver selftest`, before the first start as README has it: names the board, fades, exits 0', async () => {
    const result = await compose.run(['run', '--rm', '-T', 'led-driver', 'selftest'], 300_000);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    // No GPIO here: `auto` off a Pi is the simulation, and the selftest says it tested nothing physical.
    assert.match(result.stdout, /^board: +not a Raspberry Pi/m);
    assert.match(result.stdout, /^backend: sim/m);
    assert.match(result.stdout, /selftest passed, on simulated LEDs/);
    const after = await pins();
    assert.deepEqual({ left: after.left, right: after.right, closed: after.closed }, { left: 0, right: 0, closed: true });
  });

  it('`docker compose up -d --build`: the three containers of one image turn healthy; only the led-driver is root', async () => {
    const up = await compose.run(['up', '-d', '--build'], 1_800_000);
    assert.equal(up.code, 0, up.stderr);
    await allHealthy();
    const states = await Promise.all(SERVICES.map((s) => compose.inspect(s)));
    assert.equal(new Set(states.map((s) => s.Image)).size, 1, 'one image for all three');
    const users = Object.fromEntries(SERVICES.map((s, i) => [s, states[i]?.Config.User]));
    assert.deepEqual(users, { broker: 'node', gateway: 'node', 'led-driver': 'root' });
    for (const state of states) {
      assert.equal(state.HostConfig.LogConfig.Type, 'json-file');
      assert.equal(state.HostConfig.LogConfig.Config['max-size'], '10m');
    }
    // Off a Pi, `auto` simulates, and says so.
    const driver = await logs('led-driver');
    assert.match(driver, /led-driver ready/);
    assert.match(driver, /"backend":"sim"/);
  });

  it('the published health and metrics endpoints answer: gateway, led-driver (METRICS_PORT), broker (BROKER_METRICS_PORT)', async () => {
    for (const port of [ports.gateway, ports.metrics, ports.brokerMetrics]) {
      for (const path of ['/healthz', '/readyz']) {
        const response = await fetch(`http://127.0.0.1:${port}${path}`);
        assert.equal(response.status, 200, `${port}${path}`);
      }
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      assert.match(metrics, /^gravity_led_/m, `${port}/metrics`);
    }
  });

  it("the gateway's log has the phone link for PUBLIC_HOSTS; `run --rm gateway link` prints it with its QR code and the account", async () => {
    const log = await logs('gateway');
    assert.match(log, new RegExp(`open on the phone: https://pi\\.test:${ports.gatewayHttps}/#token=`));
    assert.match(log, /docker compose run --rm gateway link/);
    printed = await link();
    assert.equal(decodeTerminalQr(printed.text), printed.link, 'the QR code is the first link');
    assert.ok(log.includes(printed.link), 'the same link as in the log');
    // The fingerprint printed is the certificate the phone gets on the published HTTPS port, and it names the Pi.
    const served = await servedCertificate(ports.gatewayHttps, PUBLIC_HOST);
    assert.equal(served.fingerprint256, printed.fingerprint);
    assert.match(served.subjectAltName ?? '', /DNS:pi\.test/);
  });

  it('a phone frame on the published port lights the right LED, and the applied state comes back', async () => {
    const client = await phone();
    const release = hold(client, '0 40 91.6');
    try {
      const state = await client.next('state', (f) => f.right === 40, 10_000);
      assert.equal(state.left, 0);
      await waitFor('the simulated pins at 40', async () => (await pins()).right === 40, 15_000);
    } finally {
      release();
      client.close();
    }
  });

  it('mosquitto_sub and mosquitto_pub with the printed account drive and watch the LEDs; a wrong password is refused', async () => {
    const sub = new MosquittoSub(mqttTarget(), 'gravity-led/#');
    subs.push(sub);
    await sub.next('gravity-led/led-driver/status', (p) => p === 'online', 10_000);
    const sent = await mosquittoPub(mqttTarget(), 'gravity-led/gravity', '0 -30 95.4');
    assert.equal(sent.code, 0, sent.stderr);
    await sub.next('gravity-led/leds/state', (p) => {
      const s = JSON.parse(p) as { left: number; right: number };
      return s.left === 30 && s.right === 0;
    });
    const refused = await mosquittoPub(mqttTarget(), 'gravity-led/gravity', '0 50 86.6', { username: printed.username, password: 'wrong' });
    assert.notEqual(refused.code, 0);
    sub.stop();
  });

  it("the phone page over https under the Pi's name, its certificate accepted by the printed fingerprint, drives the LEDs", async () => {
    const served = await servedCertificate(ports.gatewayHttps, PUBLIC_HOST);
    assert.equal(served.fingerprint256, printed.fingerprint, 'checked before accepting, as README says');
    // Accept exactly that certificate, as the person does after comparing the fingerprint; nothing else is trusted.
    browser = await launchChromium([
      `--host-resolver-rules=MAP ${PUBLIC_HOST} 127.0.0.1`,
      `--ignore-certificate-errors-spki-list=${spkiHash(served)}`,
    ]);
    const context = await browser.newContext({ viewport: { width: 390, height: 780 }, isMobile: true, hasTouch: true });
    // Closed whatever happens: a page left controlling would hold the only controller's place for the tests after.
    cleanups.push(() => context.close());
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const sub = new MosquittoSub(mqttTarget(), 'gravity-led/leds/state');
    subs.push(sub);
    await page.goto(printed.link);
    assert.equal(await page.evaluate(() => window.isSecureContext), true);
    assert.equal(await page.evaluate(() => location.hostname), PUBLIC_HOST);
    const status = page.locator('#status');
    await waitFor('the page connected', async () => (await status.getAttribute('data-state')) === 'ready', 15_000);
    await page.locator('#start').click();
    await waitFor('the page controlling', async () => /Controlling/.test((await status.textContent()) ?? ''), 10_000);
    // Upright in portrait, tilted right: +g shares go to the screen's up (y) and, pointing down, its right (x < 0).
    await setMotion(page, { x: -4, y: 3, z: 0 });
    await sub.next('gravity-led/leds/state', (p) => (JSON.parse(p) as { right: number }).right === 80, 15_000);
    await waitFor('the page shows right = 80', async () => (await page.locator('#led-right').getAttribute('data-duty')) === '80', 10_000);
    await setMotion(page, null);
    await page.locator('#start').click();
    await sub.next('gravity-led/leds/state', (p) => (JSON.parse(p) as { reason: string }).reason === 'controller-left', 10_000);
    await context.close();
    assert.deepEqual(errors, []);
    sub.stop();
  });

  it('`docker compose stop`: the LEDs go off with reason shutdown, both services say offline, every container exits 0', async () => {
    // The phone is driving when the person stops everything.
    const client = await phone();
    const release = hold(client, '0 60 80');
    cleanups.push(async () => {
      release();
      client.close();
    });
    await client.next('state', (f) => f.right === 60, 10_000);
    const sub = new MosquittoSub(mqttTarget(), 'gravity-led/#');
    subs.push(sub);
    await sub.next('gravity-led/leds/state', (p) => (JSON.parse(p) as { right: number }).right === 60, 10_000);
    const stop = await compose.run(['stop'], 120_000);
    assert.equal(stop.code, 0, stop.stderr);
    const state = JSON.parse(
      await sub.next('gravity-led/leds/state', (p) => (JSON.parse(p) as { reason: string }).reason === 'shutdown', 5000),
    );
    assert.equal(state.left, 0);
    assert.equal(state.right, 0);
    await sub.next('gravity-led/led-driver/status', (p) => p === 'offline', 5000);
    await sub.next('gravity-led/gateway/status', (p) => p === 'offline', 5000);
    for (const service of SERVICES) {
      const info = await compose.inspect(service);
      assert.equal(info.State.Status, 'exited', service);
      assert.equal(info.State.ExitCode, 0, `${service} exit code:\n${await logs(service)}`);
    }
    const after = await pins();
    assert.deepEqual({ left: after.left, right: after.right, closed: after.closed }, { left: 0, right: 0, closed: true }, 'off, released');
    sub.stop();
  });

  it('`docker compose up -d` again: healthy, the same token and account (the volume), the phone drives again', async () => {
    const up = await compose.run(['up', '-d'], 300_000);
    assert.equal(up.code, 0, up.stderr);
    await allHealthy();
    const again = await link();
    assert.equal(again.token, printed.token);
    assert.equal(again.password, printed.password);
    assert.equal(again.fingerprint, printed.fingerprint, 'the same certificate: the phone does not warn again');
    const client = await phone();
    const release = hold(client, '0 25 96.8');
    try {
      await client.next('state', (f) => f.right === 25, 10_000);
    } finally {
      release();
      client.close();
    }
  });

  it('a broker that dies is restarted by Docker (restart: unless-stopped); gateway and led-driver reconnect by themselves', async () => {
    const before = await compose.inspect('broker');
    const client = await phone();
    cleanups.push(async () => client.close());
    // As a crash or the kernel's OOM killer ends it: SIGKILL to the container's process, not `docker stop`.
    process.kill(before.State.Pid, 'SIGKILL');
    await waitFor('the broker restarted', async () => (await compose.inspect('broker')).RestartCount > before.RestartCount, 60_000);
    await client.next('unavailable', () => true, 30_000);
    await allHealthy();
    await client.next('available', () => true, 60_000);
    const release = hold(client, '0 70 71.4');
    cleanups.push(async () => release());
    const state = await client.next('state', (f) => f.right === 70, 15_000);
    assert.equal(state.reason, 'gravity');
    const sub = new MosquittoSub(mqttTarget(), 'gravity-led/leds/state');
    subs.push(sub);
    await sub.next('gravity-led/leds/state', (p) => (JSON.parse(p) as { right: number }).right === 70, 10_000);
    sub.stop();
  });

  it('WITH_PIGPIO=false builds the image without the pigpio library and module; LED_BACKEND=pigpio then says so', async (t) => {
    const started = Date.now();
    const nodeVersion = process.env.NODE_VERSION || BUILD_ARGUMENTS.NODE_VERSION;
    const args = [
      'build',
      '--build-arg',
      'WITH_PIGPIO=false',
      '--build-arg',
      `NODE_VERSION=${nodeVersion}`,
      '-t',
      IMAGE_WITHOUT_PIGPIO,
      ROOT,
    ];
    assert.equal(await dockerStream(args, '  build without pigpio | '), 0);
    t.diagnostic(`build without pigpio, after the full one: ${((Date.now() - started) / 1000).toFixed(0)} s`);
    const script = 'ls /app/node_modules/pigpio /usr/local/lib/libpigpio.so.1 2>&1; /app/docker/entrypoint.sh selftest; echo "exit $?"';
    const result = await docker(['run', '--rm', '-e', 'LED_BACKEND=pigpio', IMAGE_WITHOUT_PIGPIO, 'sh', '-c', script]);
    const out = result.stdout + result.stderr;
    assert.match(out, /node_modules\/pigpio': No such file/);
    assert.match(out, /libpigpio\.so\.1': No such file/);
    // The explicit backend stops with what is missing, not a crash and not simulated LEDs.
    assert.match(out, /^missing: .*pigpio/m);
    assert.match(out, /^exit 2$/m);
    // `auto` off a Pi still simulates with this image.
    assert.match(await dockerOut(['run', '--rm', IMAGE_WITHOUT_PIGPIO, 'selftest']), /selftest passed, on simulated LEDs/);
  });

  it('`docker compose down -v` removes the containers and the volume with the secrets', async () => {
    const down = await compose.run(['down', '-v', '--remove-orphans'], 180_000);
    assert.equal(down.code, 0, down.stderr);
    const left = await docker(['ps', '-a', '--filter', `label=com.docker.compose.project=${PROJECT}`, '-q']);
    assert.equal(left.stdout.trim(), '');
    const volumes = await docker(['volume', 'ls', '-q', '--filter', `name=${PROJECT}_`]);
    assert.equal(volumes.stdout.trim(), '');
  });
});
