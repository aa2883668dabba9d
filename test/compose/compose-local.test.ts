/**
 * The compose wiring run as plain local processes: each service's command through the image's entry point, and its
 * environment exactly as docker-compose resolves them from a .env, with the service names mapped to 127.0.0.1, the
 * ports to free ones, the image's /app to this checkout and the shared volume to a temporary folder. The healthchecks
 * gate the start as `depends_on: service_healthy` does, then a phone frame travels gateway -> broker -> led-driver
 * and its state comes back. (`npm run test:docker` runs the compose file itself, with Docker.)
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readStoredSecrets } from '@gravity-led/shared';
import { WsClient } from '../helpers/clients.js';
import { type ComposeFile, dockerfileInstructions, LocalService, resolvedCompose, runHealthcheck, SERVICES } from '../helpers/compose.js';
import { freePort } from '../helpers/ports.js';
import { ROOT } from '../helpers/system.js';
import { waitFor } from '../helpers/wait.js';

interface Local {
  command: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  healthcheck: string[];
}

describe('the compose services as local processes', () => {
  const volumes = new Map<string, string>();
  const running = new Map<string, LocalService>();
  let dotenv: Record<string, string>;
  let compose: ComposeFile;

  /** The image's entry point (`/app/...` in the image), in this checkout. */
  const entrypoint = (() => {
    const line = dockerfileInstructions()
      .filter((i) => i.keyword === 'ENTRYPOINT')
      .at(-1);
    const [program, ...rest] = JSON.parse(line?.args ?? '[]') as string[];
    if (!program?.startsWith('/app/')) throw new Error(`ENTRYPOINT ${line?.args}: expected a program under /app`);
    return [join(ROOT, program.slice('/app/'.length)), ...rest];
  })();

  /** The container's view mapped onto this machine. */
  function local(name: string): Local {
    const s = compose.services[name];
    assert.ok(s?.command && s.healthcheck, name);
    // docker-compose 1.29 prints `data:/data:rw`; Compose v2 prints { source, target }.
    const mounts = ((s.volumes ?? []) as unknown as (string | { source: string; target: string })[]).map((entry) => {
      const [source, target] = typeof entry === 'string' ? entry.split(':') : [entry.source, entry.target];
      const v = { source: source as string, target: target as string };
      if (!volumes.has(v.source)) volumes.set(v.source, mkdtempSync(join(tmpdir(), `gravity-led-volume-${v.source}-`)));
      return { target: v.target, dir: volumes.get(v.source) as string };
    });
    // The entry point runs `node` from the PATH: the one running these tests, as the image has its own.
    const env: NodeJS.ProcessEnv = { PATH: `${dirname(process.execPath)}:${process.env.PATH}`, HOME: process.env.HOME };
    for (const [key, raw] of Object.entries(s.environment ?? {})) {
      let value = String(raw);
      for (const host of SERVICES) value = value.replaceAll(`//${host}:`, '//127.0.0.1:');
      for (const m of mounts) if (value === m.target || value.startsWith(`${m.target}/`)) value = m.dir + value.slice(m.target.length);
      env[key] = value;
    }
    assert.ok(env.DATA_DIR && env.DATA_DIR !== '/data', `${name}: DATA_DIR must map onto a temporary folder`);
    return { command: [...entrypoint, ...s.command], cwd: ROOT, env, healthcheck: s.healthcheck.test };
  }

  const healthy = (name: string) => {
    const l = local(name);
    return runHealthcheck(l.healthcheck, l.env, l.cwd);
  };

  const start = (name: string) => {
    const l = local(name);
    const service = new LocalService(name, l.command, l.cwd, l.env);
    running.set(name, service);
    return service;
  };

  const untilHealthy = (name: string) =>
    waitFor(
      `${name} healthy`,
      async () => {
        const service = running.get(name);
        if (service && !service.running) throw new Error(`${name} exited: ${service.raw.join('\n')}`);
        return (await healthy(name)) === 0;
      },
      30_000,
    );

  before(async () => {
    dotenv = {
      GATEWAY_PORT: String(await freePort()),
      GATEWAY_HTTPS_PORT: String(await freePort()),
      BROKER_PORT: String(await freePort()),
      BROKER_WS_PORT: String(await freePort()),
      METRICS_PORT: String(await freePort()),
      FAILSAFE_TIMEOUT_MS: '5000',
      LOG_FORMAT: 'json',
    };
    compose = await resolvedCompose(dotenv);
  });

  after(async () => {
    await Promise.all([...running.values()].map((s) => s.stop('SIGKILL')));
    for (const dir of volumes.values()) rmSync(dir, { recursive: true, force: true });
  });

  it('the broker healthcheck fails while nothing listens, and passes once the broker runs', async () => {
    assert.notEqual(await healthy('broker'), 0);
    start('broker');
    await untilHealthy('broker');
  });

  it('then gateway and led-driver start, connect to "broker" and become healthy', async () => {
    assert.notEqual(await healthy('gateway'), 0, 'not healthy before it runs');
    assert.notEqual(await healthy('led-driver'), 0, 'not healthy before it runs');
    start('gateway');
    start('led-driver');
    await untilHealthy('gateway');
    await untilHealthy('led-driver');
    const driver = running.get('led-driver');
    assert.match(String(driver?.log('led-driver ready')?.backend), /^sim$/, 'no GPIO here: auto chose the simulation');
    assert.ok(driver?.log('is not a Raspberry Pi, so the LEDs are simulated'), 'and said why');
  });

  it('the three share one set of generated secrets on the volume', () => {
    const [dir] = [...volumes.values()];
    assert.equal(volumes.size, 1, 'one named volume');
    assert.ok(dir && existsSync(join(dir, 'secrets.json')));
    assert.deepEqual(
      readdirSync(dir as string).filter((f) => f.startsWith('.')),
      [],
      'no temporary files left',
    );
  });

  it('a phone frame on the published gateway port lights the right LED, and the state comes back', async () => {
    const [dir] = [...volumes.values()];
    const gatewayToken = readStoredSecrets(dir as string)?.gatewayToken;
    assert.ok(gatewayToken, 'the generated token is on the volume');
    const client = WsClient.connect(`ws://127.0.0.1:${dotenv.GATEWAY_PORT}/?token=${encodeURIComponent(gatewayToken)}`);
    await client.opened;
    await client.next('hello');
    client.send('0 40 91.6');
    const state = await client.next('state', (f) => f.right === 40, 10_000);
    assert.equal(state.left, 0);
    client.send('0 -25 96.8');
    await client.next('state', (f) => f.left === 25 && f.right === 0, 10_000);
    client.close();
    await client.closed();
  });

  it('stopping a service (docker stop sends SIGTERM) exits 0 and turns its healthcheck red', async () => {
    const gateway = running.get('gateway');
    assert.equal(await gateway?.stop('SIGTERM'), 0);
    assert.notEqual(await healthy('gateway'), 0);
    const driver = running.get('led-driver');
    assert.equal(await driver?.stop('SIGTERM'), 0);
    assert.notEqual(await healthy('led-driver'), 0);
  });
});
