/**
 * Debian's Mosquitto as the external broker (MQTT_URL), set up as a Home Assistant user's Mosquitto add-on would be:
 * no anonymous clients, a password file with the services' and the operator's accounts, and an ACL that gives the
 * operator exactly what the embedded broker gives it (README, "Home Assistant"; docs/security.md).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, portAccepts } from './ports.js';
import { waitFor } from './wait.js';

export interface MosquittoAccount {
  readonly username: string;
  readonly password: string;
}

export const MOSQUITTO_SERVICE: MosquittoAccount = { username: 'gl-service', password: 'service-secret-123' };
export const MOSQUITTO_OPERATOR: MosquittoAccount = { username: 'gl-operator', password: 'operator-secret-123' };

/** The ACL README gives for an external broker: the same rights as the embedded broker's. */
export function mosquittoAcl(prefix = 'gravity-led', discovery = 'homeassistant'): string {
  return [
    `user ${MOSQUITTO_SERVICE.username}`,
    `topic readwrite ${prefix}/#`,
    `topic readwrite ${discovery}/#`,
    `user ${MOSQUITTO_OPERATOR.username}`,
    `topic read ${prefix}/#`,
    `topic read ${discovery}/#`,
    `topic write ${prefix}/gravity`,
    `topic write ${prefix}/leds/set`,
    `topic write ${prefix}/leds/left/set`,
    `topic write ${prefix}/leds/right/set`,
    `topic write ${prefix}/gateway/max-clients/set`,
    `topic readwrite ${discovery}/status`,
    '',
  ].join('\n');
}

export class MosquittoBroker {
  log = '';

  private constructor(
    readonly port: number,
    private readonly child: ChildProcess,
    private readonly dir: string,
  ) {
    child.stdout?.on('data', (c: Buffer) => {
      this.log += c.toString();
    });
    child.stderr?.on('data', (c: Buffer) => {
      this.log += c.toString();
    });
  }

  static async start(acl = mosquittoAcl()): Promise<MosquittoBroker> {
    const dir = mkdtempSync(join(tmpdir(), 'gravity-led-mosquitto-'));
    const port = await freePort();
    const passwords = join(dir, 'passwords');
    writeFileSync(passwords, '', { mode: 0o600 });
    for (const account of [MOSQUITTO_SERVICE, MOSQUITTO_OPERATOR]) {
      execFileSync('mosquitto_passwd', ['-b', passwords, account.username, account.password]);
    }
    writeFileSync(join(dir, 'acl'), acl);
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
    // A test process that ends without its after() (a failed before(), a runner timeout) must not leave it behind.
    const orphan = () => child.kill('SIGTERM');
    process.once('exit', orphan);
    child.once('exit', () => process.removeListener('exit', orphan));
    const broker = new MosquittoBroker(port, child, dir);
    await waitFor(
      'mosquitto to listen',
      async () => {
        if (child.exitCode !== null) throw new Error(`mosquitto exited: ${broker.log}`);
        return portAccepts(port);
      },
      15_000,
    );
    return broker;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  /** The environment that points gateway and led-driver at this broker. */
  get serviceEnv(): Record<string, string> {
    return {
      MQTT_URL: this.url,
      MQTT_SERVICE_USERNAME: MOSQUITTO_SERVICE.username,
      MQTT_SERVICE_PASSWORD: MOSQUITTO_SERVICE.password,
    };
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.kill('SIGTERM');
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
