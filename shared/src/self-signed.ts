/**
 * The self-signed certificate generated once and kept in DATA_DIR, for the HTTPS port and BROKER_TLS_PORT when the
 * person has none of their own: renewed when the machine has gained a name or address it does not cover, or when
 * it is about to expire. Phone browsers need https for motion sensors; a self-signed certificate is accepted once
 * on the phone, so it should change as rarely as possible.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeOnce } from './data-dir.js';
import { errorCode, errorMessage } from './errors.js';
import { type HostNames, machineHostNames } from './host-names.js';
import { credentialsFromPem, splitPem, type TlsCredentials } from './pem.js';

/** Certificate and key in one owner-only PEM file: the certificate first, so `openssl x509 -in` reads it. */
export const CERTIFICATE_FILE = 'tls.pem';
/** Within 825 days, the longest validity Apple's platforms accept for a TLS server certificate. */
export const CERTIFICATE_VALIDITY_DAYS = 825;
/** A certificate this close to its end is replaced at start, so it never expires in the middle of a session. */
export const RENEW_BEFORE_DAYS = 30;
const DAY_MS = 24 * 60 * 60 * 1000;

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
    return `unreadable: ${errorMessage(error)}`;
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
    if (errorCode(error) === 'ENOENT') return undefined;
    throw error;
  }
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
      if (problem === undefined) return credentialsFromPem(current, created ? 'generated' : 'stored', path);
      const aside = `${path}.old-${process.pid}-${attempt}`;
      try {
        renameSync(path, aside);
      } catch (error) {
        if (errorCode(error) !== 'ENOENT') throw error;
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
