/**
 * The architecture rule, enforced: services never import each other; they meet only on MQTT topics and in
 * `shared/`, which imports no service. A reader can trust the folder names to show the data path.
 *
 * One exception, which the performance work measured as worth it (docs/performance.md): the gateway may host the
 * broker in its own process, through the broker package's public entry point, from one file only.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from '../helpers/system.js';

const PACKAGES = ['shared', 'broker', 'gateway', 'led-driver'] as const;

/** The one import across services: this file of the gateway, of the broker package's public entry point. */
const HOSTED_BROKER = { file: 'gateway/src/hosted-broker.ts', spec: '@gravity-led/broker' } as const;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)].map(
    (m) => m[1] ?? m[2] ?? '',
  );
}

describe('package boundaries', () => {
  for (const pkg of PACKAGES) {
    it(`${pkg} imports no other service${pkg === 'shared' ? ' (and no service at all)' : ''}`, () => {
      const files = sources(join(ROOT, pkg, 'src'));
      assert.ok(files.length > 0);
      const allowed = pkg === 'shared' ? [] : ['@gravity-led/shared'];
      for (const file of files) {
        const exception = relative(ROOT, file) === HOSTED_BROKER.file ? [HOSTED_BROKER.spec] : [];
        for (const spec of imports(file)) {
          if (spec.startsWith('@gravity-led/')) {
            assert.ok([...allowed, ...exception].includes(spec), `${relative(ROOT, file)} imports ${spec}`);
          }
          if (spec.startsWith('.')) {
            // A relative import must stay inside the package's own src folder, or reach its own public/ folder (the
            // gateway imports the page's figures.js, so that both count the live figures alike).
            const target = join(file, '..', spec);
            const own = [join(ROOT, pkg, 'src', '/'), join(ROOT, pkg, 'public', '/')];
            assert.ok(
              own.some((dir) => target.startsWith(dir)),
              `${relative(ROOT, file)} reaches outside its package: ${spec}`,
            );
          }
        }
      }
    });
  }

  it('the gateway reaches the broker package from hosted-broker.ts alone, and only through its public entry point', () => {
    const users = sources(join(ROOT, 'gateway', 'src')).filter((file) =>
      imports(file).some((spec) => spec === HOSTED_BROKER.spec || spec.startsWith(`${HOSTED_BROKER.spec}/`)),
    );
    assert.deepEqual(
      users.map((file) => relative(ROOT, file)),
      [HOSTED_BROKER.file],
    );
    assert.deepEqual(
      imports(join(ROOT, HOSTED_BROKER.file)).filter((spec) => spec.startsWith('@gravity-led/')),
      ['@gravity-led/shared', HOSTED_BROKER.spec],
    );
  });
});
