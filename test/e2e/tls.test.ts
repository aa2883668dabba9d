/**
 * HTTPS and WSS on the gateway and MQTT over TLS on the broker, with the certificate the system generates for
 * itself: an unknown CA is refused by a client that checks, and the same client succeeds once it pins the generated
 * certificate. A person's own certificate (TLS_CERT_FILE/TLS_KEY_FILE, here made with openssl) is served as given.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { get as httpsGet, type RequestOptions } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import { WsClient } from '../helpers/clients.js';
import { freePort } from '../helpers/ports.js';
import { TestSystem } from '../helpers/system.js';

function fetchHttps(url: string, options: RequestOptions): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    httpsGet(url, options, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

describe('TLS with the generated certificate', () => {
  let system: TestSystem;
  let brokerTlsPort: number;
  let cert: string;

  before(async () => {
    brokerTlsPort = await freePort();
    system = await TestSystem.start({ env: { GATEWAY_HTTPS_PORT: 'auto', BROKER_TLS_PORT: String(brokerTlsPort) } });
    cert = readFileSync(join(system.dataDir, 'tls.pem'), 'utf8');
  });
  after(() => system?.stop());

  it('keeps the certificate owner-only in DATA_DIR and logs its SHA-256 fingerprint and the https phone links', async () => {
    const fingerprint = new X509Certificate(cert).fingerprint256;
    const gatewayLine = await system.service('gateway').waitForLog('HTTPS certificate');
    assert.equal(gatewayLine.fingerprint, fingerprint);
    assert.ok(gatewayLine.msg.includes(fingerprint));
    const brokerLine = await system.service('broker').waitForLog('MQTT over TLS certificate');
    assert.equal(brokerLine.fingerprint, fingerprint, 'broker and gateway serve the same certificate');
    const link = await system.service('gateway').waitForLog('open on the phone');
    const token = system.secrets.gatewayToken;
    assert.match(String(link.link), new RegExp(`^https://[^/]+:${system.ports.gatewayHttps}/#token=${token}$`));
  });

  it('refuses wss:// from a client that does not know the certificate', async () => {
    const client = WsClient.connect(`wss://127.0.0.1:${system.ports.gatewayHttps}/`, {
      headers: { authorization: `Bearer ${system.secrets.gatewayToken}` },
    });
    await assert.rejects(client.opened, (error: NodeJS.ErrnoException) => {
      assert.equal(error.code, 'DEPTH_ZERO_SELF_SIGNED_CERT');
      return true;
    });
  });

  it('drives the LEDs over wss:// with the token once the client pins the generated certificate', async () => {
    const client = WsClient.connect(`wss://localhost:${system.ports.gatewayHttps}/`, {
      ca: cert,
      headers: { authorization: `Bearer ${system.secrets.gatewayToken}` },
    });
    await client.opened;
    await client.next('hello');
    client.send('0 40 91.6');
    await client.next('state', (f) => f.right === 40 && f.left === 0, 10_000);
    client.close();
  });

  it('refuses a wrong token over wss:// with 401, as over ws://', async () => {
    const client = WsClient.connect(`wss://127.0.0.1:${system.ports.gatewayHttps}/?token=wrong-token-wrong-token`, { ca: cert });
    await client.closed();
    assert.equal(client.unexpected?.status, 401);
  });

  it('serves the page over https://', async () => {
    const response = await fetchHttps(`https://127.0.0.1:${system.ports.gatewayHttps}/healthz`, { ca: cert });
    assert.equal(response.status, 200);
  });

  it('serves MQTT over TLS on BROKER_TLS_PORT with the same certificate', async () => {
    const { operatorUsername, operatorPassword } = system.secrets;
    const untrusting = mqtt.connect(`mqtts://127.0.0.1:${brokerTlsPort}`, {
      username: operatorUsername,
      password: operatorPassword,
      reconnectPeriod: 0,
    });
    const refused = await new Promise<Error>((resolve) => untrusting.once('error', resolve));
    assert.match(refused.message, /self-signed certificate/);
    untrusting.end(true);

    const client = mqtt.connect(`mqtts://localhost:${brokerTlsPort}`, {
      username: operatorUsername,
      password: operatorPassword,
      reconnectPeriod: 0,
      ca: cert,
    });
    try {
      await new Promise<void>((resolve, reject) => {
        client.once('connect', () => resolve());
        client.once('error', reject);
      });
      const state = await new Promise<string>((resolve) => {
        client.on('message', (_topic, payload) => resolve(payload.toString()));
        client.subscribe('gravity-led/leds/state');
      });
      assert.ok('left' in JSON.parse(state));
    } finally {
      client.end(true);
    }
  });
});

describe('TLS with a certificate of your own (TLS_CERT_FILE, TLS_KEY_FILE)', () => {
  let system: TestSystem;
  let own: string;

  before(async () => {
    own = mkdtempSync(join(tmpdir(), 'gravity-led-own-cert-'));
    // What the README tells a person to run.
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '365',
        '-subj',
        '/CN=gravity-led test',
        '-addext',
        'subjectAltName=DNS:pi.test,IP:127.0.0.1',
        '-keyout',
        join(own, 'key.pem'),
        '-out',
        join(own, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    system = await TestSystem.start({
      services: ['gateway'],
      env: { GATEWAY_HTTPS_PORT: 'auto', TLS_CERT_FILE: join(own, 'cert.pem'), TLS_KEY_FILE: join(own, 'key.pem') },
    });
  });
  after(async () => {
    await system?.stop();
    rmSync(own, { recursive: true, force: true });
  });

  it('serves that certificate and generates none', async () => {
    const cert = readFileSync(join(own, 'cert.pem'), 'utf8');
    const line = await system.service('gateway').waitForLog('HTTPS certificate');
    assert.equal(line.fingerprint, new X509Certificate(cert).fingerprint256);
    assert.equal(line.source, 'files');
    const response = await fetchHttps(`https://127.0.0.1:${system.ports.gatewayHttps}/healthz`, { ca: cert });
    assert.equal(response.status, 200);
    assert.equal(existsSync(join(system.dataDir, 'tls.pem')), false);
  });
});
