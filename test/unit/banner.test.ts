/**
 * What `npm start` prints for the phone: an https link per LAN address with the token in the fragment, the
 * certificate's fingerprint, and a QR code in the terminal that a phone camera reads as the first link.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { ensureCertificate, lanHosts, loadConfig, loadSecrets, phoneLink } from '@gravity-led/shared';
import jsQRModule from 'jsqr';
import type * as Banner from '../../scripts/banner.js';
import { ROOT } from '../helpers/system.js';

// The scripts are not a package: load the built file by path (its types come from the source).
const { bannerText } = (await import(pathToFileURL(join(ROOT, 'scripts/dist/banner.js')).href)) as typeof Banner;

// jsQR is CommonJS whose types declare an ES default export: under Node's ESM the function is that default's default.
const jsQR = (jsQRModule as unknown as { default: (data: Uint8ClampedArray, width: number, height: number) => { data: string } | null })
  .default;

const dir = mkdtempSync(join(tmpdir(), 'gravity-led-banner-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Reads the terminal QR code back into pixels: each character is two modules stacked (the renderer's half blocks),
 * dark where the glyph is drawn. The bottom line is drawn in the inverse colour (the quiet zone), so it counts as light.
 */
function decodeTerminalQr(text: string): string | undefined {
  const rows = text.split('\n').filter((line) => /[▀▄█]/.test(line) || line.includes('\x1b[47m'));
  const modules: boolean[][] = [];
  for (const raw of rows) {
    const quietLine = raw.includes('\x1b[37m');
    // biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI colour codes are exactly what is removed here.
    const chars = [...raw.replace(/\x1b\[\d+m/g, '')];
    const top = chars.map((c) => !quietLine && (c === '▀' || c === '█'));
    const bottom = chars.map((c) => !quietLine && (c === '▄' || c === '█'));
    modules.push(top, bottom);
  }
  const scale = 4;
  const quiet = 4;
  const width = (Math.max(...modules.map((r) => r.length)) + 2 * quiet) * scale;
  const height = (modules.length + 2 * quiet) * scale;
  const pixels = new Uint8ClampedArray(width * height * 4).fill(255);
  modules.forEach((row, y) => {
    row.forEach((dark, x) => {
      if (!dark) return;
      for (let dy = 0; dy < scale; dy++) {
        for (let dx = 0; dx < scale; dx++) {
          const i = (((y + quiet) * scale + dy) * width + (x + quiet) * scale + dx) * 4;
          pixels.fill(0, i, i + 3);
        }
      }
    });
  });
  return jsQR(pixels, width, height)?.data;
}

describe('the npm start banner', () => {
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
