/**
 * The generated certificate: what it covers, where it is kept and with which permissions, when it is reused and
 * when it is replaced. The clock and the machine's names are injected, so expiry and address changes are exact.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  CERTIFICATE_FILE,
  certificateProblem,
  ensureCertificate,
  type HostNames,
  loadConfig,
  loadTlsCredentials,
  machineHostNames,
  ownNamesCount,
} from '@gravity-led/shared';

const DAY = 24 * 60 * 60 * 1000;
const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gravity-led-cert-'));
  dirs.push(dir);
  return join(dir, 'data');
}

const NAMES: HostNames = { dns: ['localhost', 'pi', 'pi.local'], ips: ['127.0.0.1', '::1', '192.168.1.20', 'fd00::20'] };
const NOW = new Date('2030-01-01T00:00:00Z');

function certOf(dataDir: string): X509Certificate {
  return new X509Certificate(readFileSync(join(dataDir, CERTIFICATE_FILE)));
}

describe('machine names for the certificate', () => {
  it('covers localhost, the host name, HOSTNAME.local, loopback and every non-internal address except IPv6 link-local', () => {
    const names = machineHostNames({
      hostname: 'RaspberryPi.example.org',
      interfaces: {
        lo: [{ address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal: true, cidr: null }],
        wlan0: [
          { address: '192.168.1.20', netmask: '255.255.255.0', family: 'IPv4', mac: 'aa:bb:cc:dd:ee:ff', internal: false, cidr: null },
          {
            address: 'fe80::1234',
            netmask: 'ffff:ffff:ffff:ffff::',
            family: 'IPv6',
            mac: 'aa:bb:cc:dd:ee:ff',
            internal: false,
            cidr: null,
            scopeid: 3,
          },
          {
            address: 'FD00:0:0:0:0:0:0:20',
            netmask: 'ffff:ffff:ffff:ffff::',
            family: 'IPv6',
            mac: 'aa:bb:cc:dd:ee:ff',
            internal: false,
            cidr: null,
            scopeid: 0,
          },
        ],
      },
      extra: ['gravity.example.net', '203.0.113.7'],
    });
    assert.deepEqual(names.dns.toSorted(), ['gravity.example.net', 'localhost', 'raspberrypi.example.org', 'raspberrypi.local']);
    assert.deepEqual(names.ips.toSorted(), ['127.0.0.1', '192.168.1.20', '203.0.113.7', '::1', 'fd00::20']);
  });

  it("leaves out the machine's own names and addresses when PUBLIC_HOSTS names them or in a container", () => {
    const interfaces = {
      eth0: [
        { address: '172.18.0.3', netmask: '255.255.0.0', family: 'IPv4' as const, mac: 'aa:aa:aa:aa:aa:aa', internal: false, cidr: null },
      ],
    };
    const names = machineHostNames({ hostname: '3f2a9c1d7e4b', interfaces, extra: ['raspberrypi.local', '192.168.1.20'], own: false });
    assert.deepEqual(names, { dns: ['localhost', 'raspberrypi.local'], ips: ['127.0.0.1', '::1', '192.168.1.20'] });
    assert.equal(ownNamesCount([], false), true);
    assert.equal(ownNamesCount(['raspberrypi.local'], false), false);
    assert.equal(ownNamesCount([], true), false);
  });

  it("uses this machine's host name by default", () => {
    const names = machineHostNames();
    const host = hostname().toLowerCase();
    assert.ok(names.dns.includes(host), names.dns.join());
    assert.ok(names.dns.includes(`${host.split('.')[0]}.local`), names.dns.join());
  });
});

describe('the generated certificate', () => {
  it('covers every name and address, is kept owner-only in DATA_DIR, and reports its SHA-256 fingerprint', async () => {
    const dataDir = tempDir();
    const tls = await ensureCertificate(dataDir, { names: NAMES, now: NOW });
    assert.equal(tls.source, 'generated');
    const file = join(dataDir, CERTIFICATE_FILE);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(dataDir).mode & 0o777, 0o700);

    const x509 = certOf(dataDir);
    assert.equal(tls.fingerprint, x509.fingerprint256);
    assert.match(tls.fingerprint, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    for (const name of NAMES.dns) assert.equal(x509.checkHost(name, { subject: 'never' }), name);
    for (const ip of NAMES.ips) assert.equal(x509.checkIP(ip), ip);
    assert.equal(x509.checkHost('elsewhere.example'), undefined);
    assert.match(x509.subjectAltName ?? '', /DNS:localhost/);
    assert.match(x509.subjectAltName ?? '', /IP Address:127\.0\.0\.1/);
    assert.equal(x509.ca, false);
    // Self-signed, with the key that is stored beside it.
    assert.equal(x509.issuer, x509.subject);
    assert.ok(x509.verify(x509.publicKey));
    assert.ok(readFileSync(file, 'utf8').includes(tls.key.trim()));
    // At most 825 days (Apple's limit), starting a day early for phones whose clock is behind.
    const from = new Date(x509.validFrom).getTime();
    const to = new Date(x509.validTo).getTime();
    assert.ok(to - from <= 825 * DAY, `${x509.validFrom} .. ${x509.validTo}`);
    assert.ok(from <= NOW.getTime() - DAY + 1000 && to > NOW.getTime() + 800 * DAY);
  });

  it('is reused on the next start, unchanged', async () => {
    const dataDir = tempDir();
    const first = await ensureCertificate(dataDir, { names: NAMES, now: NOW });
    const second = await ensureCertificate(dataDir, { names: NAMES, now: new Date(NOW.getTime() + 100 * DAY) });
    assert.equal(second.source, 'stored');
    assert.equal(second.fingerprint, first.fingerprint);
    assert.equal(second.cert, first.cert);
  });

  it('is replaced when the machine gains an address or name it does not cover, and kept when one goes away', async () => {
    const dataDir = tempDir();
    const first = await ensureCertificate(dataDir, { names: NAMES, now: NOW });
    const reasons: string[] = [];
    const fewer = await ensureCertificate(dataDir, { names: { dns: NAMES.dns, ips: ['127.0.0.1', '::1'] }, now: NOW });
    assert.equal(fewer.fingerprint, first.fingerprint, 'a certificate covering more than needed is kept');

    const moved = { dns: NAMES.dns, ips: [...NAMES.ips, '10.0.0.5'] };
    const renewed = await ensureCertificate(dataDir, { names: moved, now: NOW, onReplace: (r) => reasons.push(r) });
    assert.equal(renewed.source, 'generated');
    assert.notEqual(renewed.fingerprint, first.fingerprint);
    assert.equal(certOf(dataDir).checkIP('10.0.0.5'), '10.0.0.5');
    assert.deepEqual(reasons, ['it does not cover 10.0.0.5']);

    const renamed = await ensureCertificate(dataDir, { names: { dns: [...NAMES.dns, 'newname.local'], ips: moved.ips }, now: NOW });
    assert.notEqual(renamed.fingerprint, renewed.fingerprint);
    assert.equal(certOf(dataDir).checkHost('newname.local'), 'newname.local');
    assert.equal(statSync(join(dataDir, CERTIFICATE_FILE)).mode & 0o777, 0o600);
  });

  it('is replaced within 30 days of its expiry, and not before', async () => {
    const dataDir = tempDir();
    const first = await ensureCertificate(dataDir, { names: NAMES, now: NOW });
    const expiry = first.validTo.getTime();
    const early = await ensureCertificate(dataDir, { names: NAMES, now: new Date(expiry - 31 * DAY) });
    assert.equal(early.fingerprint, first.fingerprint);
    const late = await ensureCertificate(dataDir, { names: NAMES, now: new Date(expiry - 29 * DAY) });
    assert.notEqual(late.fingerprint, first.fingerprint);
    assert.ok(late.validTo.getTime() > expiry);
    const expired = await ensureCertificate(dataDir, { names: NAMES, now: new Date(late.validTo.getTime() + DAY) });
    assert.notEqual(expired.fingerprint, late.fingerprint);
  });

  it('is replaced when the file is damaged or its key does not match', async () => {
    const dataDir = tempDir();
    const first = await ensureCertificate(dataDir, { names: NAMES, now: NOW });
    const file = join(dataDir, CERTIFICATE_FILE);
    writeFileSync(file, 'not a certificate\n', { mode: 0o600 });
    const repaired = await ensureCertificate(dataDir, { names: NAMES, now: NOW });
    assert.notEqual(repaired.fingerprint, first.fingerprint);
    // Certificate of one pair with the key of another.
    writeFileSync(file, `${first.cert}${repaired.key}`, { mode: 0o600 });
    assert.equal(certificateProblem(readFileSync(file, 'utf8'), NAMES, NOW), 'the key does not belong to the certificate');
    const again = await ensureCertificate(dataDir, { names: NAMES, now: NOW });
    assert.equal(certificateProblem(readFileSync(file, 'utf8'), NAMES, NOW), undefined);
    assert.notEqual(again.fingerprint, first.fingerprint);
  });

  it('ends up as one certificate when two services create or renew it at the same moment', async () => {
    const dataDir = tempDir();
    const created = await Promise.all([1, 2, 3].map(() => ensureCertificate(dataDir, { names: NAMES, now: NOW })));
    assert.equal(new Set(created.map((c) => c.fingerprint)).size, 1);
    assert.equal(created[0]?.fingerprint, certOf(dataDir).fingerprint256);

    const later = new Date(created[0]?.validTo.getTime() ?? 0);
    const renewed = await Promise.all([1, 2, 3].map(() => ensureCertificate(dataDir, { names: NAMES, now: later })));
    assert.equal(new Set(renewed.map((c) => c.fingerprint)).size, 1, renewed.map((c) => c.fingerprint).join('\n'));
    assert.equal(renewed[0]?.fingerprint, certOf(dataDir).fingerprint256);
    assert.notEqual(renewed[0]?.fingerprint, created[0]?.fingerprint);
  });
});

describe('TLS credentials in force', () => {
  it('uses TLS_CERT_FILE and TLS_KEY_FILE as given and generates nothing', async () => {
    const source = await ensureCertificate(tempDir(), { names: NAMES, now: NOW });
    const dir = mkdtempSync(join(tmpdir(), 'gravity-led-own-cert-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'cert.pem'), source.cert);
    writeFileSync(join(dir, 'key.pem'), source.key);
    const dataDir = join(dir, 'data');
    const config = loadConfig({ DATA_DIR: dataDir, TLS_CERT_FILE: join(dir, 'cert.pem'), TLS_KEY_FILE: join(dir, 'key.pem') });
    const tls = await loadTlsCredentials(config);
    assert.equal(tls.source, 'files');
    assert.equal(tls.fingerprint, source.fingerprint);
    assert.equal(tls.cert, source.cert);
    assert.throws(() => statSync(join(dataDir, CERTIFICATE_FILE)), /ENOENT/);
  });

  it('names the variable when a configured file cannot be read or is not a certificate', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gravity-led-own-cert-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'junk.pem'), 'junk');
    const missing = loadConfig({ DATA_DIR: dir, TLS_CERT_FILE: join(dir, 'nope.pem'), TLS_KEY_FILE: join(dir, 'junk.pem') });
    await assert.rejects(loadTlsCredentials(missing), /^Error: TLS_CERT_FILE=.*nope\.pem cannot be read/);
    const junk = loadConfig({ DATA_DIR: dir, TLS_CERT_FILE: join(dir, 'junk.pem'), TLS_KEY_FILE: join(dir, 'junk.pem') });
    await assert.rejects(loadTlsCredentials(junk), /TLS_CERT_FILE=.*junk\.pem is not a PEM certificate/);
  });

  it('refuses a PUBLIC_HOSTS entry that is neither a host name nor an address', () => {
    assert.throws(() => loadConfig({ PUBLIC_HOSTS: 'pi.local,http://x' }), /PUBLIC_HOSTS="pi.local,http:\/\/x" is not allowed/);
    assert.throws(() => loadConfig({ PUBLIC_HOSTS: 'pi.local,,x' }), /PUBLIC_HOSTS/);
    assert.deepEqual(loadConfig({ PUBLIC_HOSTS: 'pi.local, 192.168.1.2,fd00::1' }).PUBLIC_HOSTS, ['pi.local', '192.168.1.2', 'fd00::1']);
  });

  it('names PUBLIC_HOSTS in the generated certificate instead of the machine, so a re-created container keeps it', async () => {
    const config = loadConfig({ DATA_DIR: tempDir(), PUBLIC_HOSTS: 'gravity.example.net, 203.0.113.7' });
    const first = await loadTlsCredentials(config, { now: NOW });
    const x509 = certOf(config.DATA_DIR);
    assert.equal(x509.checkHost('gravity.example.net'), 'gravity.example.net');
    assert.equal(x509.checkIP('203.0.113.7'), '203.0.113.7');
    assert.equal(x509.checkHost('localhost'), 'localhost');
    assert.equal(x509.checkHost(hostname().toLowerCase(), { subject: 'never' }), undefined);
    assert.equal((await loadTlsCredentials(config, { now: NOW })).fingerprint, first.fingerprint);
  });
});
