/**
 * `npm start`: broker, gateway and led-driver together on this machine, each as its own process exactly as
 * `npm start -w <service>` runs it. Prints where to point the phone and the MQTT tools; Ctrl+C stops all three.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { printBanner } from '@gravity-led/gateway';
import { type Config, ConfigError, errorMessage, loadConfig, loadSecrets, loadTlsCredentials, portAccepts } from '@gravity-led/shared';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SERVICES = ['broker', 'gateway', 'led-driver'] as const;
type ServiceName = (typeof SERVICES)[number];

async function waitForPort(port: number, child: ChildProcess, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`exited with code ${child.exitCode} before listening on port ${port}`);
    if (await portAccepts(port)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`not listening on port ${port} after ${timeoutMs} ms`);
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
  // Created here, before the services start, so all three read the same generated secrets.
  const secrets = loadSecrets(config);
  // Likewise the certificate, so gateway and broker find it ready and the banner can print its fingerprint.
  let tls: Awaited<ReturnType<typeof loadTlsCredentials>> | undefined;
  try {
    tls = config.GATEWAY_HTTPS_PORT > 0 || config.BROKER_TLS_PORT > 0 ? await loadTlsCredentials(config) : undefined;
  } catch (error) {
    process.stderr.write(`npm start: ${errorMessage(error)}\n`);
    process.exit(1);
  }
  const children = new Map<ServiceName, ChildProcess>();
  let stopping = false;

  const stopAll = (code: number) => {
    if (stopping) return;
    stopping = true;
    for (const child of children.values()) if (child.exitCode === null) child.kill('SIGTERM');
    const force = setTimeout(() => {
      for (const child of children.values()) if (child.exitCode === null) child.kill('SIGKILL');
    }, 3000);
    force.unref();
    Promise.all([...children.values()].map((c) => (c.exitCode !== null ? null : new Promise((r) => c.once('exit', r))))).then(() => {
      process.exit(code);
    });
  };
  process.on('SIGINT', () => stopAll(0));
  process.on('SIGTERM', () => stopAll(0));

  const launch = (name: ServiceName) => {
    const child = spawn(process.execPath, [`${name}/dist/main.js`], { cwd: ROOT, stdio: 'inherit', env: process.env });
    children.set(name, child);
    child.on('exit', (code, signal) => {
      if (stopping) return;
      process.stderr.write(`npm start: ${name} exited (${signal ?? `code ${code}`}); stopping the others\n`);
      stopAll(1);
    });
    return child;
  };

  try {
    const broker = launch('broker');
    await waitForPort(config.BROKER_PORT, broker);
    const gateway = launch('gateway');
    launch('led-driver');
    await waitForPort(config.GATEWAY_PORT, gateway);
  } catch (error) {
    process.stderr.write(`npm start: ${errorMessage(error)}\n`);
    stopAll(1);
    return;
  }
  await printBanner(config, secrets, tls, { title: 'gravity-led is running.', footer: 'Press Ctrl+C to stop.' });
}

await main();
