/**
 * secrets.json deleted while the system runs, then one service restarted, as a person revoking the token does
 * (docs/security.md): the restarted service generates new secrets, and the two still running must take them up,
 * not lock it (or themselves) out of the broker until all three have restarted.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SECRETS_FILE } from '@gravity-led/shared';
import { WsClient } from '../helpers/clients.js';
import { light, pins } from '../helpers/faults.js';
import { type Secrets, type ServiceName, TestSystem } from '../helpers/system.js';

describe('secrets.json deleted and one service restarted', () => {
  let system: TestSystem;

  before(async () => {
    system = await TestSystem.start({ env: { FAILSAFE_TIMEOUT_MS: '600000' } });
  });

  after(async () => {
    await system?.stop();
  });

  /** Deletes the file, restarts `name`, and returns the secrets before and after. */
  async function deleteAndRestart(name: ServiceName): Promise<{ before: Secrets; after: Secrets }> {
    const before = system.secrets;
    rmSync(join(system.dataDir, SECRETS_FILE));
    await system.service(name).restart(`${name} ready`);
    const after = system.secrets;
    assert.notEqual(after.gatewayToken, before.gatewayToken, 'new secrets were generated');
    assert.notEqual(after.servicePassword, before.servicePassword);
    return { before, after };
  }

  /** `services` are connected to the broker again (logged after their mark) and a phone with the current token drives the LEDs. */
  async function drivesAgain(y: number, services: readonly ('gateway' | 'led-driver')[], from: Record<string, number>): Promise<void> {
    for (const name of services) await system.service(name).waitForLog('connected to MQTT broker', 30_000, from[name]);
    const phone = await WsClient.controller(system);
    await light(phone, y);
    await pins(system, `right = ${y}`, (p) => p.right === y && p.left === 0);
    phone.close();
    await phone.closed();
  }

  const marks = (): Record<string, number> => ({
    gateway: system.service('gateway').mark,
    'led-driver': system.service('led-driver').mark,
  });

  it('the gateway restarted alone gets into the broker with the new account, and only the new token drives the LEDs', async () => {
    const from = marks();
    const { before } = await deleteAndRestart('gateway');
    await drivesAgain(41, ['gateway'], from);
    const old = WsClient.connect(`${system.gatewayUrl}?token=${encodeURIComponent(before.gatewayToken)}`);
    assert.equal(await old.closed(), -401, 'the old token is revoked');
  });

  it('the led-driver restarted alone gets into the broker, and the running gateway takes up the new token', async () => {
    const from = marks();
    const { before } = await deleteAndRestart('led-driver');
    await drivesAgain(42, ['led-driver'], from);
    const old = WsClient.connect(`${system.gatewayUrl}?token=${encodeURIComponent(before.gatewayToken)}`);
    assert.equal(await old.closed(), -401, 'the token of the deleted file no longer opens the gateway');
    const links = system
      .service('gateway')
      .lines.slice(from.gateway)
      .filter((l) => String(l.msg).startsWith('open on the phone'));
    assert.ok(
      links.some((l) => String(l.link).includes(system.secrets.gatewayToken)),
      'the gateway logged the phone link with the new token',
    );
  });

  it('the broker restarted alone: the gateway and the led-driver log in again with the account it generated', async () => {
    const from = marks();
    await deleteAndRestart('broker');
    await drivesAgain(43, ['gateway', 'led-driver'], from);
  });

  it('every service still runs', () => {
    for (const name of ['broker', 'gateway', 'led-driver'] as const) assert.ok(system.service(name).running, `${name} stopped`);
  });
});
