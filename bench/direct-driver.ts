/**
 * Bench-only: the led-driver's half of the split direct path (`direct-2`, see direct-gateway.ts). The real LedOutput
 * on a simulated backend and the real stale-value fail-safe, fed by JSON lines of gravity over one TCP socket; each
 * state it reports goes back as a JSON line. As the real led-driver does, only the newest value of each socket read
 * is applied. Started by direct-gateway.ts, which it connects back to on BENCH_LINK_PORT.
 */
import { connect } from 'node:net';
import { dutyFromGravity, LedOutput, SimBackend, Watchdog } from '@gravity-led/led-driver';
import { createLogger, type Gravity, loadConfig, OFF } from '@gravity-led/shared';
import { LineReader } from './line-reader.js';

const config = loadConfig(process.env);
const log = createLogger('direct-driver', { LOG_LEVEL: 'warn', LOG_FORMAT: 'json' });
const socket = connect({ port: Number(process.env.BENCH_LINK_PORT), host: '127.0.0.1', noDelay: true });
const output = new LedOutput(new SimBackend(), (state) => socket.write(`${JSON.stringify(state)}\n`), log);
const watchdog = new Watchdog(config.FAILSAFE_TIMEOUT_MS, () => output.apply(OFF, 'stale'));
const lines = new LineReader((line) => {
  const gravity = JSON.parse(line) as Gravity;
  output.apply(dutyFromGravity(gravity), 'gravity', gravity.seq);
  watchdog.feed();
}, true);
socket.on('data', (chunk: Buffer) => lines.push(chunk));
socket.on('close', () => {
  watchdog.stop();
  process.exit(0);
});
process.on('SIGTERM', () => socket.destroy());
