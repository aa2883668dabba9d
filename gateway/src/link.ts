/**
 * `docker compose run --rm gateway link` (or `npm run link -w gateway`): prints what a person needs to connect, the
 * same banner `npm start` prints: the phone links with the QR code of the first, the certificate's fingerprint, the
 * token and the MQTT operator account. A container has no terminal for the start banner, and its log is JSON: this
 * is the terminal's view, on demand.
 *
 * It reads the secrets and the certificate the services use (DATA_DIR, the shared volume under compose), generating
 * them only if they do not exist yet, exactly as a starting service would; it starts no server.
 */
import { ConfigError, errorMessage, lanHosts, loadConfig, loadSecrets, loadTlsCredentials, runningInContainer } from '@gravity-led/shared';
import { bannerText } from './banner.js';

async function main(): Promise<number> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`link: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  const secrets = loadSecrets(config);
  const tls = config.GATEWAY_HTTPS_PORT > 0 ? await loadTlsCredentials(config) : undefined;
  const hosts = lanHosts(config.PUBLIC_HOSTS);
  process.stdout.write(
    await bannerText(config, secrets, tls, hosts, {
      title: 'gravity-led: open this on the phone',
      ...(hosts.length === 0 && runningInContainer()
        ? {
            footer:
              "Set PUBLIC_HOSTS in .env to the Pi's name and address (e.g. raspberrypi.local,192.168.1.20), then `docker compose up -d`.",
          }
        : {}),
    }),
  );
  return 0;
}

try {
  process.exitCode = await main();
} catch (error) {
  // An unreadable DATA_DIR or TLS_CERT_FILE: one line, as the services say it.
  process.stderr.write(`link: ${errorMessage(error)}\n`);
  process.exitCode = 1;
}
