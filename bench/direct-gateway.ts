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
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { type AddressInfo, createServer as createTcpServer, type Socket } from 'node:net';
import { ControllerServer } from '@gravity-led/gateway';
import { dutyFromGravity, LedOutput, SimBackend, Watchdog } from '@gravity-led/led-driver';
import { createLogger, type Gravity, type LedState, loadConfig, NODE_FLAGS, OFF } from '@gravity-led/shared';
import { LineReader } from './line-reader.js';

const config = loadConfig(process.env);
const token = process.env.BENCH_TOKEN ?? '';
const log = createLogger('direct-gateway', { LOG_LEVEL: 'warn', LOG_FORMAT: 'json' });

/** Where the accepted frames go: the LEDs in this process, or the driver process of the split path. */
interface Leds {
  apply(gravity: Gravity): boolean;
  stop(): void;
}

let lastState: LedState = { ...OFF, reason: 'start', ts: Date.now() };
const broadcast = (state: LedState) => {
  lastState = state;
  controllers.broadcastState(state);
};

/** The real LedOutput on a simulated backend, with the driver's stale-value fail-safe fed per frame as it feeds it. */
function localLeds(): Leds {
  const output = new LedOutput(new SimBackend(), broadcast, log);
  const watchdog = new Watchdog(config.FAILSAFE_TIMEOUT_MS, () => output.apply(OFF, 'stale'));
  return {
    apply(gravity) {
      output.apply(dutyFromGravity(gravity), 'gravity', gravity.seq);
      watchdog.feed();
      return true;
    },
    stop: () => watchdog.stop(),
  };
}

/**
 * The LEDs in direct-driver.ts, started here: it connects back to a port of this process, one JSON line per gravity
 * value out and per state back. `ready` runs once it has connected.
 */
function remoteLeds(ready: (driverPid: number | undefined) => void): Leds {
  let driver: Socket | undefined;
  let child: ChildProcess | undefined;
  const link = createTcpServer({ noDelay: true }, (socket) => {
    driver = socket;
    const lines = new LineReader((line) => broadcast(JSON.parse(line) as LedState));
    socket.on('data', (chunk: Buffer) => lines.push(chunk));
    ready(child?.pid);
  });
  link.listen(0, '127.0.0.1', () => {
    const port = (link.address() as AddressInfo).port;
    child = spawn(process.execPath, [...NODE_FLAGS, new URL('./direct-driver.js', import.meta.url).pathname], {
      env: { ...process.env, BENCH_LINK_PORT: String(port) },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
  });
  return {
    apply(gravity) {
      if (!driver) return false;
      driver.write(`${JSON.stringify(gravity)}\n`);
      return true;
    },
    stop: () => child?.kill('SIGTERM'),
  };
}

const http = createServer({ noDelay: true }, (_req, res) => res.writeHead(404).end());
const listen = (driverPid?: number) =>
  http.listen(0, '127.0.0.1', () => {
    process.stdout.write(`${JSON.stringify({ port: (http.address() as AddressInfo).port, driverPid })}\n`);
  });
// The page's port opens once the LEDs can be driven.
const split = process.env.BENCH_SPLIT === '1';
const leds = split ? remoteLeds(listen) : localLeds();
const controllers = new ControllerServer({
  auth: 'token',
  token,
  maxClients: 1,
  maxRate: config.GATEWAY_MAX_RATE,
  log,
  publish: (gravity) => leds.apply(gravity),
  isAvailable: () => true,
  lastState: () => lastState,
  onOccupancy: () => {},
});
controllers.attach(http);
if (!split) listen();

process.on('SIGTERM', () => {
  leds.stop();
  controllers.close();
  http.closeAllConnections();
  http.close(() => process.exit(0));
});
