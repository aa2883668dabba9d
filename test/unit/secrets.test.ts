/**
 * Generated secrets are typed after options (`npm run client -- --token <token>`, `mosquitto_sub -P <password>`):
 * none may start with `-`, which Node's parseArgs refuses as an option's value. A CI run met a generated token
 * starting with `-` and every client test that passes `--token <token>` failed.
 *
 * A start that finds the file writes nothing: a flaky CI run listed DATA_DIR while a service, loading secrets that
 * were already there, had writeOnce's temporary file in it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { loadConfig, loadSecrets, randomSecret } from '@gravity-led/shared';

describe('generated secrets', () => {
  const dirs: string[] = [];
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('never start with a dash, and keep their length and alphabet', () => {
    // Without the redraw one draw in 64 starts with `-`: 5,000 draws all pass by chance with probability e^-78.
    for (let i = 0; i < 5000; i++) {
      const secret = randomSecret(18);
      assert.doesNotMatch(secret, /^-/);
      assert.match(secret, /^[A-Za-z0-9_-]{24}$/);
    }
  });

  it('every first character but the dash still comes up (the redraw removes only that one)', () => {
    const firsts = new Set<string>();
    for (let i = 0; i < 20_000; i++) firsts.add(randomSecret(6).charAt(0));
    assert.equal(firsts.size, 63);
  });

  it('a start that finds secrets.json reads it and writes nothing to DATA_DIR, not even a temporary file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gravity-led-secrets-'));
    dirs.push(dir);
    const first = loadSecrets(loadConfig({ DATA_DIR: dir }));
    const before = statSync(dir).mtimeMs;
    // Past the file system's timestamp granularity: creating and removing a file in DATA_DIR would move its mtime.
    await sleep(50);
    for (let i = 0; i < 3; i++) assert.deepEqual(loadSecrets(loadConfig({ DATA_DIR: dir })), first);
    assert.equal(statSync(dir).mtimeMs, before, 'DATA_DIR was written to: a file was created or removed in it');
    assert.deepEqual(readdirSync(dir), ['secrets.json']);
  });

  it('a generated token is accepted as the value of --token, as the client parses it', () => {
    for (let i = 0; i < 50; i++) {
      const dir = mkdtempSync(join(tmpdir(), 'gravity-led-secrets-'));
      dirs.push(dir);
      const { gatewayToken, operator, service } = loadSecrets(loadConfig({ DATA_DIR: dir }));
      for (const secret of [gatewayToken, operator.password, service.password]) {
        const { values } = parseArgs({ args: ['--token', secret], options: { token: { type: 'string' } } });
        assert.equal(values.token, secret);
      }
    }
  });
});
