/**
 * Bench-only: the gateway with MQTT taken out. The real ControllerServer (handshake, sessions, parsing, the
 * latest-value throttle) hands each accepted frame straight to the real LedOutput on a simulated backend, whose
 * report goes straight back to broadcastState. Comparing it with the production path isolates what the broker hop
 * (gateway -> broker -> led-driver -> broker -> gateway, with its encodings) costs.
 *
 * With BENCH_SPLIT=1 it is the same in two processes (`direct-2`): the LedOutput and its fail-safe run in a second
 * process (direct-driver.ts), reached over one loopback TCP socket, one JSON line per gravity value and per state.
 * That is the least a design with the LEDs in a process of their own can cost (three wake-ups per frame: this
 * process, the driver, this process again), with no broker and no MQTT: the floor under `npm start`'s figures.
 *
 * Run as its own process by the benchmark, so the client talks to it over loopback exactly as to the real gateway.
 * Prints `{"port": n}` (and `"driverPid"` when split) on stdout once listening; env: BENCH_TOKEN, BENCH_SPLIT,
 * GATEWAY_MAX_RATE, FAILSAFE_TIMEOUT_MS.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { type AddressInfo, createServer as createTcpServer, type Socket } from 'node:net';
import { ControllerServer } from '@gravity-led/gateway';
import { dutyFromGravity, LedOutput, SimBackend, Watchdog } from '@gravity-led/led-driver';
import { createLogger, type Gravity, type LedState, loadConfig, NODE_FLAGS, OFF } from '@gravity-led/shared';
import { LineReader } from './direct-driver.js';

const config = loadConfig(process.env);
const token = process.env.BENCH_TOKEN ?? '';
const log = createLogger('direct-gateway', { LOG_LEVEL: 'warn', LOG_FORMAT: 'json' });

let broadcast: (state: LedState) => void = () => {};
const split = process.env.BENCH_SPLIT === '1';
const output = new LedOutput(new SimBackend(), (state) => broadcast(state), log);
// The driver's stale-value fail-safe, fed per frame as the real driver feeds it.
const watchdog = new Watchdog(config.FAILSAFE_TIMEOUT_MS, () => output.apply(OFF, 'stale'));
let driver: Socket | undefined;
const apply = split
  ? (gravity: Gravity) => driver?.write(`${JSON.stringify(gravity)}\n`) ?? false
  : (gravity: Gravity) => {
      output.apply(dutyFromGravity(gravity), 'gravity', gravity.seq);
      watchdog.feed();
      return true;
    };
const controllers = new ControllerServer({
  auth: 'token',
  token,
  maxClients: 1,
  maxRate: config.GATEWAY_MAX_RATE,
  log,
  publish: apply,
  isAvailable: () => true,
  lastState: () => lastState,
  onOccupancy: () => {},
});
let lastState: LedState = output.current;
broadcast = (state) => {
  lastState = state;
  controllers.broadcastState(state);
};

const http = createServer({ noDelay: true }, (_req, res) => res.writeHead(404).end());
controllers.attach(http);
const listening = () => {
  process.stdout.write(`${JSON.stringify({ port: (http.address() as AddressInfo).port, driverPid: child?.pid })}\n`);
};
let child: ReturnType<typeof spawn> | undefined;
if (split) {
  // The driver connects back to a port of this process; the page's port opens once it has.
  const link = createTcpServer({ noDelay: true }, (socket) => {
    driver = socket;
    const lines = new LineReader((line) => broadcast(JSON.parse(line) as LedState));
    socket.on('data', (chunk: Buffer) => lines.push(chunk));
    http.listen(0, '127.0.0.1', listening);
  });
  link.listen(0, '127.0.0.1', () => {
    const port = (link.address() as AddressInfo).port;
    child = spawn(process.execPath, [...NODE_FLAGS, new URL('./direct-driver.js', import.meta.url).pathname], {
      env: { ...process.env, BENCH_LINK_PORT: String(port) },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
  });
} else {
  http.listen(0, '127.0.0.1', listening);
}

process.on('SIGTERM', () => {
  child?.kill('SIGTERM');
  watchdog.stop();
  controllers.close();
  http.closeAllConnections();
  http.close(() => process.exit(0));
});
