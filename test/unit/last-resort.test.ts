/**
 * The last line of defence in runService (shared/src/service-main.ts), in a real process: a cleanup registered with
 * atExit() runs however the process ends while JavaScript still runs, which is where the led-driver turns both LEDs
 * off and releases the GPIO. Each case is a small service run by runService in a child process; the cleanup writes a
 * file, which the test reads once the process is gone.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ROOT } from '../helpers/system.js';

const scratch = mkdtempSync(join(tmpdir(), 'gravity-led-last-resort-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/**
 * Runs a service whose start() registers the cleanup, then does `body` (JavaScript inside an async function with
 * `config`, `log` and `ready` in scope), and sends `signal` once it logs "ready". Resolves with the exit code and
 * whether the cleanup ran.
 */
function run(name: string, body: string, signal?: NodeJS.Signals): Promise<{ code: number | null; cleaned: boolean; output: string }> {
  const marker = join(scratch, `${name}.cleaned`);
  const script = `
    import { writeFileSync } from 'node:fs';
    import { atExit, runService } from '@gravity-led/shared';
    await runService('${name}', async (config, log) => {
      atExit(() => writeFileSync(${JSON.stringify(marker)}, 'LEDs off'));
      const ready = () => log.info('ready');
      // What a real service's listening sockets do: keep the process alive.
      setInterval(() => {}, 1000);
      ${body}
    });
  `;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, LOG_FORMAT: 'json', DATA_DIR: scratch },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (signal && output.includes('"msg":"ready"')) {
        child.kill(signal);
        signal = undefined;
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, cleaned: existsSync(marker) && readFileSync(marker, 'utf8') === 'LEDs off', output });
    });
  });
}

describe('the last line of defence: atExit() cleanups run on every way out', () => {
  it('a stop that hangs: the 2 s deadline exits with 1, and the cleanup runs first', async () => {
    const { code, cleaned, output } = await run('hangs', `ready(); return { stop: () => new Promise(() => {}) };`, 'SIGTERM');
    assert.equal(code, 1, output);
    assert.match(output, /did not stop within 2000 ms/);
    assert.ok(cleaned, output);
  });

  it('an uncaught exception while still starting: exit 1, the cleanup runs', async () => {
    const { code, cleaned, output } = await run('throws', `setImmediate(() => { throw new Error('boom'); }); await new Promise(() => {});`);
    assert.equal(code, 1, output);
    assert.match(output, /"level":60.*uncaught exception: boom/);
    assert.ok(cleaned, output);
  });

  it('an unhandled rejection while running: the orderly stop, exit 1, the cleanup runs', async () => {
    const { code, cleaned, output } = await run(
      'rejects',
      `setImmediate(() => { void Promise.reject(new Error('lost')); }); ready(); return { stop: async () => log.info('stopped in order') };`,
    );
    assert.equal(code, 1, output);
    assert.match(output, /unhandled rejection: lost/);
    assert.match(output, /stopped in order/);
    assert.ok(cleaned, output);
  });

  it('a start that fails: exit 1, the cleanup runs', async () => {
    const { code, cleaned, output } = await run('fails', `throw new Error('no broker library');`);
    assert.equal(code, 1, output);
    assert.match(output, /could not start: no broker library/);
    assert.ok(cleaned, output);
  });

  it('SIGHUP (the terminal closing) stops a service the orderly way, exit 0', async () => {
    const { code, cleaned, output } = await run('hangup', `ready(); return { stop: async () => log.info('stopped in order') };`, 'SIGHUP');
    assert.equal(code, 0, output);
    assert.match(output, /stopped in order/);
    assert.ok(cleaned);
  });
});
