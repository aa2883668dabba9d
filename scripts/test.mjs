#!/usr/bin/env node
// `npm test`: makes sure the Debian tools the tests use are present (installing them when run as root),
// builds, checks formatting and lint, then runs every test file with Node's test runner; all but test/docker/,
// which builds and runs the images: `npm run test:docker` (scripts/test-docker.mjs) runs those.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDebianTools } from './debian-tools.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));

function step(title, command, args, timeout) {
  process.stdout.write(`\n== ${title}\n`);
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', timeout, killSignal: 'SIGKILL' });
  if (result.error?.code === 'ETIMEDOUT') process.stderr.write(`npm test: "${title}" still ran after ${timeout / 60_000} min\n`);
  if (result.status !== 0) {
    process.stderr.write(`npm test: "${title}" failed\n`);
    process.exit(result.status ?? 1);
  }
}

ensureDebianTools('npm test');

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
const dockerTests = join(root, 'test/dist/docker');
const files = testFiles(join(root, 'test/dist'))
  .filter((f) => !f.startsWith(dockerTests))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();
// --test-force-exit: a test file's process ends once its tests and hooks are done, even if a failed test left a
// timer or a socket going (each test cleans up in a finally; this is the last line of defence): without it, a failure
// that skipped a cleanup kept its file's process, and with it the whole run, alive for ever.
// The whole run normally takes 4-6 minutes on two cores: past this something hangs, and a red run says so in time.
const TESTS_TIMEOUT_MS = 30 * 60_000;
step(
  `tests (${files.length} files)`,
  process.execPath,
  ['--test', '--test-reporter=spec', '--test-concurrency=2', '--test-timeout=120000', '--test-force-exit', ...files],
  TESTS_TIMEOUT_MS,
);
