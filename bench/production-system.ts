/**
 * The system as in production for the benchmark: broker, gateway and led-driver as three processes started exactly
 * as `npm start` starts them (broker first, then the other two), on free ports (every listener on, as by default),
 * with a temporary DATA_DIR, simulated LEDs and LOG_LEVEL=warn. Readiness is observed from outside, as an operator would: the broker's port accepts,
 * the gateway's /readyz answers 200, the led-driver's retained status says `online`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  freePort,
  loadConfig,
  loadSecrets,
  loadTlsCredentials,
  ONLINE,
  portAccepts,
  type Secrets,
  type Topics,
  topicsFor,
} from '@gravity-led/shared';
import mqtt, { type MqttClient } from 'mqtt';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const SERVICES = ['broker', 'gateway', 'led-driver'] as const;
export type ServiceName = (typeof SERVICES)[number];
/** How often readiness is polled: fine enough for start-up times in the hundreds of milliseconds. */
const POLL_MS = 5;
const READY_TIMEOUT_MS = 20_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resident set size of a process in MB, from /proc (Linux); NaN when it cannot be read. */
export function rssMb(pid: number | undefined): number {
  return procMb(pid, 'status', /^VmRSS:\s+(\d+)\s+kB/m);
}

/**
 * Proportional set size in MB: RSS with each shared page divided among the processes sharing it. The node binary's
 * code (about 40 MB of RSS) is shared by all three services, so the sum of PSS, not of RSS, is what they use together.
 */
export function pssMb(pid: number | undefined): number {
  return procMb(pid, 'smaps_rollup', /^Pss:\s+(\d+)\s+kB/m);
}

/** CPU time (user + system) a process has used so far, in ms, from /proc/<pid>/stat (clock ticks of 10 ms). */
export function cpuMs(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces), counted from field 3: utime is 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * (1000 / CLOCK_TICKS_PER_SECOND);
  } catch {
    return Number.NaN;
  }
}

/** USER_HZ: 100 on every Linux architecture Node runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

function procMb(pid: number | undefined, file: string, pattern: RegExp): number {
  if (pid === undefined) return Number.NaN;
  try {
    const match = pattern.exec(readFileSync(`/proc/${pid}/${file}`, 'utf8'));
    return match ? Number(match[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** A child process with its output kept, so a service that dies can say why. */
/**
 * The operator's connection for watching the led-driver's retained status: `online(true|false)` for each status message
 * (the caller subscribes). mqtt.js retries every `reconnectPeriod` ms until the broker listens.
 */
export function watchDriverStatus(
  brokerPort: number,
  account: { readonly username: string; readonly password: string },
  reconnectPeriod: number,
  online: (isOnline: boolean) => void,
): MqttClient {
  const client = mqtt.connect(`mqtt://127.0.0.1:${brokerPort}`, { ...account, reconnectPeriod });
  client.on('message', (_topic, payload) => online(payload.toString() === ONLINE));
  return client;
}

export class ServiceChild {
  readonly output: string[] = [];
  readonly child: ChildProcess;
  readonly spawnedAt = performance.now();

  constructor(
    readonly name: string,
    script: string,
    env: NodeJS.ProcessEnv,
    nodeArgs: readonly string[] = [],
  ) {
    this.child = spawn(process.execPath, [...nodeArgs, script], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (chunk: Buffer) => {
      this.output.push(chunk.toString('utf8'));
      if (this.output.length > 200) this.output.shift();
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Polls `check` until true; fails at once if the process has exited. Resolves with ms since spawn. */
  async until(what: string, check: () => boolean | Promise<boolean>): Promise<number> {
    const deadline = performance.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (!this.running) throw new Error(`${this.name} exited (${this.child.exitCode ?? this.child.signalCode}): ${this.output.join('')}`);
      if (await check()) return performance.now() - this.spawnedAt;
      if (performance.now() > deadline) throw new Error(`${this.name}: not ${what} after ${READY_TIMEOUT_MS} ms: ${this.output.join('')}`);
      await sleep(POLL_MS);
    }
  }

  /** SIGTERM, as docker stop and Ctrl+C do, then SIGKILL after a grace period. */
  async stop(graceMs = 4000): Promise<void> {
    if (!this.running) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }
}

/** True when `url` answers 200 (readiness polls); false on any other answer or no answer. */
export function httpOk(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = get(url, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.once('error', () => resolve(false));
  });
}

export interface StartupTimes {
  /** ms from each service's spawn to ready. */
  readonly broker: number;
  readonly gateway: number;
  readonly 'led-driver': number;
  /** ms from the broker's spawn until all three are ready. */
  readonly system: number;
}

export interface ProductionSystemOptions {
  /** Run gateway and led-driver under `node --cpu-prof`, writing `<service>-<time>.cpuprofile` here on exit. */
  readonly profileDir?: string;
}

export class ProductionSystem {
  readonly children = new Map<ServiceName, ServiceChild>();
  private driverOnline = false;
  private operator: MqttClient | undefined;

  private constructor(
    readonly dataDir: string,
    readonly env: NodeJS.ProcessEnv,
    readonly ports: { gateway: number; gatewayHttps: number; broker: number; brokerWs: number },
    readonly secrets: Secrets,
    readonly topics: Topics,
    private readonly profileDir: string | undefined,
  ) {}

  static async start(options: ProductionSystemOptions = {}): Promise<{ system: ProductionSystem; startup: StartupTimes }> {
    const dataDir = mkdtempSync(join(tmpdir(), 'gravity-led-bench-'));
    const ports = { gateway: await freePort(), gatewayHttps: await freePort(), broker: await freePort(), brokerWs: await freePort() };
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DATA_DIR: dataDir,
      GATEWAY_HOST: '127.0.0.1',
      BROKER_HOST: '127.0.0.1',
      GATEWAY_PORT: String(ports.gateway),
      GATEWAY_HTTPS_PORT: String(ports.gatewayHttps),
      BROKER_PORT: String(ports.broker),
      BROKER_WS_PORT: String(ports.brokerWs),
      MQTT_URL: `mqtt://127.0.0.1:${ports.broker}`,
      LED_BACKEND: 'sim',
      LOG_FORMAT: 'json',
      LOG_LEVEL: 'warn',
    };
    // As npm start does: the secrets and the self-signed certificate exist before any service starts, so all three
    // read the same ones (and start-up times do not include generating them, which happens once per installation).
    const config = loadConfig(env);
    const secrets = loadSecrets(config);
    await loadTlsCredentials(config);
    const system = new ProductionSystem(dataDir, env, ports, secrets, topicsFor(config.TOPIC_PREFIX), options.profileDir);
    try {
      const startup = await system.startAll();
      return { system, startup };
    } catch (error) {
      await system.stop();
      throw error;
    }
  }

  private spawn(name: ServiceName, extraEnv: Record<string, string> = {}): ServiceChild {
    const profile = this.profileDir !== undefined && name !== 'broker';
    if (profile) mkdirSync(this.profileDir as string, { recursive: true });
    const args = profile ? ['--cpu-prof', `--cpu-prof-dir=${this.profileDir}`, `--cpu-prof-name=${name}-${Date.now()}.cpuprofile`] : [];
    const child = new ServiceChild(name, join(ROOT, name, 'dist/main.js'), { ...this.env, ...extraEnv }, args);
    this.children.set(name, child);
    return child;
  }

  private async startAll(): Promise<StartupTimes> {
    const broker = this.spawn('broker');
    const brokerReady = await broker.until('accepting MQTT connections', () => portAccepts(this.ports.broker));
    // The operator's view of the led-driver's retained status, subscribed before the driver exists.
    await this.watchDriverStatus();
    const gateway = this.spawn('gateway');
    const driver = this.spawn('led-driver');
    const [gatewayReady, driverReady] = await Promise.all([this.gatewayReady(gateway), this.driverReady(driver)]);
    const system = Math.max(gateway.spawnedAt + gatewayReady, driver.spawnedAt + driverReady) - broker.spawnedAt;
    return { broker: brokerReady, gateway: gatewayReady, 'led-driver': driverReady, system };
  }

  private gatewayReady(gateway: ServiceChild): Promise<number> {
    return gateway.until('ready (/readyz)', () => httpOk(`http://127.0.0.1:${this.ports.gateway}/readyz`));
  }

  private driverReady(driver: ServiceChild): Promise<number> {
    return driver.until('online', () => this.driverOnline);
  }

  private watchDriverStatus(): Promise<void> {
    const client = watchDriverStatus(this.ports.broker, this.secrets.operator, 200, (online) => {
      this.driverOnline = online;
    });
    this.operator = client;
    return new Promise((resolve, reject) => {
      client.once('error', reject);
      client.once('connect', () => client.subscribe(this.topics.driverStatus, { qos: 0 }, (error) => (error ? reject(error) : resolve())));
    });
  }

  /** Replaces the gateway with one started with `extraEnv` (e.g. another GATEWAY_MAX_RATE); ms to ready. */
  async restartGateway(extraEnv: Record<string, string>): Promise<number> {
    await this.children.get('gateway')?.stop();
    return this.gatewayReady(this.spawn('gateway', extraEnv));
  }

  /** The led-driver's retained status is `online` again (it goes through `off` whenever the gateway restarts). */
  async driverIsOnline(): Promise<void> {
    const driver = this.children.get('led-driver');
    if (driver) await driver.until('online', () => this.driverOnline);
  }

  get gatewayUrl(): string {
    return `ws://127.0.0.1:${this.ports.gateway}/`;
  }

  rss(name: ServiceName): number {
    return rssMb(this.children.get(name)?.pid);
  }

  cpu(name: ServiceName): number {
    return cpuMs(this.children.get(name)?.pid);
  }

  pss(name: ServiceName): number {
    return pssMb(this.children.get(name)?.pid);
  }

  async stop(): Promise<void> {
    this.operator?.end(true);
    // Gateway and led-driver first, so they leave the broker cleanly (and write their CPU profiles), then the broker.
    await Promise.all(['gateway', 'led-driver'].map((n) => this.children.get(n as ServiceName)?.stop()));
    await this.children.get('broker')?.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}
