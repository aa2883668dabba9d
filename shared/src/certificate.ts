/**
 * The TLS certificate of the HTTPS port and of BROKER_TLS_PORT: the person's own (TLS_CERT_FILE/TLS_KEY_FILE), or a
 * self-signed one generated once and kept in DATA_DIR, renewed when the machine has gained a name or address the
 * certificate does not cover, or when it is about to expire. Phone browsers need https for motion sensors; a
 * self-signed certificate is accepted once on the phone, so it should change as rarely as possible.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { hostname as osHostname, networkInterfaces as osNetworkInterfaces } from 'node:os';
import { join } from 'node:path';
import type { Config } from './config.js';
import { writeOnce } from './data-dir.js';

/** Certificate and key in one owner-only PEM file: the certificate first, so `openssl x509 -in` reads it. */
export const CERTIFICATE_FILE = 'tls.pem';
/** Within 825 days, the longest validity Apple's platforms accept for a TLS server certificate. */
export const CERTIFICATE_VALIDITY_DAYS = 825;
/** A certificate this close to its end is replaced at start, so it never expires in the middle of a session. */
export const RENEW_BEFORE_DAYS = 30;
const DAY_MS = 24 * 60 * 60 * 1000;

/** The names and addresses a certificate must cover. */
export interface HostNames {
  readonly dns: readonly string[];
  readonly ips: readonly string[];
}

export interface TlsCredentials {
  readonly cert: string;
  readonly key: string;
  /** SHA-256 fingerprint, colon-separated upper-case hex, as browsers show it. */
  readonly fingerprint: string;
  readonly validTo: Date;
  /** `files`: TLS_CERT_FILE/TLS_KEY_FILE; `stored`: the generated one reused; `generated`: made by this call. */
  readonly source: 'files' | 'stored' | 'generated';
  /** The file the credentials came from. */
  readonly path: string;
}

type Interfaces = ReturnType<typeof osNetworkInterfaces>;

export interface MachineOptions {
  readonly hostname?: string;
  readonly interfaces?: Interfaces;
  /** PUBLIC_HOSTS: the names or addresses phones use, where the machine cannot see them itself (a container). */
  readonly extra?: readonly string[];
  /** Whether the machine's own host name and addresses count (default: yes, see ownNamesCount). */
  readonly own?: boolean;
}

/** Docker and Podman leave these files in every container. */
export function runningInContainer(): boolean {
  return existsSync('/.dockerenv') || existsSync('/run/.containerenv');
}

/**
 * Whether the machine's own host name and addresses are the ones phones use. Not when PUBLIC_HOSTS names them, and
 * not in a container: there they are the container's (a random host name, a bridge address), which change with every
 * re-created container and would force a new certificate, and a new warning on the phone, after each update.
 */
export function ownNamesCount(publicHosts: readonly string[], inContainer = runningInContainer()): boolean {
  return publicHosts.length === 0 && !inContainer;
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

export function isIpAddress(value: string): boolean {
  return IPV4.test(value) || value.includes(':');
}

/** IPv6 in its one canonical spelling (URL parsing compresses zeros and lower-cases), so sets compare exactly. */
function canonicalIp(ip: string): string {
  if (!ip.includes(':')) return ip;
  return new URL(`http://[${ip.replace(/%.*$/, '')}]/`).hostname.slice(1, -1);
}

/**
 * What the generated certificate covers: `localhost`, 127.0.0.1, ::1, PUBLIC_HOSTS, and (when `own`) the host name,
 * `HOSTNAME.local` (mDNS, how a Pi is usually reached) and every non-internal address. IPv6 link-local addresses are left out: they need a zone
 * index that a browser's address bar cannot carry.
 */
export function machineHostNames(options: MachineOptions = {}): HostNames {
  const dns = new Set<string>(['localhost']);
  const ips = new Set<string>(['127.0.0.1', '::1']);
  const own = options.own ?? true;
  const host = (options.hostname ?? osHostname()).toLowerCase();
  if (own && /^[a-z0-9-]+(\.[a-z0-9-]+)*$/.test(host)) {
    dns.add(host);
    dns.add(`${host.split('.')[0]}.local`);
  }
  for (const list of Object.values(own ? (options.interfaces ?? osNetworkInterfaces()) : {})) {
    for (const address of list ?? []) {
      if (address.internal) continue;
      if (address.family === 'IPv6' && /^fe[89ab]/i.test(address.address)) continue;
      ips.add(canonicalIp(address.address));
    }
  }
  for (const name of options.extra ?? []) {
    if (isIpAddress(name)) ips.add(canonicalIp(name));
    else dns.add(name.toLowerCase());
  }
  return { dns: [...dns], ips: [...ips] };
}

function splitPem(pem: string): { cert: string; key: string } | undefined {
  const cert = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem)?.[0];
  const key = /-----BEGIN (?:EC |RSA )?PRIVATE KEY-----[\s\S]+?-----END (?:EC |RSA )?PRIVATE KEY-----/.exec(pem)?.[0];
  return cert && key ? { cert: `${cert}\n`, key: `${key}\n` } : undefined;
}

/**
 * Why a stored certificate must be replaced, or undefined when it is still good: unreadable, key and certificate
 * not a pair, a name or address not covered, or fewer than RENEW_BEFORE_DAYS left. A certificate that covers more
 * than needed (an address the machine no longer has) is kept, so a phone that accepted it need not accept a new one.
 */
export function certificateProblem(pem: string, names: HostNames, now: Date): string | undefined {
  const parts = splitPem(pem);
  if (!parts) return 'the file holds no certificate and key';
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(parts.cert);
    if (!x509.checkPrivateKey(createPrivateKey(parts.key))) return 'the key does not belong to the certificate';
  } catch (error) {
    return `unreadable: ${(error as Error).message}`;
  }
  const left = new Date(x509.validTo).getTime() - now.getTime();
  if (!(left > RENEW_BEFORE_DAYS * DAY_MS)) return `it expires on ${x509.validTo}`;
  const missing = [
    ...names.dns.filter((name) => x509.checkHost(name, { subject: 'never', wildcards: false }) === undefined),
    ...names.ips.filter((ip) => x509.checkIP(ip) === undefined),
  ];
  if (missing.length > 0) return `it does not cover ${missing.join(', ')}`;
  return undefined;
}

/** Reads the fingerprint and expiry of a PEM certificate (the first one of a chain). */
export function describeCertificate(cert: string | Buffer): { fingerprint: string; validTo: Date; subjectAltName: string } {
  const x509 = new X509Certificate(cert);
  return { fingerprint: x509.fingerprint256, validTo: new Date(x509.validTo), subjectAltName: x509.subjectAltName ?? '' };
}

/** A new self-signed certificate and key for `names`, valid from a day before `now` (phones with a clock running late). */
export async function generateCertificate(names: HostNames, now: Date): Promise<string> {
  // Loaded only when needed: the library and its ASN.1 dependencies are not worth loading on every start.
  const { generate } = await import('selfsigned');
  const notBefore = new Date(now.getTime() - DAY_MS);
  const notAfter = new Date(notBefore.getTime() + CERTIFICATE_VALIDITY_DAYS * DAY_MS);
  const host = names.dns.find((name) => name !== 'localhost') ?? 'localhost';
  const pems = await generate([{ name: 'commonName', value: `gravity-led ${host}` }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: notBefore,
    notAfterDate: notAfter,
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [...names.dns.map((value) => ({ type: 2 as const, value })), ...names.ips.map((ip) => ({ type: 7 as const, ip }))],
      },
    ],
  });
  return `${pems.cert.trim()}\n${pems.private.trim()}\n`;
}

function readIfPresent(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function credentials(pem: string, source: TlsCredentials['source'], path: string): TlsCredentials {
  const parts = splitPem(pem);
  if (!parts) throw new Error(`${path} holds no certificate and key`);
  const { fingerprint, validTo } = describeCertificate(parts.cert);
  return { ...parts, fingerprint, validTo, source, path };
}

export interface EnsureOptions {
  readonly names?: HostNames;
  readonly now?: Date;
  /** Told why a stored certificate is being replaced. */
  readonly onReplace?: (reason: string) => void;
}

/**
 * The generated certificate in `dataDir`, created or renewed as needed. Gateway and broker may start at the same
 * moment: each new file is created with writeOnce (the first writer wins), a stale one is moved aside by exactly one
 * of them (rename), and every process finally uses what is on disk, so both serve the same certificate.
 */
export async function ensureCertificate(dataDir: string, options: EnsureOptions = {}): Promise<TlsCredentials> {
  const names = options.names ?? machineHostNames();
  const now = options.now ?? new Date();
  const path = join(dataDir, CERTIFICATE_FILE);
  let created = false;
  for (let attempt = 0; attempt < 4; attempt++) {
    const current = readIfPresent(path);
    if (current !== undefined) {
      const problem = certificateProblem(current, names, now);
      if (problem === undefined) return credentials(current, created ? 'generated' : 'stored', path);
      const aside = `${path}.old-${process.pid}-${attempt}`;
      try {
        renameSync(path, aside);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
      const moved = readIfPresent(aside);
      rmSync(aside, { force: true });
      // Another process may have put a good one in place between our read and our rename: put it back.
      if (moved !== undefined && certificateProblem(moved, names, now) === undefined) {
        writeOnce(dataDir, CERTIFICATE_FILE, moved);
        continue;
      }
      if (moved !== undefined) options.onReplace?.(problem);
    }
    created = writeOnce(dataDir, CERTIFICATE_FILE, await generateCertificate(names, now)) || created;
  }
  throw new Error(`could not settle on a certificate in ${path}`);
}

/**
 * The credentials in force: TLS_CERT_FILE/TLS_KEY_FILE when set (read as given, never changed), else the generated
 * certificate for PUBLIC_HOSTS or, without them, for this machine's own names and addresses.
 */
export async function loadTlsCredentials(
  config: Pick<Config, 'TLS_CERT_FILE' | 'TLS_KEY_FILE' | 'DATA_DIR' | 'PUBLIC_HOSTS'>,
  options: EnsureOptions = {},
): Promise<TlsCredentials> {
  if (config.TLS_CERT_FILE && config.TLS_KEY_FILE) {
    const read = (variable: string, file: string) => {
      try {
        return readFileSync(file, 'utf8');
      } catch (error) {
        throw new Error(`${variable}=${file} cannot be read: ${(error as Error).message}`);
      }
    };
    const cert = read('TLS_CERT_FILE', config.TLS_CERT_FILE);
    const key = read('TLS_KEY_FILE', config.TLS_KEY_FILE);
    let described: ReturnType<typeof describeCertificate>;
    try {
      described = describeCertificate(cert);
    } catch (error) {
      throw new Error(`TLS_CERT_FILE=${config.TLS_CERT_FILE} is not a PEM certificate: ${(error as Error).message}`);
    }
    return { cert, key, fingerprint: described.fingerprint, validTo: described.validTo, source: 'files', path: config.TLS_CERT_FILE };
  }
  return ensureCertificate(config.DATA_DIR, {
    ...options,
    names: options.names ?? machineHostNames({ extra: config.PUBLIC_HOSTS, own: ownNamesCount(config.PUBLIC_HOSTS) }),
  });
}
