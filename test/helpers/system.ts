/**
 * The real system for end-to-end tests: broker, gateway and led-driver as separate processes, started exactly as
 * `npm start -w <service>` starts them (with the same node flags, NODE_FLAGS), on free ports, with a temporary DATA_DIR and generated secrets.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NODE_FLAGS, readStoredSecrets } from '@gravity-led/shared';
import { freePort } from './ports.js';
import { waitFor } from './wait.js';

export const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
/** How long a service may take to start: generous, as the machine running the tests may be busy with much else. */
export const START_PATIENCE_MS = 30_000;

export type ServiceName = 'broker' | 'gateway' | 'led-driver';

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export class ServiceProcess {
  child: ChildProcess;
  readonly lines: LogLine[] = [];
  readonly raw: string[] = [];
  exitCode: number | null = null;
  signal: NodeJS.Signals | null = null;

  constructor(
    readonly name: ServiceName,
    readonly env: NodeJS.ProcessEnv,
    /** Node's own options before the script (e.g. --inspect for LiveHeap). */
    readonly execArgv: readonly string[] = [],
  ) {
    this.child = this.spawn();
  }

  private spawn(): ChildProcess {
    this.exitCode = null;
    this.signal = null;
    const child = spawn(process.execPath, [...NODE_FLAGS, ...this.execArgv, join(ROOT, this.name, 'dist/main.js')], {
      cwd: join(ROOT, this.name),
      env: this.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let buffer = '';
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      let newline = buffer.indexOf('\n');
      while (newline >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        this.raw.push(line);
        try {
          this.lines.push(JSON.parse(line) as LogLine);
        } catch {
          // Not a log record (e.g. a ConfigError line on stderr): kept in raw.
        }
        newline = buffer.indexOf('\n');
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('exit', (code, signal) => {
      this.exitCode = code;
      this.signal = signal;
    });
    return child;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Waits for a log record whose message contains `text`, counting only records after `from`. */
  waitForLog(text: string, timeoutMs = 10_000, from = 0): Promise<LogLine> {
    return waitFor(
      `${this.name} to log "${text}"`,
      () => {
        if (!this.running && this.exitCode !== null) throw new Error(`${this.name} exited with ${this.exitCode}: ${this.raw.join('\n')}`);
        return this.lines.slice(from).find((l) => typeof l.msg === 'string' && l.msg.includes(text));
      },
      timeoutMs,
    );
  }

  /** Resolves with the exit code once the process has ended. */
  exited(timeoutMs = 5000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return waitFor(
      `${this.name} to exit`,
      () => (this.running ? undefined : { code: this.child.exitCode, signal: this.child.signalCode }),
      timeoutMs,
    );
  }

  /** A position in the log, to wait for records written after it (e.g. after a restart). */
  get mark(): number {
    return this.lines.length;
  }

  /** Log records at `level` or above (40 warn, 50 error, 60 fatal), from `from` on. */
  linesAtLeast(level: number, from = 0): LogLine[] {
    return this.lines.slice(from).filter((l) => l.level >= level);
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.running) this.child.kill(signal);
  }

  /**
   * Starts the process again with the same environment (so the same ports, DATA_DIR and secrets), killing it
   * first if it still runs. With `readyText`, waits until the new process logs it.
   */
  async restart(readyText?: string): Promise<void> {
    if (this.running) {
      this.child.kill('SIGKILL');
      await this.exited();
    }
    const from = this.mark;
    this.child = this.spawn();
    if (readyText) await this.waitForLog(readyText, START_PATIENCE_MS, from);
  }
}

export interface SystemOptions {
  /** Extra environment for every service. */
  readonly env?: Record<string, string>;
  /** Services to start (default: all three). */
  readonly services?: readonly ServiceName[];
  /** Node's own options for some services, before the script (e.g. --inspect for LiveHeap). */
  readonly execArgv?: Partial<Record<ServiceName, readonly string[]>>;
}

/** The generated secrets of a test system, flat, as the tests use them. */
export interface Secrets {
  gatewayToken: string;
  operatorUsername: string;
  operatorPassword: string;
  serviceUsername: string;
  servicePassword: string;
}

/** The content of LED_SIM_FILE: the duty the simulated pins have, and whether the driver released them. */
export interface SimLeds {
  left: number;
  right: number;
  closed: boolean;
  pid: number;
}

/** How many times a system is started on fresh ports when another process took one of them first. */
const PORT_ATTEMPTS = 3;

/** A start that failed because another process took one of the chosen ports first. */
class PortTaken extends Error {
  constructor(cause: unknown) {
    super('a port was taken by another process before the service could bind it', { cause });
  }
}

export class TestSystem {
  readonly services = new Map<ServiceName, ServiceProcess>();

  private constructor(
    readonly dataDir: string,
    readonly env: NodeJS.ProcessEnv,
    readonly ports: {
      gateway: number;
      gatewayHttps: number;
      broker: number;
      brokerWs: number;
      brokerMetrics: number;
      driverMetrics: number;
    },
    private readonly execArgv: Partial<Record<ServiceName, readonly string[]>> = {},
  ) {}

  /**
   * Starts the system on free ports. A free port is only free when it is chosen: another test file running at the same
   * time may bind it before this system does. A service then stops at once (EADDRINUSE) or, for a metrics port, runs
   * on without it ("port unavailable"); either way the whole system is started again on fresh ports, as a person
   * would pick another port. Anything else that goes wrong at start-up is the test's to see.
   */
  static async start(options: SystemOptions = {}): Promise<TestSystem> {
    for (let attempt = 1; ; attempt++) {
      let system: TestSystem | undefined;
      try {
        system = await TestSystem.startOnce(options);
      } catch (error) {
        if (attempt >= PORT_ATTEMPTS || !(error instanceof PortTaken)) throw error;
        continue;
      }
      if (attempt >= PORT_ATTEMPTS || !system.portTaken()) return system;
      await system.stop();
    }
  }

  /** Whether a service found one of its ports taken by another process. */
  private portTaken(): boolean {
    return [...this.services.values()].some(
      (s) =>
        s.raw.some((line) => line.includes('EADDRINUSE')) ||
        s.lines.some((l) => typeof l.msg === 'string' && l.msg.includes('port unavailable')),
    );
  }

  private static async startOnce(options: SystemOptions): Promise<TestSystem> {
    const dataDir = mkdtempSync(join(tmpdir(), 'gravity-led-test-'));
    const ports = {
      gateway: await freePort(),
      gatewayHttps: 0,
      broker: await freePort(),
      brokerWs: await freePort(),
      brokerMetrics: await freePort(),
      driverMetrics: await freePort(),
    };
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DATA_DIR: dataDir,
      GATEWAY_HOST: '127.0.0.1',
      BROKER_HOST: '127.0.0.1',
      GATEWAY_PORT: String(ports.gateway),
      GATEWAY_HTTPS_PORT: '0',
      BROKER_PORT: String(ports.broker),
      BROKER_WS_PORT: String(ports.brokerWs),
      BROKER_METRICS_PORT: String(ports.brokerMetrics),
      MQTT_URL: `mqtt://127.0.0.1:${ports.broker}`,
      METRICS_PORT: String(ports.driverMetrics),
      METRICS_HOST: '127.0.0.1',
      LED_BACKEND: 'sim',
      LOG_FORMAT: 'json',
      LOG_LEVEL: 'debug',
      // The simulated LEDs keep their duty in this file: the "hardware" a test can look at even while MQTT is down.
      LED_SIM_FILE: join(dataDir, 'leds.json'),
      // The start-up warm-up makes the first phone fast, not a test's: off for the many systems the tests start, and
      // on in the warm-up's own tests (test/system/warm-up.test.ts), which pass WARMUP_FRAMES themselves.
      WARMUP_FRAMES: '0',
      ...options.env,
    };
    if (options.env?.GATEWAY_HTTPS_PORT === 'auto') {
      ports.gatewayHttps = await freePort();
      env.GATEWAY_HTTPS_PORT = String(ports.gatewayHttps);
    }
    const system = new TestSystem(dataDir, env, ports, options.execArgv ?? {});
    const wanted = options.services ?? ['broker', 'gateway', 'led-driver'];
    try {
      if (wanted.includes('broker')) await system.startService('broker', 'broker ready');
      await Promise.all(
        (['gateway', 'led-driver'] as const).filter((s) => wanted.includes(s)).map((s) => system.startService(s, `${s} ready`)),
      );
      if (wanted.includes('broker') && wanted.includes('led-driver'))
        await system.service('led-driver').waitForLog('connected to MQTT broker', 30_000);
      if (wanted.includes('broker') && wanted.includes('gateway'))
        await system.service('gateway').waitForLog('connected to MQTT broker', 30_000);
    } catch (error) {
      const taken = system.portTaken();
      await system.stop();
      throw taken ? new PortTaken(error) : error;
    }
    return system;
  }

  async startService(name: ServiceName, readyText: string): Promise<ServiceProcess> {
    const service = new ServiceProcess(name, this.env, this.execArgv[name]);
    this.services.set(name, service);
    // Generous: on a loaded machine, loading modules and generating the certificate take seconds.
    await service.waitForLog(readyText, START_PATIENCE_MS);
    return service;
  }

  service(name: ServiceName): ServiceProcess {
    const service = this.services.get(name);
    if (!service) throw new Error(`${name} was not started`);
    return service;
  }

  get secrets(): Secrets {
    const { gatewayToken, operator, service } = readStoredSecrets(this.dataDir) ?? {};
    if (gatewayToken === undefined || !operator || !service) throw new Error(`no complete secrets file in ${this.dataDir}`);
    return {
      gatewayToken,
      operatorUsername: operator.username,
      operatorPassword: operator.password,
      serviceUsername: service.username,
      servicePassword: service.password,
    };
  }

  /** What the simulated LEDs show right now (the led-driver's LED_SIM_FILE), undefined before the driver started. */
  get simLeds(): SimLeds | undefined {
    const file = this.env.LED_SIM_FILE;
    if (!file || !existsSync(file)) return undefined;
    return JSON.parse(readFileSync(file, 'utf8')) as SimLeds;
  }

  get gatewayUrl(): string {
    return `ws://127.0.0.1:${this.ports.gateway}/`;
  }

  async stop(): Promise<void> {
    for (const service of this.services.values()) service.kill('SIGTERM');
    await Promise.all(
      [...this.services.values()].map(async (s) => {
        try {
          await s.exited(4000);
        } catch {
          s.kill('SIGKILL');
        }
      }),
    );
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}
