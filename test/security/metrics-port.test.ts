/**
 * The led-driver's METRICS_PORT, which docker-compose.yml publishes on the LAN for Prometheus: what a stranger can do
 * to the process that drives the LEDs with sockets that connect and never send. At most HEALTH_MAX_CONNECTIONS are
 * kept, the rest closed on arrival; each kept one is cut after 10 s of silence; then Prometheus is answered.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createLogger, HEALTH_MAX_CONNECTIONS, type HealthServer, REQUEST_LIMITS, startHealthServer } from '@gravity-led/shared';
import { waitFor } from '../helpers/wait.js';

describe("the led-driver's metrics port against sockets that never send", () => {
  let server: HealthServer;
  const sockets: { socket: Socket; closedAt?: number }[] = [];

  before(async () => {
    server = await startHealthServer(
      0,
      '127.0.0.1',
      { ready: () => true, metrics: () => 'gravity_led_test 1\n' },
      createLogger('test', { LOG_LEVEL: 'silent', LOG_FORMAT: 'json' }),
    );
  });

  after(async () => {
    for (const { socket } of sockets) socket.destroy();
    await server.close();
  });

  it(`keeps at most ${HEALTH_MAX_CONNECTIONS} idle connections and closes the others on arrival`, async () => {
    const opened = Date.now();
    for (let i = 0; i < HEALTH_MAX_CONNECTIONS * 4; i++) {
      const entry: { socket: Socket; closedAt?: number } = { socket: connect(server.port, '127.0.0.1') };
      entry.socket.on('close', () => {
        entry.closedAt = Date.now();
      });
      entry.socket.on('error', () => {});
      sockets.push(entry);
    }
    await waitFor(
      'the sockets beyond the cap closed',
      () => sockets.filter((s) => s.closedAt !== undefined).length >= HEALTH_MAX_CONNECTIONS * 3,
      5000,
    );
    const early = sockets.filter((s) => s.closedAt !== undefined && s.closedAt - opened < 5000);
    assert.equal(early.length, HEALTH_MAX_CONNECTIONS * 3, 'exactly the ones beyond the cap');
  });

  it('cuts the kept ones once a request has not arrived in time, and then answers a scrape', async () => {
    await waitFor('every idle socket closed', () => sockets.every((s) => s.closedAt !== undefined), REQUEST_LIMITS.requestTimeout + 5000);
    const response = await fetch(`http://127.0.0.1:${server.port}/metrics`);
    assert.equal(response.status, 200);
    assert.equal(await response.text(), 'gravity_led_test 1\n');
  });
});
