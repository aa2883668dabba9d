/**
 * Secrets that are "generated once and kept on disk": the gateway token and the two MQTT accounts.
 * A value set in the environment always wins; otherwise the stored one is used, or a new one is created.
 * The layout of DATA_DIR/secrets.json is this module's alone: everything else reads it through loadSecrets or
 * readStoredSecrets.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, readFileSync } from 'node:fs';
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

function generate(): StoredSecrets {
  return {
    gatewayToken: randomBytes(18).toString('base64url'),
    operatorUsername: 'gravity-led',
    operatorPassword: randomBytes(18).toString('base64url'),
    serviceUsername: 'gravity-led-service',
    servicePassword: randomBytes(24).toString('base64url'),
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
  const stored = readStored(config.DATA_DIR);
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

/** Compares a presented secret with the expected one in time independent of where they differ. */
export function secretEquals(presented: string | Uint8Array | undefined, expected: string): boolean {
  if (presented === undefined) return false;
  const a = typeof presented === 'string' ? Buffer.from(presented, 'utf8') : Buffer.from(presented);
  const b = Buffer.from(expected, 'utf8');
  // Equal lengths are required by timingSafeEqual; comparing b with itself keeps the time the same on a mismatch.
  return timingSafeEqual(a.length === b.length ? a : b, b) && a.length === b.length;
}
