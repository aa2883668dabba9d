/**
 * The services' node flags are said in four files that cannot import them (three package.json start scripts and the
 * root one, and the image's entry point) and defined once, in shared/src/node-flags.ts: each must say exactly those,
 * or `npm start`, `npm start -w <service>` and the containers would run differently from what the benchmark and the
 * tests measured.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { NODE_FLAGS } from '@gravity-led/shared';
import { ROOT } from '../helpers/system.js';

/** `node`, exactly NODE_FLAGS (no more, no fewer, in this order), then `script`. */
const runs = (script: string) => `node ${NODE_FLAGS.join(' ')} ${script}`;

function startScript(dir: string): string {
  const pkg = JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  return pkg.scripts.start ?? '';
}

test('npm start runs with NODE_FLAGS (and passes them on to the led-driver it starts)', () => {
  assert.ok(startScript('.').includes(runs('scripts/dist/start.js')), startScript('.'));
  const launcher = readFileSync(join(ROOT, 'scripts/start.ts'), 'utf8');
  assert.match(launcher, /spawn\(process\.execPath, \[\.\.\.process\.execArgv, 'led-driver\/dist\/main\.js'\]/);
});

for (const service of ['broker', 'gateway', 'led-driver']) {
  test(`npm start -w ${service} runs with NODE_FLAGS`, () => {
    assert.ok(startScript(service).includes(runs('dist/main.js')), startScript(service));
  });
}

test('the image runs every program with NODE_FLAGS', () => {
  const entrypoint = readFileSync(join(ROOT, 'docker/entrypoint.sh'), 'utf8');
  assert.ok(entrypoint.includes(`exec ${runs('"$@"')}`), entrypoint);
});

test('this Node accepts every flag (a flag a later Node drops would stop each service at start)', () => {
  const run = spawnSync(process.execPath, [...NODE_FLAGS, '-e', '0'], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stderr, '');
});
