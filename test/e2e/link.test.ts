/**
 * The gateway's `link` command (`docker compose run --rm gateway link`, `npm run link -w gateway`) run as a process
 * beside the services' data: it prints the link, QR code, fingerprint and account that the services use, and it
 * starts nothing. (`npm run test:docker` runs it in the image.)
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { CERTIFICATE_FILE, loadConfig, loadSecrets } from '@gravity-led/shared';
import { decodeTerminalQr } from '../helpers/qr.js';
import { ROOT } from '../helpers/system.js';

const run = promisify(execFile);
const LINK = join(ROOT, 'gateway', 'dist', 'link.js');

function link(env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return run(process.execPath, [LINK], { env: { PATH: process.env.PATH, ...env }, timeout: 30_000 }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' }),
  );
}

describe('the link command', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gravity-led-link-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("prints the phone link for PUBLIC_HOSTS with its QR code, the certificate's fingerprint and the MQTT account", async () => {
    const result = await link({ DATA_DIR: dir, PUBLIC_HOSTS: 'pi.test,192.168.1.20', GATEWAY_HTTPS_PORT: '5679', BROKER_PORT: '11883' });
    assert.equal(result.code, 0, result.stderr);
    // What it printed is what the services will use: the secrets and certificate now in DATA_DIR.
    const secrets = loadSecrets(loadConfig({ DATA_DIR: dir }));
    const first = `https://pi.test:5679/#token=${encodeURIComponent(secrets.gatewayToken)}`;
    assert.ok(result.stdout.includes(first), result.stdout);
    assert.ok(result.stdout.includes(`https://192.168.1.20:5679/#token=${encodeURIComponent(secrets.gatewayToken)}`));
    assert.equal(decodeTerminalQr(result.stdout), first);
    const pem = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/.exec(readFileSync(join(dir, CERTIFICATE_FILE), 'utf8'))?.[0];
    const certificate = new X509Certificate(pem ?? '');
    assert.ok(result.stdout.includes(`SHA-256 fingerprint: ${certificate.fingerprint256}`));
    assert.match(certificate.subjectAltName ?? '', /DNS:pi\.test/);
    assert.ok(result.stdout.includes(`username: ${secrets.operator.username}`));
    assert.ok(result.stdout.includes(`password: ${secrets.operator.password}`));
    assert.ok(result.stdout.includes('MQTT: mqtt://pi.test:11883'));
    assert.doesNotMatch(result.stdout, /Ctrl\+C/, 'it runs nothing that would need stopping');
  });

  it('prints the same again: it reuses the secrets and the certificate, as a restarted service does', async () => {
    const env = { DATA_DIR: dir, PUBLIC_HOSTS: 'pi.test,192.168.1.20', GATEWAY_HTTPS_PORT: '5679', BROKER_PORT: '11883' };
    const [a, b] = [await link(env), await link(env)];
    assert.equal(a.stdout, b.stdout);
  });

  it('a bad variable stops it with one line naming it, and exit code 2', async () => {
    const result = await link({ DATA_DIR: dir, GATEWAY_PORT: 'abc' });
    assert.equal(result.code, 2);
    assert.equal(result.stdout, '');
    assert.equal(result.stderr.trim().split('\n').length, 1);
    assert.match(result.stderr, /^link: GATEWAY_PORT="abc" is not allowed/);
  });
});
