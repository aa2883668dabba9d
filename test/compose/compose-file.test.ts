/** docker-compose.yml, the Dockerfiles and .env.example held to the configuration module and to each other. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { VARIABLES } from '@gravity-led/shared';
import { dockerCompose, interpolations, rawCompose, resolvedCompose, SERVICES, variablesRead } from '../helpers/compose.js';
import { ROOT } from '../helpers/system.js';

const { text, file } = rawCompose();
const service = (name: string) => {
  const s = file.services[name];
  assert.ok(s, `service ${name}`);
  return s;
};

/** Set by the compose file itself, not from .env: with the value each must have. */
const FIXED: Record<string, RegExp> = {
  DATA_DIR: /^\/data$/,
  MQTT_URL: /^mqtt:\/\/broker:\$\{BROKER_PORT:-1883\}$/,
};
/** Left out on purpose: a container listens on all its interfaces, `ports:` decides what the Pi exposes. */
const NOT_PASSED = new Set(['GATEWAY_HOST', 'BROKER_HOST', 'METRICS_HOST']);

describe('docker-compose.yml', () => {
  it('has exactly the services broker, gateway and led-driver, each restarting unless stopped', () => {
    assert.deepEqual(Object.keys(file.services).sort(), [...SERVICES].sort());
    for (const name of SERVICES) assert.equal(service(name).restart, 'unless-stopped', name);
  });

  it('makes only the led-driver privileged', () => {
    assert.equal(service('led-driver').privileged, true);
    assert.equal(service('broker').privileged, undefined);
    assert.equal(service('gateway').privileged, undefined);
    for (const name of ['broker', 'gateway']) assert.equal(service(name).devices, undefined, `${name} has no devices`);
  });

  it('starts gateway and led-driver only once the broker is healthy', () => {
    for (const name of ['gateway', 'led-driver']) {
      assert.deepEqual(service(name).depends_on, { broker: { condition: 'service_healthy' } }, name);
    }
    assert.equal(service('broker').depends_on, undefined);
  });

  it('interpolates only variables of the configuration module, with their defaults where it gives one', () => {
    const used = interpolations(text);
    assert.ok(used.length > 20);
    for (const { name, fallback, raw } of used) {
      const spec = VARIABLES[name as keyof typeof VARIABLES];
      assert.ok(spec, `${raw} is not a configuration variable`);
      assert.notEqual(fallback, undefined, `${raw} needs a default (:-) so the file works without .env`);
      if (fallback !== '') assert.equal(fallback, String(spec.default), `${raw} gives the module's default`);
    }
  });

  it('passes every variable a service reads to that service, under its own name', () => {
    for (const name of SERVICES) {
      const environment = service(name).environment ?? {};
      for (const variable of variablesRead(name)) {
        if (NOT_PASSED.has(variable)) {
          assert.equal(environment[variable], undefined, `${name} must not get ${variable}`);
          continue;
        }
        const value = environment[variable];
        assert.notEqual(value, undefined, `${name} reads ${variable} but the compose file does not pass it`);
        const fixed = FIXED[variable];
        if (fixed) assert.match(String(value), fixed, `${name}: ${variable}`);
        else assert.match(String(value), new RegExp(`^\\$\\{${variable}:-[^}]*\\}$`), `${name}: ${variable} comes from .env`);
      }
      for (const variable of Object.keys(environment)) assert.ok(variable in VARIABLES, `${name}: ${variable} is unknown`);
    }
  });

  it('publishes 5678, 5679, 1883 and 9001 by default, the same number outside and inside', async () => {
    const resolved = await resolvedCompose({});
    const published = Object.values(resolved.services).flatMap((s) => (s.ports ?? []) as unknown[]);
    const pairs = published.map((p) => {
      const port = p as { published: number | string; target: number | string };
      return [Number(port.published), Number(port.target)];
    });
    assert.deepEqual(pairs.map(([outside]) => outside).sort(), [1883, 5678, 5679, 9001], JSON.stringify(published));
    for (const [outside, inside] of pairs) assert.equal(outside, inside);
    const environment = (name: string) => resolved.services[name]?.environment ?? {};
    assert.equal(environment('gateway').MQTT_URL, 'mqtt://broker:1883');
    assert.equal(environment('led-driver').MQTT_URL, 'mqtt://broker:1883');
  });

  it('shares one named volume as /data (DATA_DIR) between all three services', () => {
    assert.ok(file.volumes && 'data' in file.volumes);
    for (const name of SERVICES) {
      assert.deepEqual(service(name).volumes, ['data:/data'], name);
      assert.equal(service(name).environment?.DATA_DIR, '/data', name);
    }
  });

  it('has node healthchecks on the port of each service (broker TCP, gateway /readyz, led-driver METRICS_PORT /readyz)', () => {
    const check = (name: string) => {
      const test = service(name).healthcheck?.test ?? [];
      assert.deepEqual(test.slice(0, 3), ['CMD', 'node', '-e'], name);
      assert.equal(test.length, 4);
      assert.ok(!test[3]?.includes('$'), `${name}: no $ in the command, compose would interpolate it`);
      return test[3] ?? '';
    };
    assert.match(check('broker'), /require\('net'\)\.connect\(\+\(process\.env\.BROKER_PORT\|\|1883\)/);
    assert.match(check('gateway'), /process\.env\.GATEWAY_PORT\|\|5678\)\+'\/readyz'/);
    assert.match(check('led-driver'), /process\.env\.METRICS_PORT\|\|9464\)\+'\/readyz'/);
    assert.equal(String(VARIABLES.BROKER_PORT.default), '1883');
    assert.equal(String(VARIABLES.GATEWAY_PORT.default), '5678');
    assert.equal(String(VARIABLES.METRICS_PORT.default), '9464');
  });

  it('passes `docker-compose config -q` on a clone with no .env', async () => {
    const result = await dockerCompose(['config', '-q']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr.trim(), '', 'no warning about unset variables');
  });

  it('takes settings from .env by interpolation', async () => {
    const resolved = await resolvedCompose({ GATEWAY_PORT: '8080', LED_BACKEND: 'pigpio', BROKER_PORT: '11883' });
    const gateway = resolved.services.gateway;
    assert.equal(gateway?.environment?.GATEWAY_PORT, '8080');
    assert.equal(gateway?.environment?.MQTT_URL, 'mqtt://broker:11883');
    assert.equal(resolved.services['led-driver']?.environment?.LED_BACKEND, 'pigpio');
    assert.ok(JSON.stringify(gateway?.ports).includes('8080'));
  });

  it('rejects a broken file (the config check can fail)', async () => {
    const result = await dockerCompose(['-f', 'missing.yml', 'config', '-q']);
    assert.notEqual(result.code, 0);
  });
});

describe('Dockerfiles', () => {
  for (const name of SERVICES) {
    it(`${name}: multi-stage from node:20-bookworm-slim, built from the root, running the compose command`, () => {
      const s = service(name);
      assert.deepEqual(s.build, { context: '.', dockerfile: `${name}/Dockerfile` });
      const dockerfile = readFileSync(join(ROOT, name, 'Dockerfile'), 'utf8');
      const froms = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
      assert.ok(froms.length >= 2, 'multi-stage');
      for (const from of froms) assert.equal(from, 'node:20-bookworm-slim');
      const cmd = [...dockerfile.matchAll(/^CMD (.+)$/gm)].map((m) => JSON.parse(m[1] as string) as string[]).at(-1);
      assert.deepEqual(cmd, s.command, 'CMD = compose command');
      const workdir = [...dockerfile.matchAll(/^WORKDIR (\S+)/gm)].map((m) => m[1]).at(-1);
      assert.equal(workdir, s.working_dir);
      assert.equal(workdir, `/app/${name}`, 'the service folder, as `npm start -w` runs it');
      assert.match(dockerfile, /npm ci --ignore-scripts/);
      // npm ci installs from the lock file, which lists every workspace: each one's package.json must be in the build.
      const workspaces = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { workspaces: string[] }).workspaces;
      for (const w of workspaces)
        assert.match(dockerfile, new RegExp(`^COPY ${w}/package\\.json ${w}/$`, 'm'), `${name}: ${w}/package.json`);
      assert.match(dockerfile, /npm prune --omit=dev/);
      assert.match(dockerfile, /ENV NODE_ENV=production DATA_DIR=\/data/);
      const users = [...dockerfile.matchAll(/^USER (\S+)/gm)].map((m) => m[1]);
      if (name === 'led-driver') assert.deepEqual(users, [], 'root, for pigpio');
      else assert.deepEqual(users, ['node']);
    });
  }

  it('led-driver: builds the pigpio C library and the pigpio module against it, and ships the library', () => {
    const dockerfile = readFileSync(join(ROOT, 'led-driver', 'Dockerfile'), 'utf8');
    assert.match(dockerfile, /joan2937\/pigpio/);
    assert.match(dockerfile, /npm rebuild pigpio/);
    assert.match(dockerfile, /grep -q gpioInitialise/);
    const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    assert.match(runtime, /COPY --from=pigpio \/usr\/local\/lib\/libpigpio\.so\.1/);
    assert.match(runtime, /ldconfig/);
  });

  it('.dockerignore keeps node_modules, build output and secrets out of the context', () => {
    const ignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n');
    for (const entry of ['**/node_modules', '**/dist', '.data', '.env', '.git']) assert.ok(ignore.includes(entry), entry);
  });
});

describe('.env.example', () => {
  it('lists every configuration variable, each once, commented out with its default', () => {
    const lines = readFileSync(join(ROOT, '.env.example'), 'utf8').split('\n');
    const listed = lines.map((l) => /^# ?([A-Z][A-Z0-9_]+)=(.*)$/.exec(l)).filter((m) => m !== null);
    const names = listed.map((m) => m[1] as string);
    assert.deepEqual([...names].sort(), Object.keys(VARIABLES).sort());
    assert.equal(new Set(names).size, names.length);
    for (const m of listed) {
      const spec = VARIABLES[m[1] as keyof typeof VARIABLES];
      if (spec.default !== undefined && m[1] !== 'DATA_DIR') assert.equal(m[2], String(spec.default), m[1]);
    }
  });
});
