/**
 * One unauthenticated request must not end a service: the gateway's HTTP and HTTPS ports (plain requests and
 * WebSocket upgrades), the led-driver's METRICS_PORT and the broker's BROKER_METRICS_PORT, each sent the requests that used to crash them, then a seeded
 * fuzz of request lines and headers (FUZZ_SEED replays it). Every request gets its 4xx (or an answer, or a closed
 * connection), never a 500 and never a dead process; the LEDs do not move; memory stays bounded. Then what holds a
 * socket: a connection that never speaks is closed after the documented 10 s; and METRICS_HOST is honoured.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WsClient } from '../helpers/clients.js';
import { light, pins } from '../helpers/faults.js';
import { type Door, hostileRequest, inParallel, sendRaw } from '../helpers/http-fuzz.js';
import { rssBytes } from '../helpers/memory.js';
import { scrape } from '../helpers/metrics.js';
import { connectionLifetime, portAccepts } from '../helpers/ports.js';
import { Prng } from '../helpers/prng.js';
import { type ServiceName, TestSystem } from '../helpers/system.js';

/** The bound: a service's RSS stays within 20 MB of its start under any attack. */
const RSS_BOUND = 20 * 1024 * 1024;
const FUZZ_REQUESTS = 600;

/** Request lines that threw from `new URL()` outside any handler, ending the process (issue 17, item 1). */
const CRASHERS = [
  'GET http://x:99999/ HTTP/1.1',
  'GET http://[ HTTP/1.1',
  'GET http://x:99999/?token=not-the-token-0000 HTTP/1.1',
  'HEAD https://[::1/healthz HTTP/1.1',
  'GET ws://x:65536/ws HTTP/1.1',
];
const HANDSHAKE =
  'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n';

describe('hostile requests at every door', () => {
  const rng = Prng.fromEnv('hostile-requests');
  let system: TestSystem;
  let doors: Door[];
  let phone: WsClient;
  const rssAtStart = new Map<ServiceName, number>();
  const owner = (door: Door): ServiceName => door.name.split(' ')[0] as ServiceName;

  before(async () => {
    system = await TestSystem.start({ env: { GATEWAY_HTTPS_PORT: 'auto', FAILSAFE_TIMEOUT_MS: '600000', LOG_LEVEL: 'info' } });
    doors = [
      { name: 'gateway GATEWAY_PORT', port: system.ports.gateway, tls: false },
      { name: 'gateway GATEWAY_HTTPS_PORT', port: system.ports.gatewayHttps, tls: true },
      { name: 'led-driver METRICS_PORT', port: system.ports.driverMetrics, tls: false },
      { name: 'broker BROKER_METRICS_PORT', port: system.ports.brokerMetrics, tls: false },
    ];
    phone = await WsClient.controller(system);
    await light(phone, 33);
    for (const name of ['broker', 'gateway', 'led-driver'] as const)
      rssAtStart.set(name, rssBytes(system.service(name).child.pid as number));
  });

  after(async () => {
    phone?.close();
    await system?.stop();
  });

  async function assertAlive(door: Door): Promise<void> {
    assert.ok(system.service(owner(door)).running, `${owner(door)} ended: ${system.service(owner(door)).raw.slice(-5).join('\n')}`);
    assert.equal(await sendRaw(door, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'), 200, `${door.name} answers /healthz`);
  }

  for (const upgrade of [false, true]) {
    it(`the requests that crashed a service, ${upgrade ? 'as WebSocket upgrades' : 'as plain requests'}: 400 on every door, and each service goes on`, async () => {
      for (const door of doors) {
        for (const line of CRASHERS) {
          const status = await sendRaw(door, `${line}\r\nHost: x\r\n${upgrade ? HANDSHAKE : ''}\r\n`);
          assert.equal(status, 400, `${door.name}: ${line}`);
          await assertAlive(door);
        }
      }
    });
  }

  it(`${FUZZ_REQUESTS} fuzzed request lines and headers at each door: each answered below 500 (or closed), no service falls, no LED moves`, async () => {
    const statuses = new Map<string, number>();
    for (const door of doors) {
      await inParallel(FUZZ_REQUESTS, 8, async () => {
        const request = hostileRequest(rng, `127.0.0.1:${door.port}`);
        const status = await sendRaw(door, request, 1000);
        const key = `${door.name} ${status ?? 'closed'}`;
        statuses.set(key, (statuses.get(key) ?? 0) + 1);
        // 503 is /readyz's "not ready" and the pending-auth limit's answer; a 500 would be a handler that threw.
        assert.ok(status === undefined || status < 500 || status === 503, `${door.name} answered ${status} to ${JSON.stringify(request)}`);
      });
      await assertAlive(door);
    }
    process.stdout.write(`# answers: ${JSON.stringify(Object.fromEntries([...statuses].sort()))}\n`);
    for (const door of doors) assert.ok((statuses.get(`${door.name} 400`) ?? 0) > 0, `${door.name} was never sent a malformed request`);
    // Refused and counted, each kind logged once: the gateway's metrics show the malformed ones.
    const metrics = await scrape(`http://127.0.0.1:${system.ports.gateway}/metrics`);
    assert.ok(metrics.count('gravity_led_gateway_refused_total', { reason: 'bad-request' }) > 0);
    const driver = await scrape(`http://127.0.0.1:${system.ports.driverMetrics}/metrics`);
    assert.ok(driver.count('gravity_led_driver_http_refused_total', { reason: 'bad-request' }) > 0);
    const broker = await scrape(`http://127.0.0.1:${system.ports.brokerMetrics}/metrics`);
    assert.ok(broker.count('gravity_led_broker_http_refused_total', { reason: 'bad-request' }) > 0);
    // Nothing moved the LEDs; the phone still drives them.
    assert.deepEqual({ left: system.simLeds?.left, right: system.simLeds?.right }, { left: 0, right: 33 });
    await light(phone, 34);
    await pins(system, 'right = 34', (p) => p.right === 34);
    for (const [name, start] of rssAtStart) {
      const growth = rssBytes(system.service(name).child.pid as number) - start;
      assert.ok(growth < RSS_BOUND, `${name} grew by ${(growth / 1024 / 1024).toFixed(1)} MB`);
    }
  });

  it('a connection that never sends a byte (no request, no TLS hello) is closed after about 10 s on every door', async () => {
    // REQUEST_LIMITS: 10 s for a request, or the TLS handshake before it, to arrive whole; Node checks every second.
    const lifetimes = await Promise.all(
      doors.map((door) => connectionLifetime(() => connect({ host: '127.0.0.1', port: door.port }), 30_000)),
    );
    process.stdout.write(`# silent connections held (ms): ${JSON.stringify(lifetimes)}\n`);
    for (const [i, door] of doors.entries()) {
      const ms = lifetimes[i] ?? Number.NaN;
      assert.ok(ms >= 9_000 && ms < 15_000, `${door.name} held a silent connection ${(ms / 1000).toFixed(1)} s`);
    }
  });

  it("METRICS_HOST=127.0.0.1 (the test system's): the metrics port listens on that address only", async () => {
    // Linux routes all of 127.0.0.0/8 to loopback: a socket bound to every interface answers on 127.0.0.2 too.
    assert.equal(await portAccepts(system.ports.driverMetrics, '127.0.0.1'), true);
    assert.equal(await portAccepts(system.ports.driverMetrics, '127.0.0.2'), false, 'the metrics port answers on another address');
  });
});
