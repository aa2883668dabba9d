/**
 * The TLS credentials in force for the HTTPS port and BROKER_TLS_PORT: the person's own (TLS_CERT_FILE and
 * TLS_KEY_FILE, read as given, never changed), or else the self-signed certificate kept in DATA_DIR.
 */
import { readFileSync } from 'node:fs';
import type { Config } from './config.js';
import { errorMessage } from './errors.js';
import { machineHostNames, ownNamesCount } from './host-names.js';
import type { Logger } from './logger.js';
import { describeCertificate, type TlsCredentials } from './pem.js';
import { type EnsureOptions, ensureCertificate } from './self-signed.js';

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
        throw new Error(`${variable}=${file} cannot be read: ${errorMessage(error)}`, { cause: error });
      }
    };
    const cert = read('TLS_CERT_FILE', config.TLS_CERT_FILE);
    const key = read('TLS_KEY_FILE', config.TLS_KEY_FILE);
    let described: ReturnType<typeof describeCertificate>;
    try {
      described = describeCertificate(cert);
    } catch (error) {
      throw new Error(`TLS_CERT_FILE=${config.TLS_CERT_FILE} is not a PEM certificate: ${errorMessage(error)}`, { cause: error });
    }
    return { cert, key, fingerprint: described.fingerprint, validTo: described.validTo, source: 'files', path: config.TLS_CERT_FILE };
  }
  return ensureCertificate(config.DATA_DIR, {
    ...options,
    names: options.names ?? machineHostNames({ extra: config.PUBLIC_HOSTS, own: ownNamesCount(config.PUBLIC_HOSTS) }),
  });
}

/**
 * The credentials a service's TLS port (GATEWAY_HTTPS_PORT, BROKER_TLS_PORT) serves, or undefined when the port is
 * off (0). A renewal of the self-signed certificate is said in the service's log, with the reason.
 */
export function tlsForPort(
  port: number,
  config: Parameters<typeof loadTlsCredentials>[0],
  log: Logger,
): Promise<TlsCredentials | undefined> {
  if (port <= 0) return Promise.resolve(undefined);
  return loadTlsCredentials(config, { onReplace: (reason) => log.info({ reason }, 'renewing the self-signed certificate') });
}
