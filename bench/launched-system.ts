/**
 * A whole system as `npm start` runs it, for the benchmark: `node scripts/dist/start.js` of a checkout (this one, or
 * an earlier commit's for a comparison in the same run), on free loopback ports with a temporary DATA_DIR, simulated
 * LEDs and LOG_LEVEL=warn. Every process it runs is found from outside (/proc: the launcher and its descendants) and
 * measured, the launcher included: its CPU time and its memory count like any service's. Ready, as an operator sees
 * it: the gateway's /readyz answers 200 and the led-driver's retained status says `online`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, loadConfig, loadSecrets, loadTlsCredentials, portAccepts, type Secrets, topicsFor } from '@gravity-led/shared';
import type { MqttClient } from 'mqtt';
import { cpuMs, httpOk, pssMb, rssMb, watchDriverStatus } from './production-system.js';

const POLL_MS = 5;
const READY_TIMEOUT_MS = 20_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What a process of the system is, from its command line. */
function roleOf(cmdline: string): string {
  if (cmdline.includes('broker/dist/main.js')) return 'broker';
  if (cmdline.includes('gateway/dist/main.js')) return 'gateway';
  if (cmdline.includes('led-driver/dist/main.js')) return 'led-driver';
  if (cmdline.includes('scripts/dist/start.js')) return 'launcher';
  return 'other';
}

/** Every process whose parent chain leads to `root`, root included, with what each is. */
function processTree(root: number): { pid: number; role: string }[] {
  const parents = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // Field 4 (ppid) comes after the command name, which may contain spaces: read from the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(Number(name), ppid);
    } catch {
      // Gone meanwhile.
    }
  }
  const inTree = (pid: number): boolean => {
    for (let p: number | undefined = pid, hops = 0; p !== undefined && p > 1 && hops < 16; p = parents.get(p), hops++) {
      if (p === root) return true;
    }
    return false;
  };
  const tree: { pid: number; role: string }[] = [];
  for (const pid of parents.keys()) {
    if (!inTree(pid)) continue;
    let cmdline = '';
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    } catch {
      continue;
    }
    tree.push({ pid, role: roleOf(cmdline) });
  }
  return tree;
}

/**
 * How the system is run: `npm-start` as `npm start` runs it (its launcher and whatever the launcher starts), or
 * `services` as docker-compose.yml runs it, each service its own process as `npm start -w <service>` runs it.
 */
export type Layout = 'npm-start' | 'services';

/** The node flags an npm script gives (`node --flag ... file.js`), so that the benchmark starts things as npm does. */
export function nodeFlags(packageJson: string, script = 'start'): string[] {
  try {
    const command = (JSON.parse(readFileSync(packageJson, 'utf8')) as { scripts?: Record<string, string> }).scripts?.[script] ?? '';
    const node = /(?:^|&&\s*)node\s+((?:--\S+\s+)*)/.exec(command);
    return node?.[1]?.trim().split(/\s+/).filter(Boolean) ?? [];
  } catch {
    return [];
  }
}

export interface LaunchOptions {
  /** The checkout to run, built. */
  readonly root: string;
  readonly layout?: Layout;
  /** The node binary; this one by default. */
  readonly node?: string;
  /** Added to the environment (e.g. GATEWAY_MAX_RATE, NODE_OPTIONS). */
  readonly env?: Readonly<Record<string, string>>;
  /** A DATA_DIR to use (kept); a fresh temporary one (removed at stop) when not given. */
  readonly dataDir?: string;
}

export interface Measured {
  /** pid and what it is (`launcher`, `broker`, `gateway`, `led-driver`) of every process of the system. */
  readonly processes: readonly { pid: number; role: string }[];
}

export class LaunchedSystem {
  private driverOnline = false;
  private operator: MqttClient | undefined;
  private readonly output: string[] = [];
  /** Every process of the system, found once it is ready. */
  processes: { pid: number; role: string }[] = [];
  /** ms from spawn until ready. */
  readyAfterMs = Number.NaN;
  /** The services started beside the first one (layout `services`). */
  readonly others: ChildProcess[] = [];

  private constructor(
    readonly child: ChildProcess,
    readonly dataDir: string,
    private readonly ownDataDir: boolean,
    readonly ports: { gateway: number; broker: number },
    readonly secrets: Secrets,
  ) {
    this.keepOutput(child);
  }

  private keepOutput(child: ChildProcess): ChildProcess {
    const keep = (chunk: Buffer) => {
      this.output.push(chunk.toString('utf8'));
      if (this.output.length > 200) this.output.shift();
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    return child;
  }

  static async start(options: LaunchOptions): Promise<LaunchedSystem> {
    const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'gravity-led-bench-'));
    const ports = { gateway: await freePort(), gatewayHttps: await freePort(), broker: await freePort(), brokerWs: await freePort() };
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      DATA_DIR: dataDir,
      GATEWAY_HOST: '127.0.0.1',
      BROKER_HOST: '127.0.0.1',
      METRICS_HOST: '127.0.0.1',
      GATEWAY_PORT: String(ports.gateway),
      GATEWAY_HTTPS_PORT: String(ports.gatewayHttps),
      BROKER_PORT: String(ports.broker),
      BROKER_WS_PORT: String(ports.brokerWs),
      BROKER_METRICS_PORT: String(await freePort()),
      METRICS_PORT: String(await freePort()),
      MQTT_URL: `mqtt://127.0.0.1:${ports.broker}`,
      LED_BACKEND: 'sim',
      LOG_FORMAT: 'json',
      LOG_LEVEL: 'warn',
      ...options.env,
    };
    // The secrets and the certificate exist before the system starts, as after a first `npm start`: start-up times do
    // not include generating them (once per installation), and the benchmark knows the token and the account.
    const config = loadConfig(env);
    const secrets = loadSecrets(config);
    await loadTlsCredentials(config);
    const node = options.node ?? process.execPath;
    const run = (dir: string, script: string) =>
      // The whole path of the script, so that /proc/<pid>/cmdline says which service a process is.
      spawn(node, [...nodeFlags(join(dir, 'package.json')), join(dir, script)], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const spawnedAt = performance.now();
    const layout = options.layout ?? 'npm-start';
    const child = layout === 'npm-start' ? run(options.root, 'scripts/dist/start.js') : run(join(options.root, 'broker'), 'dist/main.js');
    const system = new LaunchedSystem(child, dataDir, options.dataDir === undefined, ports, secrets);
    try {
      if (layout === 'services') {
        // As docker-compose.yml has it: the broker first (its healthcheck: the port accepts), then the other two.
        await system.until(() => portAccepts(ports.broker));
        for (const service of ['gateway', 'led-driver'])
          system.others.push(system.keepOutput(run(join(options.root, service), 'dist/main.js')));
      }
      await system.watchDriverStatus(topicsFor(config.TOPIC_PREFIX).driverStatus);
      await system.until(async () => system.driverOnline && (await httpOk(`http://127.0.0.1:${ports.gateway}/readyz`)));
      system.readyAfterMs = performance.now() - spawnedAt;
      system.processes = [child, ...system.others].flatMap((c) => processTree(c.pid as number));
      return system;
    } catch (error) {
      await system.stop();
      throw error;
    }
  }

  private get running(): boolean {
    return [this.child, ...this.others].every((c) => c.exitCode === null && c.signalCode === null);
  }

  private async until(check: () => Promise<boolean>): Promise<void> {
    const deadline = performance.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (!this.running) throw new Error(`a process of the system exited: ${this.output.join('')}`);
      if (await check()) return;
      if (performance.now() > deadline) throw new Error(`not ready after ${READY_TIMEOUT_MS} ms: ${this.output.join('')}`);
      await sleep(POLL_MS);
    }
  }

  /** The operator's view of the led-driver's retained status; the broker is retried until it listens. */
  private watchDriverStatus(topic: string): Promise<void> {
    const client = watchDriverStatus(this.ports.broker, this.secrets.operator, 20, (online) => {
      this.driverOnline = online;
    });
    this.operator = client;
    client.on('connect', () => client.subscribe(topic, { qos: 0 }));
    client.on('error', () => {});
    return Promise.resolve();
  }

  get gatewayUrl(): string {
    return `ws://127.0.0.1:${this.ports.gateway}/`;
  }

  /** CPU ms used so far, by role (processes of one role summed). */
  cpu(): Record<string, number> {
    return this.byRole(cpuMs);
  }

  /** RSS in MB, by role. */
  rss(): Record<string, number> {
    return this.byRole(rssMb);
  }

  /** Sum of RSS and of PSS of every process, in MB. */
  memory(): { rss: number; pss: number; byRole: Record<string, number> } {
    const byRole = this.rss();
    return {
      rss: Object.values(byRole).reduce((a, b) => a + b, 0),
      pss: this.processes.reduce((sum, p) => sum + pssMb(p.pid), 0),
      byRole,
    };
  }

  private byRole(read: (pid: number) => number): Record<string, number> {
    const out: Record<string, number> = {};
    for (const p of this.processes) out[p.role] = (out[p.role] ?? 0) + read(p.pid);
    return out;
  }

  /** SIGTERM to the launcher, as Ctrl+C or `docker stop` would; then every process of it must be gone. */
  async stop(): Promise<void> {
    this.operator?.end(true);
    const pids = this.processes.map((p) => p.pid);
    const stop = async (child: ChildProcess) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    };
    // Gateway and led-driver first, so that they leave the broker cleanly; then the broker (or the launcher).
    await Promise.all(this.others.map(stop));
    await stop(this.child);
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    const deadline = performance.now() + 5000;
    while (pids.some(alive) && performance.now() < deadline) await sleep(20);
    for (const pid of pids.filter(alive)) process.kill(pid, 'SIGKILL');
    if (this.ownDataDir) rmSync(this.dataDir, { recursive: true, force: true });
  }
}
