/** What a TLS server presents, read with Node's own TLS client (as a phone's browser sees it before trusting it). */
import { createHash, type X509Certificate } from 'node:crypto';
import { connect as tlsConnect } from 'node:tls';

/** The certificate a TLS server on this machine presents for `servername`. */
export function servedCertificate(port: number, servername: string): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false }, () => {
      const raw = socket.getPeerX509Certificate();
      socket.destroy();
      if (raw) resolve(raw);
      else reject(new Error('no certificate presented'));
    });
    socket.once('error', reject);
  });
}

/** Chromium's `--ignore-certificate-errors-spki-list` entry for a certificate: base64 of SHA-256 of its public key. */
export function spkiHash(certificate: X509Certificate): string {
  const spki = certificate.publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}
