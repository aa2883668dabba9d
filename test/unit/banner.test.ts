/**
 * What `npm start` and the gateway's `link` command print for the phone: an https link per LAN address with the
 * token in the fragment, the certificate's fingerprint, and a QR code in the terminal that a phone camera reads as
 * the first link.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { bannerText } from '@gravity-led/gateway';
import { ensureCertificate, lanHosts, loadConfig, loadSecrets, phoneLink } from '@gravity-led/shared';
import { decodeTerminalQr } from '../helpers/qr.js';

const dir = mkdtempSync(join(tmpdir(), 'gravity-led-banner-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('the banner of npm start and link', () => {
  it('prints an https link per LAN address, the fingerprint, and a QR code of the first link', async () => {
    const config = loadConfig({ DATA_DIR: dir, GATEWAY_HTTPS_PORT: '5679' });
    const secrets = loadSecrets(config);
    const tls = await ensureCertificate(dir);
    const hosts = ['192.168.1.20', 'fd00::20'];
    const text = await bannerText(config, secrets, tls, hosts);
    const token = encodeURIComponent(secrets.gatewayToken);
    assert.ok(text.includes(`https://192.168.1.20:5679/#token=${token}`), text);
    assert.ok(text.includes(`https://[fd00::20]:5679/#token=${token}`), text);
    assert.ok(text.includes(`SHA-256 fingerprint: ${tls.fingerprint}`), text);
    assert.equal(decodeTerminalQr(text), `https://192.168.1.20:5679/#token=${token}`);
  });

  it('links to plain http when the HTTPS port is off', async () => {
    const config = loadConfig({ DATA_DIR: dir, GATEWAY_HTTPS_PORT: '0', GATEWAY_PORT: '8080' });
    const secrets = loadSecrets(config);
    const text = await bannerText(config, secrets, undefined, ['10.0.0.2']);
    const link = `http://10.0.0.2:8080/#token=${encodeURIComponent(secrets.gatewayToken)}`;
    assert.ok(text.includes(link), text);
    assert.ok(!text.includes('fingerprint'));
    assert.equal(decodeTerminalQr(text), link);
  });

  it('links to the LAN addresses without loopback and IPv6 link-local, or to PUBLIC_HOSTS alone when set', () => {
    const interfaces = {
      lo: [{ address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4' as const, mac: '00:00:00:00:00:00', internal: true, cidr: null }],
      eth0: [
        {
          address: 'fe80::1',
          netmask: 'ffff::',
          family: 'IPv6' as const,
          mac: 'aa:aa:aa:aa:aa:aa',
          internal: false,
          cidr: null,
          scopeid: 2,
        },
        {
          address: 'fd00::20',
          netmask: 'ffff::',
          family: 'IPv6' as const,
          mac: 'aa:aa:aa:aa:aa:aa',
          internal: false,
          cidr: null,
          scopeid: 0,
        },
        {
          address: '192.168.1.20',
          netmask: '255.255.255.0',
          family: 'IPv4' as const,
          mac: 'aa:aa:aa:aa:aa:aa',
          internal: false,
          cidr: null,
        },
      ],
    };
    assert.deepEqual(lanHosts([], interfaces, false), ['192.168.1.20', 'fd00::20']);
    assert.deepEqual(lanHosts(['pi.example.net', '192.168.1.20'], interfaces, false), ['pi.example.net', '192.168.1.20']);
    // A container's own addresses are not where phones reach it.
    assert.deepEqual(lanHosts([], interfaces, true), []);
    assert.deepEqual(lanHosts(['raspberrypi.local'], interfaces, true), ['raspberrypi.local']);
    const link = phoneLink({ GATEWAY_AUTH: 'none', GATEWAY_PORT: 5678, GATEWAY_HTTPS_PORT: 5679 }, 'x', 'fd00::20');
    assert.equal(link, 'https://[fd00::20]:5679/');
  });
});
