/**
 * Debian's Mosquitto as the broker the services use through MQTT_URL, set up as a person would for an external
 * broker: no anonymous access, a password file with a service account and an operator account, and an ACL that
 * lets the operator read everything under the prefix but publish only gravity and the `.../set` topics.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { freePort, portAccepts } from './ports.js';
import { TestSystem } from './system.js';
import { waitFor } from './wait.js';

export const MOSQUITTO_SERVICE = { username: 'gl-service', password: 'service-secret-123' };
export const MOSQUITTO_OPERATOR = { username: 'gl-operator', password: 'operator-secret-123' };

export class Mosquitto {
  log = '';

  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly child: ChildProcess,
  ) {
    child.stdout?.on('data', (c: Buffer) => {
      this.log += c.toString();
    });
    child.stderr?.on('data', (c: Buffer) => {
      this.log += c.toString();
    });
  }

  static async start(): Promise<Mosquitto> {
    const dir = mkdtempSync(join(tmpdir(), 'gravity-led-mosquitto-'));
    const port = await freePort();
    const passwords = join(dir, 'passwords');
    writeFileSync(passwords, '', { mode: 0o600 });
    for (const account of [MOSQUITTO_SERVICE, MOSQUITTO_OPERATOR]) {
      execFileSync('mosquitto_passwd', ['-b', passwords, account.username, account.password]);
    }
    writeFileSync(
      join(dir, 'acl'),
      [
        `user ${MOSQUITTO_SERVICE.username}`,
        'topic readwrite gravity-led/#',
        'topic readwrite homeassistant/#',
        `user ${MOSQUITTO_OPERATOR.username}`,
        'topic read gravity-led/#',
        'topic read homeassistant/#',
        'topic write gravity-led/gravity',
        'topic write gravity-led/leds/set',
        'topic write gravity-led/leds/+/set',
        'topic write gravity-led/gateway/max-clients/set',
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(dir, 'mosquitto.conf'),
      [
        `listener ${port} 127.0.0.1`,
        'allow_anonymous false',
        `password_file ${passwords}`,
        `acl_file ${join(dir, 'acl')}`,
        'persistence false',
        // Started as root (CI), Mosquitto would switch to its own user and then fail to read our 0600 files.
        'user root',
        '',
      ].join('\n'),
    );
    const child = spawn('/usr/sbin/mosquitto', ['-c', join(dir, 'mosquitto.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
    const mosquitto = new Mosquitto(port, dir, child);
    await waitFor(
      'mosquitto to listen',
      async () => {
        if (child.exitCode !== null) throw new Error(`mosquitto exited: ${mosquitto.log}`);
        return portAccepts(port);
      },
      15_000,
    );
    return mosquitto;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  /** The environment that points gateway and led-driver at this Mosquitto. */
  get serviceEnv(): Record<string, string> {
    return {
      MQTT_URL: this.url,
      MQTT_SERVICE_USERNAME: MOSQUITTO_SERVICE.username,
      MQTT_SERVICE_PASSWORD: MOSQUITTO_SERVICE.password,
    };
  }

  /** An MQTT client with the operator's account, connected. */
  async operator(extra: mqtt.IClientOptions = {}): Promise<MqttClient> {
    const client = mqtt.connect(this.url, { ...MOSQUITTO_OPERATOR, reconnectPeriod: 0, ...extra });
    await new Promise<void>((resolve, reject) => client.once('connect', () => resolve()).once('error', reject));
    return client;
  }

  stop(): void {
    this.child.kill('SIGTERM');
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * The system under test on one broker: the embedded Aedes (all three services), or Mosquitto through MQTT_URL
 * (gateway and led-driver). `operator` and `mqttPort` address whichever broker it is, so one test body runs on both.
 */
export interface BrokerSystem {
  readonly name: 'aedes' | 'mosquitto';
  readonly system: TestSystem;
  readonly mqttPort: number;
  /** The operator's account on this broker, for mosquitto_pub/sub. */
  readonly operatorAccount: { username: string; password: string };
  /** The services' account on this broker: what a test uses to speak as the gateway or the led-driver. */
  readonly serviceAccount: { username: string; password: string };
  operator(extra?: mqtt.IClientOptions): Promise<MqttClient>;
  stop(): Promise<void>;
}

export const BROKERS = ['aedes', 'mosquitto'] as const;

/** The broker, then the services asked for (default: gateway and led-driver), with `env` for all. */
export async function startOn(
  broker: 'aedes' | 'mosquitto',
  env: Record<string, string> = {},
  services: readonly ('gateway' | 'led-driver')[] = ['gateway', 'led-driver'],
): Promise<BrokerSystem> {
  if (broker === 'aedes') {
    const system = await TestSystem.start({ env, services: ['broker', ...services] });
    const { operatorUsername, operatorPassword, serviceUsername, servicePassword } = system.secrets;
    const operatorAccount = { username: operatorUsername, password: operatorPassword };
    return {
      name: broker,
      system,
      mqttPort: system.ports.broker,
      operatorAccount,
      serviceAccount: { username: serviceUsername, password: servicePassword },
      async operator(extra = {}) {
        const client = mqtt.connect(`mqtt://127.0.0.1:${system.ports.broker}`, { ...operatorAccount, reconnectPeriod: 0, ...extra });
        await new Promise<void>((resolve, reject) => client.once('connect', () => resolve()).once('error', reject));
        return client;
      },
      stop: () => system.stop(),
    };
  }
  const mosquitto = await Mosquitto.start();
  let system: TestSystem;
  try {
    system = await TestSystem.start({ services, env: { ...mosquitto.serviceEnv, ...env } });
    for (const service of services) await system.service(service).waitForLog('connected to MQTT broker', 30_000);
  } catch (error) {
    mosquitto.stop();
    throw error;
  }
  return {
    name: broker,
    system,
    mqttPort: mosquitto.port,
    operatorAccount: MOSQUITTO_OPERATOR,
    serviceAccount: MOSQUITTO_SERVICE,
    operator: (extra) => mosquitto.operator(extra),
    async stop() {
      await system.stop();
      mosquitto.stop();
    },
  };
}
