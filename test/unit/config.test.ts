import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, DEFAULT_DATA_DIR, loadConfig, VARIABLES } from '@gravity-led/shared';
import { ROOT } from '../helpers/system.js';

describe('configuration', () => {
  it('has the interface defaults', () => {
    const c = loadConfig({});
    assert.equal(c.GATEWAY_PORT, 5678);
    assert.equal(c.GATEWAY_HTTPS_PORT, 5679);
    assert.equal(c.GATEWAY_AUTH, 'token');
    assert.equal(c.GATEWAY_MAX_CLIENTS, 1);
    assert.equal(c.MQTT_URL, 'mqtt://localhost:1883');
    assert.equal(c.BROKER_PORT, 1883);
    assert.equal(c.BROKER_WS_PORT, 9001);
    assert.equal(c.BROKER_TLS_PORT, 0);
    assert.equal(c.TOPIC_PREFIX, 'gravity-led');
    assert.equal(c.LED_BACKEND, 'auto');
    assert.equal(c.LED_RIGHT_PIN, 18);
    assert.equal(c.LED_LEFT_PIN, 5);
    assert.equal(c.FAILSAFE_TIMEOUT_MS, 1000);
    assert.equal(c.DATA_DIR, DEFAULT_DATA_DIR);
    assert.equal(c.GATEWAY_TOKEN, undefined);
  });

  it('treats an empty variable as unset, as compose passes an unset variable', () => {
    assert.equal(loadConfig({ GATEWAY_PORT: '', GATEWAY_TOKEN: '' }).GATEWAY_PORT, 5678);
  });

  it('reads valid values', () => {
    const c = loadConfig({
      GATEWAY_PORT: '8080',
      GATEWAY_AUTH: 'none',
      LED_BACKEND: 'sim',
      MQTT_URL: 'mqtts://broker.lan:8883',
      GATEWAY_HTTPS_PORT: '0',
    });
    assert.equal(c.GATEWAY_PORT, 8080);
    assert.equal(c.GATEWAY_AUTH, 'none');
    assert.equal(c.LED_BACKEND, 'sim');
    assert.equal(c.MQTT_URL, 'mqtts://broker.lan:8883');
    assert.equal(c.GATEWAY_HTTPS_PORT, 0);
  });

  it('refuses a bad value with one line naming the variable, the value and what is allowed', () => {
    const cases: Record<string, string> = {
      GATEWAY_PORT: 'abc',
      BROKER_PORT: '70000',
      GATEWAY_AUTH: 'maybe',
      GATEWAY_MAX_CLIENTS: '-1',
      LED_RIGHT_PIN: '40',
      FAILSAFE_TIMEOUT_MS: '1.5',
      MQTT_URL: 'http://x',
      TOPIC_PREFIX: 'a/#',
      LED_BACKEND: 'gpio',
      GATEWAY_TOKEN: 'short',
    };
    for (const [name, value] of Object.entries(cases)) {
      assert.throws(
        () => loadConfig({ [name]: value }),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError);
          assert.ok(error.message.startsWith(`${name}="${value}" is not allowed: expected `), error.message);
          assert.ok(!error.message.includes('\n'));
          return true;
        },
      );
    }
  });

  it('refuses a certificate without its key', () => {
    assert.throws(() => loadConfig({ TLS_CERT_FILE: '/x.pem' }), /TLS_CERT_FILE and TLS_KEY_FILE/);
  });

  it('refuses an MQTT_URL the client could not connect to, before anything starts', () => {
    // Each of these used to pass the door and throw inside mqtt.connect (ERR_SOCKET_BAD_PORT, Invalid URL): a stack
    // trace and exit 1 after the LED backend had been opened.
    for (const url of ['mqtt://127.0.0.1:99999', 'mqtt://broker:0', 'mqtts://[::1:8883', 'ws://host:65536/mqtt']) {
      assert.throws(
        () => loadConfig({ MQTT_URL: url }),
        (error: unknown) => error instanceof ConfigError && error.message.startsWith(`MQTT_URL=${JSON.stringify(url)} is not allowed`),
        url,
      );
    }
    for (const url of ['mqtt://127.0.0.1:65535', 'mqtt://[::1]:1883', 'wss://broker.lan/mqtt', 'mqtt://localhost']) {
      assert.equal(loadConfig({ MQTT_URL: url }).MQTT_URL, url);
    }
  });

  it('a broker on a Unix socket: mqtt+unix:// and an absolute path short enough for one (MQTT_URL, BROKER_SOCKET)', () => {
    // mqtt.js connects to `mqtt+unix://` + the path (its README, "unixSocket"); Linux's sun_path holds 107 bytes.
    const long = `/${'d'.repeat(100)}`;
    for (const url of ['mqtt+unix://relative/mqtt.sock', 'mqtt+unix://', `mqtt+unix://${long}`, 'mqtt+unix:///with space']) {
      assert.throws(() => loadConfig({ MQTT_URL: url }), /^ConfigError: MQTT_URL=.* is not allowed/, url);
    }
    assert.equal(loadConfig({ MQTT_URL: 'mqtt+unix:///home/pi/.data/mqtt.sock' }).MQTT_URL, 'mqtt+unix:///home/pi/.data/mqtt.sock');
    assert.equal(loadConfig({}).BROKER_SOCKET, '', 'none unless asked for');
    assert.equal(loadConfig({ BROKER_SOCKET: '/run/gravity-led/mqtt.sock' }).BROKER_SOCKET, '/run/gravity-led/mqtt.sock');
    for (const path of ['mqtt.sock', long]) {
      assert.throws(() => loadConfig({ BROKER_SOCKET: path }), /^ConfigError: BROKER_SOCKET=.* is not allowed/, path);
    }
  });

  it('checks across variables in one place: one line naming both variables', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ LED_RIGHT_PIN: '5' }, /^LED_RIGHT_PIN and LED_LEFT_PIN are both 5: the two LEDs need two different pins$/],
      [{ LED_RIGHT_PIN: '12', LED_LEFT_PIN: '12', LED_BACKEND: 'sim' }, /^LED_RIGHT_PIN and LED_LEFT_PIN are both 12/],
      [{ BROKER_WS_PORT: '1883' }, /^BROKER_PORT and BROKER_WS_PORT are both 1883: each listener of the broker needs its own port/],
      [{ BROKER_TLS_PORT: '9001' }, /^BROKER_WS_PORT and BROKER_TLS_PORT are both 9001/],
      [{ GATEWAY_HTTPS_PORT: '5678' }, /^GATEWAY_PORT and GATEWAY_HTTPS_PORT are both 5678: each listener of the gateway/],
      [{ TLS_KEY_FILE: '/k.pem' }, /^TLS_CERT_FILE and TLS_KEY_FILE must be set together/],
    ];
    for (const [env, line] of cases) {
      assert.throws(
        () => loadConfig(env),
        (error: unknown) => error instanceof ConfigError && line.test(error.message) && !error.message.includes('\n'),
        JSON.stringify(env),
      );
    }
    // Ports turned off may repeat.
    assert.equal(loadConfig({ BROKER_WS_PORT: '0', BROKER_TLS_PORT: '0', GATEWAY_HTTPS_PORT: '0' }).BROKER_TLS_PORT, 0);
  });

  it('documents every variable', () => {
    for (const [name, spec] of Object.entries(VARIABLES)) {
      assert.ok(spec.doc.length > 5, name);
      assert.ok(spec.allowed.length > 2, name);
    }
  });

  it("README's configuration table has a row for every variable, and names no variable that does not exist", () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('\n## ', readme.indexOf('## Configuration') + 5));
    const rows = section.split('\n').filter((line) => line.startsWith('| `'));
    const documented = new Set(rows.flatMap((row) => [...(row.split('|')[1] ?? '').matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1])));
    for (const name of Object.keys(VARIABLES)) assert.ok(documented.has(name), `README lacks ${name}`);
    for (const name of documented) assert.ok(name !== undefined && name in VARIABLES, `README documents unknown ${name}`);
  });
});
