/** TLS credentials as the servers take them, read from PEM text: the certificate, its key, and what a person checks. */
import { X509Certificate } from 'node:crypto';

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

/** The first certificate and the private key of a PEM text holding both, or undefined when either is missing. */
export function splitPem(pem: string): { cert: string; key: string } | undefined {
  const cert = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem)?.[0];
  const key = /-----BEGIN (?:EC |RSA )?PRIVATE KEY-----[\s\S]+?-----END (?:EC |RSA )?PRIVATE KEY-----/.exec(pem)?.[0];
  return cert && key ? { cert: `${cert}\n`, key: `${key}\n` } : undefined;
}

/** Reads the fingerprint and expiry of a PEM certificate (the first one of a chain). */
export function describeCertificate(cert: string | Buffer): { fingerprint: string; validTo: Date; subjectAltName: string } {
  const x509 = new X509Certificate(cert);
  return { fingerprint: x509.fingerprint256, validTo: new Date(x509.validTo), subjectAltName: x509.subjectAltName ?? '' };
}

/** The credentials in one PEM file holding certificate and key (the generated one). */
export function credentialsFromPem(pem: string, source: TlsCredentials['source'], path: string): TlsCredentials {
  const parts = splitPem(pem);
  if (!parts) throw new Error(`${path} holds no certificate and key`);
  const { fingerprint, validTo } = describeCertificate(parts.cert);
  return { ...parts, fingerprint, validTo, source, path };
}
