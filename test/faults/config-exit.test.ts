/**
 * A configuration that cannot work stops each service at the door, as INTERFACE.md promises for a bad value: one line
 * naming the variables, exit code 2, nothing started (no LED backend opened, no stack trace). The same services,
 * started as `npm start -w <service>` starts them.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { type ServiceName, ServiceProcess } from '../helpers/system.js';

const dataDir = mkdtempSync(join(tmpdir(), 'gravity-led-config-'));
after(() => rmSync(dataDir, { recursive: true, force: true }));

async function refused(name: ServiceName, env: Record<string, string>): Promise<string> {
  const service = new ServiceProcess(name, {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    DATA_DIR: dataDir,
    LOG_FORMAT: 'json',
    LED_BACKEND: 'sim',
    METRICS_PORT: '0',
    ...env,
  });
  let code: number | null;
  try {
    ({ code } = await service.exited(30_000));
  } finally {
    service.kill('SIGKILL');
  }
  const lines = service.raw.filter((l) => l.trim() !== '');
  assert.equal(code, 2, lines.join('\n'));
  assert.equal(lines.length, 1, `exactly one line:\n${lines.join('\n')}`);
  return lines[0] ?? '';
}

describe('a configuration that cannot work: one line and exit 2, from every service', () => {
  it('MQTT_URL with port 99999 (used to throw ERR_SOCKET_BAD_PORT from mqtt.connect, after the LEDs were opened)', async () => {
    for (const name of ['led-driver', 'gateway'] as const) {
      const line = await refused(name, { MQTT_URL: 'mqtt://127.0.0.1:99999' });
      assert.match(line, new RegExp(`^${name}: MQTT_URL="mqtt://127.0.0.1:99999" is not allowed: expected .*1\\.\\.65535`));
    }
  });

  it('BROKER_WS_PORT equal to BROKER_PORT (used to be EADDRINUSE with a stack trace, exit 1)', async () => {
    const line = await refused('broker', { BROKER_PORT: '18830', BROKER_WS_PORT: '18830' });
    assert.match(line, /^broker: BROKER_PORT and BROKER_WS_PORT are both 18830: each listener of the broker needs its own port/);
  });

  it('GATEWAY_HTTPS_PORT equal to GATEWAY_PORT', async () => {
    const line = await refused('gateway', { GATEWAY_PORT: '18831', GATEWAY_HTTPS_PORT: '18831' });
    assert.match(line, /^gateway: GATEWAY_PORT and GATEWAY_HTTPS_PORT are both 18831/);
  });

  it('LED_RIGHT_PIN equal to LED_LEFT_PIN, with simulated LEDs too (used to be accepted with LED_BACKEND=sim)', async () => {
    const line = await refused('led-driver', { LED_RIGHT_PIN: '5', LED_LEFT_PIN: '5' });
    assert.equal(line, 'led-driver: LED_RIGHT_PIN and LED_LEFT_PIN are both 5: the two LEDs need two different pins');
  });
});
