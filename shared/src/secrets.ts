/**
 * Secrets that are "generated once and kept on disk": the gateway token and the two MQTT accounts.
 * A value set in the environment always wins; otherwise the stored one is used, or a new one is created.
 * The layout of DATA_DIR/secrets.json is this module's alone: everything else reads it through loadSecrets,
 * followSecrets (the running services) or readStoredSecrets.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from './config.js';
import { writeOnce } from './data-dir.js';

export interface Account {
  readonly username: string;
  readonly password: string;
}

export interface Secrets {
  readonly gatewayToken: string;
  /** The person's account for MQTT tools. */
  readonly operator: Account;
  /** The account gateway and led-driver use. */
  readonly service: Account;
}

interface StoredSecrets {
  gatewayToken: string;
  operatorUsername: string;
  operatorPassword: string;
  serviceUsername: string;
  servicePassword: string;
}

export const SECRETS_FILE = 'secrets.json';

/**
 * `bytes` random bytes as base64url, never starting with `-`: a secret is typed after an option (`--token <token>`,
 * `mosquitto_sub -P <password>`), and a leading dash makes it look like one (Node's parseArgs refuses it as the
 * value of `--token`: one generated token in 64 broke the printed client command). A draw that starts with `-` is
 * drawn again, so every other first character stays equally likely.
 */
export function randomSecret(bytes: number): string {
  for (;;) {
    const secret = randomBytes(bytes).toString('base64url');
    if (!secret.startsWith('-')) return secret;
  }
}

function generate(): StoredSecrets {
  return {
    gatewayToken: randomSecret(18),
    operatorUsername: 'gravity-led',
    operatorPassword: randomSecret(18),
    serviceUsername: 'gravity-led-service',
    servicePassword: randomSecret(24),
  };
}

function readStored(dir: string): StoredSecrets {
  const file = join(dir, SECRETS_FILE);
  const fresh = generate();
  writeOnce(dir, SECRETS_FILE, `${JSON.stringify(fresh, null, 2)}\n`);
  chmodSync(file, 0o600);
  const stored = JSON.parse(readFileSync(file, 'utf8')) as Partial<StoredSecrets>;
  // A hand-edited file may lack a field: fill it in memory rather than fail, and never rewrite the person's file.
  return { ...fresh, ...stored };
}

/**
 * What DATA_DIR/secrets.json holds, read as it is: never created, nothing filled in, and undefined when there is no
 * readable file. For the tools that run next to the services (the CLI client, the tests), which must not make one.
 */
export function readStoredSecrets(dataDir: string): Partial<Secrets> | undefined {
  let stored: unknown;
  try {
    stored = JSON.parse(readFileSync(join(dataDir, SECRETS_FILE), 'utf8'));
  } catch {
    return undefined;
  }
  if (typeof stored !== 'object' || stored === null) return undefined;
  const fields = stored as Partial<Record<keyof StoredSecrets, unknown>>;
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
  const account = (username: unknown, password: unknown): Account | undefined => {
    const [u, p] = [text(username), text(password)];
    return u !== undefined && p !== undefined ? { username: u, password: p } : undefined;
  };
  return {
    gatewayToken: text(fields.gatewayToken),
    operator: account(fields.operatorUsername, fields.operatorPassword),
    service: account(fields.serviceUsername, fields.servicePassword),
  };
}

/** The secrets in force: the environment's where set, else the stored (or newly generated) ones. */
export function loadSecrets(config: Config): Secrets & { readonly dataDir: string } {
  return inForce(config, readStored(config.DATA_DIR));
}

function inForce(config: Config, stored: StoredSecrets): Secrets & { readonly dataDir: string } {
  return {
    dataDir: config.DATA_DIR,
    gatewayToken: config.GATEWAY_TOKEN ?? stored.gatewayToken,
    operator: {
      username: config.MQTT_USERNAME ?? stored.operatorUsername,
      password: config.MQTT_PASSWORD ?? stored.operatorPassword,
    },
    service: {
      username: config.MQTT_SERVICE_USERNAME ?? stored.serviceUsername,
      password: config.MQTT_SERVICE_PASSWORD ?? stored.servicePassword,
    },
  };
}

/** What tells one version of the file from another without reading it: a rewrite or a new file changes it. */
function fileVersion(file: string): string | undefined {
  try {
    const { dev, ino, size, mtimeMs } = statSync(file);
    return `${dev}:${ino}:${size}:${mtimeMs}`;
  } catch {
    return undefined;
  }
}

/**
 * The secrets in force, kept in step with DATA_DIR/secrets.json while the service runs: what a long-running service
 * uses, where loadSecrets is a snapshot. Deleting the file and restarting one service (how the token is revoked)
 * makes that service generate new secrets; the services still running take them up the next time they use them,
 * rather than lock each other out of the broker until all three have restarted. So the broker checks each login
 * against the file as it is now, the gateway and the led-driver present the current account at each (re)connect, and
 * the gateway checks tokens against the current one.
 *
 * Each read costs a stat() of the file; it is read again only when it changed. A file that is gone or cannot be read
 * leaves the last secrets in force (nobody is locked out by a deletion alone), and a value set in the environment
 * always wins. `operator` and `service` are live: keep them, and their fields are read anew each time.
 */
export function followSecrets(config: Config): Secrets & { readonly dataDir: string } {
  const file = join(config.DATA_DIR, SECRETS_FILE);
  let current = loadSecrets(config);
  let version = fileVersion(file);
  const now = (): Secrets => {
    const seen = fileVersion(file);
    if (seen === undefined || seen === version) return current;
    try {
      const stored = JSON.parse(readFileSync(file, 'utf8')) as Partial<StoredSecrets>;
      if (typeof stored !== 'object' || stored === null) return current;
      // A hand-edited file may lack a field: the value in force stays for it, as loadSecrets would fill it in.
      current = inForce(config, { ...storedOf(current), ...stored });
      version = seen;
    } catch {
      // Half-written by an editor, or unreadable: try again at the next use.
    }
    return current;
  };
  const live = (account: (s: Secrets) => Account): Account => ({
    get username() {
      return account(now()).username;
    },
    get password() {
      return account(now()).password;
    },
  });
  return {
    dataDir: config.DATA_DIR,
    get gatewayToken() {
      return now().gatewayToken;
    },
    operator: live((s) => s.operator),
    service: live((s) => s.service),
  };
}

function storedOf(secrets: Secrets): StoredSecrets {
  return {
    gatewayToken: secrets.gatewayToken,
    operatorUsername: secrets.operator.username,
    operatorPassword: secrets.operator.password,
    serviceUsername: secrets.service.username,
    servicePassword: secrets.service.password,
  };
}

/** Compares a presented secret with the expected one in time independent of where they differ. */
export function secretEquals(presented: string | Uint8Array | undefined, expected: string): boolean {
  if (presented === undefined) return false;
  const a = typeof presented === 'string' ? Buffer.from(presented, 'utf8') : Buffer.from(presented);
  const b = Buffer.from(expected, 'utf8');
  // Equal lengths are required by timingSafeEqual; comparing b with itself keeps the time the same on a mismatch.
  return timingSafeEqual(a.length === b.length ? a : b, b) && a.length === b.length;
}
