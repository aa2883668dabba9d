/** docker-compose.yml, the Dockerfile and .env.example held to the configuration module and to each other. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { VARIABLES } from '@gravity-led/shared';
import {
  BUILD_ARGUMENTS,
  DOCKERFILE,
  dockerCompose,
  dockerfileInstructions,
  interpolations,
  rawCompose,
  resolvedCompose,
  SERVICES,
  variablesRead,
} from '../helpers/compose.js';
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
/**
 * Left out on purpose: a container listens on all its interfaces, `ports:` decides what the Pi exposes; and the broker
 * is a container of its own (INTERFACE.md: the three services as containers), so the gateway never hosts one there.
 */
const NOT_PASSED = new Set(['GATEWAY_HOST', 'BROKER_HOST', 'METRICS_HOST', 'GATEWAY_HOSTS_BROKER']);

describe('docker-compose.yml', () => {
  it('has exactly the services broker, gateway and led-driver, each restarting unless stopped', () => {
    assert.deepEqual(Object.keys(file.services).sort(), [...SERVICES].sort());
    for (const name of SERVICES) assert.equal(service(name).restart, 'unless-stopped', name);
  });

  it('makes only the led-driver privileged, and only it runs as root (the image runs as "node")', () => {
    assert.equal(service('led-driver').privileged, true);
    assert.equal(service('led-driver').user, 'root');
    for (const name of ['broker', 'gateway']) {
      assert.equal(service(name).privileged, undefined, name);
      assert.equal(service(name).devices, undefined, `${name} has no devices`);
      assert.equal(service(name).user, undefined, `${name} runs as the image's user`);
    }
  });

  it("rotates every service's log (at most a few files of a few MB), so that an SD card does not fill", async () => {
    const resolved = await resolvedCompose({});
    for (const name of SERVICES) {
      const logging = resolved.services[name]?.logging;
      assert.equal(logging?.driver, 'json-file', name);
      const size = /^(\d+)m$/.exec(String(logging?.options?.['max-size']))?.[1];
      assert.ok(size && Number(size) <= 20, `${name}: max-size ${logging?.options?.['max-size']}`);
      const files = Number(logging?.options?.['max-file']);
      assert.ok(files >= 1 && files <= 5, `${name}: max-file ${files}`);
    }
  });

  it('starts gateway and led-driver only once the broker is healthy', () => {
    for (const name of ['gateway', 'led-driver']) {
      assert.deepEqual(service(name).depends_on, { broker: { condition: 'service_healthy' } }, name);
    }
    assert.equal(service('broker').depends_on, undefined);
  });

  it('interpolates only variables of the configuration module and the build arguments, with their defaults', () => {
    const used = interpolations(text);
    assert.ok(used.length > 20);
    for (const { name, fallback, raw } of used) {
      assert.notEqual(fallback, undefined, `${raw} needs a default (:-) so the file works without .env`);
      if (name in BUILD_ARGUMENTS) {
        assert.equal(fallback, BUILD_ARGUMENTS[name], `${raw}: the build argument's default`);
        continue;
      }
      const spec = VARIABLES[name as keyof typeof VARIABLES];
      assert.ok(spec, `${raw} is neither a configuration variable nor a build argument`);
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

  it('publishes 5678, 5679, 1883, 9001, 9464 and 9465 (metrics) by default, the same number outside and inside', async () => {
    const resolved = await resolvedCompose({});
    const published = Object.values(resolved.services).flatMap((s) => (s.ports ?? []) as unknown[]);
    const pairs = published.map((p) => {
      const port = p as { published: number | string; target: number | string };
      return [Number(port.published), Number(port.target)];
    });
    assert.deepEqual(pairs.map(([outside]) => outside).sort(), [1883, 5678, 5679, 9001, 9464, 9465], JSON.stringify(published));
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

/** Every `ARG NAME=default` of the Dockerfile (an ARG line may hold several), each with one default throughout. */
function buildArgumentDefaults(): Map<string, string> {
  const pairs = dockerfileInstructions()
    .filter((i) => i.keyword === 'ARG')
    .flatMap((i) => i.args.split(/\s+/))
    .filter((pair) => pair.includes('='))
    .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)] as const);
  for (const [name, value] of pairs) {
    const other = pairs.find(([n, v]) => n === name && v !== value);
    assert.equal(other, undefined, `${name}: one default in every stage (${value})`);
  }
  return new Map(pairs);
}

describe('Dockerfile: one image for the three services', () => {
  const instructions = dockerfileInstructions();
  const stages = [...new Set(instructions.map((i) => i.stage))];
  const runtime = stages.at(-1) as string;
  const inStage = (stage: string, keyword: string) => instructions.filter((i) => i.stage === stage && i.keyword === keyword);

  it('the broker builds the one image from the root; all three run it, each its own command', () => {
    // Each build argument from .env, with the Dockerfile's default.
    const args = Object.fromEntries(Object.entries(BUILD_ARGUMENTS).map(([arg, fallback]) => [arg, `\${${arg}:-${fallback}}`]));
    assert.deepEqual(service('broker').build, { context: '.', args });
    for (const name of SERVICES) {
      const s = service(name);
      assert.equal(s.image, 'gravity-led', name);
      assert.deepEqual(s.command, [name], name);
      assert.equal(s.working_dir, undefined, `${name}: the entry point chooses the folder`);
      if (name === 'broker') continue;
      assert.equal(s.build, undefined, `${name} is not built a second time`);
      assert.equal(s.pull_policy, 'never', `${name}: the image is built here, not pulled`);
      assert.ok(s.depends_on?.broker, `${name} starts after the broker, whose build makes the image`);
    }
  });

  const base = `node:\${NODE_VERSION}-bookworm-slim`;
  it(`every stage is ${base}, whose default and the other build arguments match the compose file`, () => {
    const froms = instructions.filter((i) => i.keyword === 'FROM').map((i) => i.args.split(/\s+/)[0]);
    assert.ok(froms.length >= 2, 'multi-stage');
    // Stages that only gather files from the build context start from nothing; others from the base, or build on
    // an earlier stage.
    for (const from of froms) assert.ok(from === base || from === 'scratch' || stages.includes(from as string), from);
    assert.equal(froms.at(-1), base);
    const defaults = buildArgumentDefaults();
    for (const [name, value] of Object.entries(BUILD_ARGUMENTS)) assert.equal(defaults.get(name), value, name);
  });

  it('the runtime stage runs the entry point as "node", with production settings and no dev dependencies', () => {
    assert.deepEqual(
      inStage(runtime, 'USER').map((i) => i.args),
      ['node'],
    );
    assert.deepEqual(
      inStage(runtime, 'ENTRYPOINT').map((i) => JSON.parse(i.args)),
      [['/app/docker/entrypoint.sh']],
    );
    assert.ok(inStage(runtime, 'ENV').some((i) => i.args === 'NODE_ENV=production DATA_DIR=/data'));
    // What the led-driver reads to tell an image built without pigpio (WITH_PIGPIO=false) to be rebuilt.
    assert.ok(inStage(runtime, 'ENV').some((i) => i.args === `IMAGE_WITH_PIGPIO=\${WITH_PIGPIO}`));
    assert.ok(inStage(runtime, 'ARG').some((i) => i.args === 'WITH_PIGPIO=true'));
    // The image is made of what two stages leave in /out: deps (node_modules, installed with --omit=dev) and build
    // (compiled code, which installed the dev dependencies to compile but hands none of them on).
    const sources = inStage(runtime, 'COPY').map((i) => /^--from=(\S+) \/out\/ \/$/.exec(i.args)?.[1]);
    assert.deepEqual(sources, ['deps', 'build']);
    const npmCi = (stage: string) => inStage(stage, 'RUN').flatMap((i) => [...i.args.matchAll(/npm ci[^&;]*/g)].map((m) => m[0]));
    assert.ok(npmCi('deps').length > 0);
    for (const install of npmCi('deps')) assert.match(install, /--omit=dev/);
    const assemble = inStage('build', 'RUN').at(-1)?.args ?? '';
    assert.match(assemble, /\/out\/app/);
    assert.doesNotMatch(assemble, /node_modules/, 'build hands on no node_modules');
    for (const stage of stages) for (const install of npmCi(stage)) assert.match(install, /--ignore-scripts/, stage);
  });

  it('npm ci installs from the lock file with every workspace manifest present (the manifests stage)', () => {
    const workspaces = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { workspaces: string[] }).workspaces;
    const copies = inStage('manifests', 'COPY').map((i) => i.args);
    assert.ok(copies.includes('package.json package-lock.json /m/'));
    for (const w of workspaces) assert.ok(copies.includes(`${w}/package.json /m/${w}/`), `${w}/package.json`);
    for (const stage of ['deps', 'build']) {
      assert.ok(
        inStage(stage, 'COPY').some((i) => i.args === '--from=manifests /m/ /app/'),
        stage,
      );
      // The manifests come before the install, the sources after it: a change to the sources reuses the install.
      const steps = instructions.filter((i) => i.stage === stage).map((i) => `${i.keyword} ${i.args}`);
      const install = steps.findIndex((s) => /npm ci/.test(s));
      assert.ok(steps.findIndex((s) => s.includes('--from=manifests')) < install, stage);
      const sources = steps.findIndex((s) => s.includes('--from=sources'));
      assert.ok(sources === -1 || sources > install, stage);
    }
  });

  it('builds the pigpio C library from a source pinned by checksum, the npm module against it, and ships the library', () => {
    const source = readFileSync(DOCKERFILE, 'utf8');
    assert.doesNotMatch(source, /github\.com/, 'no download from GitHub');
    const defaults = buildArgumentDefaults();
    assert.match(
      defaults.get('PIGPIO_SOURCE') ?? '',
      /^http:\/\/deb\.debian\.org\/debian\/pool\/main\/p\/pigpio\/pigpio_1\.78\.orig\.tar\.gz$/,
    );
    assert.match(defaults.get('PIGPIO_SHA256') ?? '', /^[0-9a-f]{64}$/);
    assert.match(source, /echo "\$PIGPIO_SHA256 {2}pigpio\.tar\.gz" \| sha256sum -c -/);
    assert.match(source, /npm rebuild pigpio/);
    assert.match(source, /grep -q gpioInitialise/);
    // deps builds on the pigpio stage; the library reaches the image through its /out, and the module finds it by
    // its run path (the image has no loader cache entry for /usr/local/lib), which the build checks.
    assert.ok(instructions.some((i) => i.keyword === 'FROM' && i.args === 'pigpio AS deps'));
    const deps = inStage('deps', 'RUN')
      .map((i) => i.args)
      .join('\n');
    assert.match(deps, /cp \/usr\/local\/lib\/libpigpio\.so\.1 \/out\/usr\/local\/lib\//);
    assert.match(deps, /LDFLAGS=-Wl,-rpath,\/usr\/local\/lib npm rebuild pigpio/);
    assert.match(deps, /readelf -d \S+pigpio\.node \| grep -q 'R\.\*PATH\.\*\/usr\/local\/lib'/);
  });

  it('the entry point runs each service in its folder, as `npm start -w` does, and the tools beside them', () => {
    const entry = readFileSync(join(ROOT, 'docker', 'entrypoint.sh'), 'utf8');
    assert.match(entry, /broker \| gateway \| led-driver\) run "\$command" dist\/main\.js "\$@"/);
    assert.match(entry, /link\) run gateway dist\/link\.js "\$@"/);
    assert.match(entry, /selftest\) run led-driver dist\/main\.js selftest "\$@"/);
    // With the services' node flags between (test/unit/node-flags.test.ts checks which).
    assert.match(entry, /exec node (--\S+ )*"\$@"/, 'the program replaces the shell, so it gets the signals');
  });

  it('.dockerignore sends only what the image is built from: no node_modules, build output, secrets, tests or .git', () => {
    const lines = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() && !l.startsWith('#'));
    assert.equal(lines[0], '*', 'everything is left out first');
    const admitted = lines.filter((l) => l.startsWith('!')).map((l) => l.slice(1).replace(/\/$/, ''));
    const admits = (path: string) => admitted.some((a) => path === a || path.startsWith(`${a}/`));
    // Every file or folder the build copies from the context is sent (a folder: what is admitted inside it) ...
    for (const copy of instructions.filter((i) => i.keyword === 'COPY' && !i.args.startsWith('--from'))) {
      const sources = copy.args.split(/\s+/).slice(0, -1);
      for (const s of sources.map((p) => p.replace(/\/$/, '')).filter((p) => p !== '.')) {
        assert.ok(admits(s) || admitted.some((a) => a.startsWith(`${s}/`)), `COPY ${s} is sent`);
      }
    }
    // ... and nothing private or bulky is.
    for (const path of ['.env', '.data', '.git', 'node_modules', 'test', 'bench', 'scripts', 'docs']) assert.ok(!admits(path), path);
    for (const never of ['**/node_modules', '**/dist', '**/.data', '**/.env']) assert.ok(lines.includes(never), never);
    const lastAdmitted = Math.max(...admitted.map((a) => Math.max(lines.indexOf(`!${a}`), lines.indexOf(`!${a}/`))));
    assert.ok(lines.indexOf('**/node_modules') > lastAdmitted, 'the never-lines come after the exceptions');
  });
});

describe('.env.example', () => {
  const lines = readFileSync(join(ROOT, '.env.example'), 'utf8').split('\n');
  const listed = lines.map((l) => /^(# ?)?([A-Z][A-Z0-9_]+)=(.*)$/.exec(l)).filter((m) => m !== null);

  it('lists every configuration variable and build argument, each once, commented out with its default', () => {
    const names = listed.map((m) => m[2] as string);
    assert.deepEqual([...names].sort(), [...Object.keys(VARIABLES), ...Object.keys(BUILD_ARGUMENTS)].sort());
    assert.equal(new Set(names).size, names.length);
    for (const m of listed) {
      const name = m[2] as string;
      if (name === 'PUBLIC_HOSTS') continue;
      assert.ok(m[1], `${name} is commented out`);
      const fallback = BUILD_ARGUMENTS[name] ?? VARIABLES[name as keyof typeof VARIABLES].default;
      if (fallback !== undefined && name !== 'DATA_DIR') assert.equal(m[3], String(fallback), name);
    }
  });

  it("asks for PUBLIC_HOSTS first: not commented out, empty until the Pi's name and address are filled in", () => {
    const first = listed[0];
    assert.equal(first?.[2], 'PUBLIC_HOSTS');
    assert.equal(first?.[1], undefined, 'a line to fill in, not a commented default');
    assert.equal(first?.[3], '');
  });
});
