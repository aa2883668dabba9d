#!/usr/bin/env node
// `npm test`: makes sure the Debian tools the tests use are present (installing them when run as root),
// builds, checks formatting and lint, then runs every test file with Node's test runner.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
// Debian package -> a program it provides, as the tests call it.
const TOOLS = {
  'mosquitto-clients': '/usr/bin/mosquitto_pub',
  mosquitto: '/usr/sbin/mosquitto',
  chromium: '/usr/bin/chromium',
  'docker-compose': '/usr/bin/docker-compose',
  openssl: '/usr/bin/openssl',
};

function step(title, command, args) {
  process.stdout.write(`\n== ${title}\n`);
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    process.stderr.write(`npm test: "${title}" failed\n`);
    process.exit(result.status ?? 1);
  }
}

const missing = Object.entries(TOOLS)
  .filter(([, path]) => !existsSync(path))
  .map(([pkg]) => pkg);
if (missing.length > 0) {
  const line = `apt-get install -y ${missing.join(' ')}`;
  if (process.getuid?.() !== 0) {
    process.stderr.write(`npm test needs Debian packages that are not installed. Run:\n  sudo apt-get update && sudo ${line}\n`);
    process.exit(1);
  }
  process.stdout.write(`== installing ${missing.join(', ')}\n`);
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
}

step('build (tsc -b)', 'npx', ['tsc', '-b']);
step('format and lint (biome)', 'npx', ['biome', 'ci', '--error-on-warnings', '.']);

function testFiles(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return testFiles(path);
    return name.endsWith('.test.js') ? [path] : [];
  });
}
const only = process.argv.slice(2);
const files = testFiles(join(root, 'test/dist'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();
step(`tests (${files.length} files)`, process.execPath, [
  '--test',
  '--test-reporter=spec',
  '--test-concurrency=2',
  '--test-timeout=120000',
  ...files,
]);
