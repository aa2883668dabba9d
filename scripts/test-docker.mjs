#!/usr/bin/env node
// `npm run test:docker`: docker-compose.yml and the Dockerfile run for real (test/docker/). Needs, and sets up when
// it can: the Debian tools the tests use (as `npm test`), a Docker engine, and the base image node:<major>-bookworm-slim
// (NODE_VERSION, default the Dockerfile's). Where the engine or the base image cannot be had from Docker's own
// registry (this project's CI reaches Debian's archive and the npm registry only), and this is run as root,
// ../shared/tools/docker-standin.sh installs Debian's docker.io, starts the engine and builds a local stand-in for
// the base image; the project's Dockerfile then builds unchanged.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDebianTools } from './debian-tools.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const standin = join(root, '..', 'shared', 'tools', 'docker-standin.sh');
const major = process.env.NODE_VERSION || /^ARG NODE_VERSION=(\d+)$/m.exec(readFileSync(join(root, 'Dockerfile'), 'utf8'))?.[1];
const base = `node:${major}-bookworm-slim`;

function fail(message) {
  process.stderr.write(`npm run test:docker: ${message}\n`);
  process.exit(1);
}

function step(title, command, args, options = {}) {
  process.stdout.write(`\n== ${title}\n`);
  const started = Date.now();
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', ...options });
  process.stdout.write(`== ${title}: ${result.status === 0 ? 'done' : 'failed'} in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  if (result.status !== 0) fail(`"${title}" failed`);
}

const quiet = (command, args, timeout = 60_000) => spawnSync(command, args, { stdio: 'ignore', timeout }).status === 0;
const engine = () => quiet('docker', ['info']);
const hasBase = () => quiet('docker', ['image', 'inspect', base]);

ensureDebianTools('npm run test:docker');
if (!major) fail('cannot read NODE_VERSION from the Dockerfile');
if (!(engine() && (hasBase() || quiet('docker', ['pull', base], 600_000)))) {
  if (!existsSync(standin)) fail(`needs a running Docker engine and the image ${base} (docker pull ${base})`);
  if (process.getuid?.() !== 0) fail(`needs a running Docker engine and ${base}; run as root to set them up with ${standin}`);
  step(`Docker engine and a stand-in for ${base}`, 'bash', [standin, major]);
}
if (!engine()) fail('the Docker engine does not answer');

step('build (tsc -b)', 'npx', ['tsc', '-b']);
const dir = join(root, 'test/dist/docker');
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.test.js'))
  .map((f) => join(dir, f));
// Builds are slow on a Pi and under a vfs storage driver: a test may take many minutes.
step(`docker tests (${files.length} files)`, process.execPath, ['--test', '--test-reporter=spec', '--test-timeout=3600000', ...files], {
  env: { ...process.env, NODE_VERSION: major },
});
