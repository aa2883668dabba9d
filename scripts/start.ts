/**
 * `npm start`: broker, gateway and led-driver together on this machine, in two processes. This one runs the gateway
 * hosting the broker (GATEWAY_HOSTS_BROKER=true: the broker's doors and metrics port as its own service has them, and
 * the gateway's MQTT without a socket); the led-driver runs as its own process exactly as `npm start -w led-driver`
 * runs it, with its own fail-safes. Two processes rather than three (and no launcher process besides): fewer
 * wake-ups and socket hops per frame, one Node runtime less in memory (docs/performance.md). Prints where to point
 * the phone and the MQTT tools; Ctrl+C stops both.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { printBanner, startGatewayService } from '@gravity-led/gateway';
import {
  type Config,
  ConfigError,
  errorMessage,
  loadConfig,
  loadSecrets,
  loadTlsCredentials,
  MAX_SOCKET_PATH_BYTES,
  runService,
  SHUTDOWN_DEADLINE_MS,
} from '@gravity-led/shared';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** SIGTERM, as `docker stop` sends it, then the wait for the exit; SIGKILL if it outlasts its own deadline. */
function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const force = setTimeout(() => child.kill('SIGKILL'), SHUTDOWN_DEADLINE_MS);
  return exited.finally(() => clearTimeout(force));
}

/**
 * Whether MQTT_URL, for the led-driver, means the hosted broker: not set, or its own TCP door on this machine
 * (`mqtt://localhost:BROKER_PORT`, as the README's advice "set MQTT_URL to match BROKER_PORT" has it). The Unix
 * socket reaches the same broker, for less. Any other URL (another broker, another door, TLS, WebSocket) is the
 * person's choice and is used.
 */
function namesHostedBroker(config: Config): boolean {
  // Not set: the default, mqtt://localhost:1883, means this broker whatever BROKER_PORT says.
  if (!process.env.MQTT_URL) return true;
  const url = new URL(config.MQTT_URL);
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  return url.protocol === 'mqtt:' && loopback && Number(url.port || 1883) === config.BROKER_PORT;
}

/**
 * The hosted broker's Unix socket, for the led-driver: BROKER_SOCKET if set, else DATA_DIR/mqtt.sock (owner-only, as
 * DATA_DIR is) when MQTT_URL names this broker and the path is short enough for a socket; none otherwise. Per gravity
 * value, state and acknowledgement, a Unix socket costs each side's kernel less than loopback TCP (docs/performance.md).
 */
function brokerSocket(config: Config): string {
  if (config.BROKER_SOCKET || !namesHostedBroker(config)) return config.BROKER_SOCKET;
  const path = resolve(config.DATA_DIR, 'mqtt.sock');
  return Buffer.byteLength(path) <= MAX_SOCKET_PATH_BYTES ? path : '';
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`npm start: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  // Created here, before the services start, so both processes read the same generated secrets.
  const secrets = loadSecrets(config);
  // Likewise the certificate, so gateway and broker find it ready and the banner can print its fingerprint.
  let tls: Awaited<ReturnType<typeof loadTlsCredentials>> | undefined;
  try {
    tls = config.GATEWAY_HTTPS_PORT > 0 || config.BROKER_TLS_PORT > 0 ? await loadTlsCredentials(config) : undefined;
  } catch (error) {
    process.stderr.write(`npm start: ${errorMessage(error)}\n`);
    process.exit(1);
  }

  await runService('gateway', async (_config, log, control) => {
    let driver: ChildProcess | undefined;
    let stopping = false;
    // Started once the broker listens, so that it connects at its first attempt, and while the gateway warms up.
    // With this process's node flags (any given to `node scripts/dist/start.js`), for the two processes alike.
    // Through the broker's Unix socket when it has one and MQTT_URL names this broker (namesHostedBroker above).
    const startDriver = ({ socket }: { readonly socket?: string }) => {
      driver = spawn(process.execPath, [...process.execArgv, 'led-driver/dist/main.js'], {
        cwd: ROOT,
        // An IPC channel besides the terminal: it closes when this process is gone, whichever way, and the
        // led-driver then stops the orderly way (runService) instead of outliving it.
        stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
        env: socket && namesHostedBroker(config) ? { ...process.env, MQTT_URL: `mqtt+unix://${socket}` } : process.env,
      });
      driver.on('exit', (code, signal) => {
        if (stopping) return;
        process.stderr.write(`npm start: led-driver exited (${signal ?? `code ${code}`}); stopping the gateway and the broker\n`);
        control.stop('led-driver exited', 1);
      });
    };
    let service: Awaited<ReturnType<typeof startGatewayService>>;
    try {
      service = await startGatewayService({ ...config, GATEWAY_HOSTS_BROKER: 'true', BROKER_SOCKET: brokerSocket(config) }, log, control, {
        onBrokerHosted: startDriver,
      });
    } catch (error) {
      // The led-driver already runs: it must not outlive a gateway that could not start.
      stopping = true;
      if (driver) await stopChild(driver);
      throw error;
    }
    await printBanner(config, secrets, tls, { title: 'gravity-led is running.', footer: 'Press Ctrl+C to stop.' });
    return {
      async stop() {
        stopping = true;
        // The led-driver first, while the broker is still there to take its `shutdown` state and `offline`.
        if (driver) await stopChild(driver);
        await service.stop();
      },
    };
  });
}

await main();
