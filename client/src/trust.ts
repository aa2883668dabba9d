/**
 * How the client decides to trust a wss:// gateway (or an mqtts:// broker, for --replay --mqtt): the system's CAs (a
 * real certificate), a CA file, a pinned SHA-256 fingerprint of the self-signed certificate, or nothing at all
 * (--insecure).
 */
import { isIP } from 'node:net';
import { type ConnectionOptions, connect } from 'node:tls';
import type { Trust } from './args.js';

export class TrustError extends Error {
  override name = 'TrustError';
}

/** Colon-separated upper-case hex, as `npm start` prints it and browsers show it. */
function colons(hex: string): string {
  return hex.match(/../g)?.join(':') ?? hex;
}

/**
 * Fetches the gateway's certificate without trusting it, checks it against the pinned fingerprint, and returns it as
 * the one CA for the real connection. The token therefore travels only over a connection verified against exactly
 * the pinned certificate: a machine in between with another certificate fails the handshake before the token is sent.
 */
async function pinnedCertificate(url: URL, sha256: string): Promise<string> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port || (url.protocol === 'mqtts:' ? 8883 : 443));
  const options: ConnectionOptions = { host, port, rejectUnauthorized: false, ...(isIP(host) ? {} : { servername: host }) };
  const x509 = await new Promise<import('node:crypto').X509Certificate>((resolve, reject) => {
    const socket = connect(options, () => {
      const peer = socket.getPeerX509Certificate();
      socket.destroy();
      if (peer) resolve(peer);
      else reject(new TrustError('the gateway presented no certificate'));
    });
    socket.setTimeout(10_000, () => socket.destroy(new Error('no TLS handshake within 10 s')));
    socket.once('error', reject);
  });
  const presented = x509.fingerprint256.replace(/:/g, '');
  if (presented !== sha256) {
    throw new TrustError(
      `the gateway's certificate has SHA-256 fingerprint ${x509.fingerprint256}, not the pinned ${colons(sha256)}: ` +
        'check the fingerprint that the gateway printed at start; if it changed (new address, renewal), pin the new one',
    );
  }
  if (x509.issuer !== x509.subject || !x509.verify(x509.publicKey)) {
    throw new TrustError(
      `--fingerprint pins a self-signed certificate, and this one is issued by "${x509.issuer.replace(/\n/g, ', ')}": ` +
        'a certificate from a CA your system trusts needs no option; otherwise use --ca with that CA',
    );
  }
  return x509.toString();
}

/** TLS options for the `ws` or `mqtt` client, or {} for a URL without TLS. */
export async function tlsOptions(url: URL, trust: Trust): Promise<ConnectionOptions> {
  if (url.protocol !== 'wss:' && url.protocol !== 'mqtts:') return {};
  switch (trust.kind) {
    case 'system':
      return {};
    case 'insecure':
      return { rejectUnauthorized: false };
    case 'ca':
      return { ca: trust.pem };
    case 'fingerprint':
      // The pinned certificate is the identity: the host name in the URL need not be one it names.
      return { ca: await pinnedCertificate(url, trust.sha256), checkServerIdentity: () => undefined };
  }
}
