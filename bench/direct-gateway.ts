/**
 * Bench-only: the gateway with MQTT taken out. The real ControllerServer (handshake, sessions, parsing, the
 * latest-value throttle) hands each accepted frame straight to the real LedOutput on a simulated backend, whose
 * report goes straight back to broadcastState. Comparing it with the production path isolates what the broker hop
 * (gateway -> broker -> led-driver -> broker -> gateway, with its encodings) costs.
 *
 * Run as its own process by the benchmark, so the client talks to it over loopback exactly as to the real gateway.
 * Prints `{"port": n}` on stdout once listening; env: BENCH_TOKEN, GATEWAY_MAX_RATE, FAILSAFE_TIMEOUT_MS.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ControllerServer } from '@gravity-led/gateway';
import { dutyFromGravity, LedOutput, SimBackend, Watchdog } from '@gravity-led/led-driver';
import { createLogger, type LedState, loadConfig, OFF } from '@gravity-led/shared';

const config = loadConfig(process.env);
const token = process.env.BENCH_TOKEN ?? '';
const log = createLogger('direct-gateway', { LOG_LEVEL: 'warn', LOG_FORMAT: 'json' });

let broadcast: (state: LedState) => void = () => {};
const output = new LedOutput(new SimBackend(), (state) => broadcast(state), log);
// The driver's stale-value fail-safe, fed per frame as the real driver feeds it.
const watchdog = new Watchdog(config.FAILSAFE_TIMEOUT_MS, () => output.apply(OFF, 'stale'));
const controllers = new ControllerServer({
  auth: 'token',
  token,
  maxClients: 1,
  maxRate: config.GATEWAY_MAX_RATE,
  log,
  publish: (gravity) => {
    output.apply(dutyFromGravity(gravity), 'gravity', gravity.seq);
    watchdog.feed();
    return true;
  },
  isAvailable: () => true,
  lastState: () => output.current,
  onOccupancy: () => {},
});
broadcast = (state) => controllers.broadcastState(state);

const http = createServer({ noDelay: true }, (_req, res) => res.writeHead(404).end());
controllers.attach(http);
http.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (http.address() as AddressInfo).port })}\n`);
});

process.on('SIGTERM', () => {
  watchdog.stop();
  controllers.close();
  http.closeAllConnections();
  http.close(() => process.exit(0));
});
