/**
 * What a person needs to connect: where to point the phone (links and a QR code), the token, the certificate's
 * fingerprint, and how to reach MQTT with the operator's account. Printed by `npm start` and by the `link` command
 * (`docker compose run --rm gateway link`).
 */
import { type Config, lanHosts, phoneLinks, type Secrets, type TlsCredentials, topicsFor } from '@gravity-led/shared';
import QRCode from 'qrcode';

/** The link as a QR code of half-block characters, so the phone's camera can open it straight from the terminal. */
export function terminalQrCode(text: string): Promise<string> {
  return QRCode.toString(text, { type: 'terminal', small: true, errorCorrectionLevel: 'L' });
}

export interface BannerOptions {
  /** The first line of text, e.g. `gravity-led is running.` */
  readonly title: string;
  /** The last line, e.g. how to stop. */
  readonly footer?: string;
}

export async function printBanner(
  config: Config,
  secrets: Secrets & { readonly dataDir: string },
  tls: TlsCredentials | undefined,
  options: BannerOptions,
): Promise<void> {
  process.stdout.write(await bannerText(config, secrets, tls, lanHosts(config.PUBLIC_HOSTS), options));
}

/** The banner for `hosts` (PUBLIC_HOSTS or the LAN addresses), the QR code of the first phone link on top. */
export async function bannerText(
  config: Config,
  secrets: Secrets & { readonly dataDir: string },
  tls: TlsCredentials | undefined,
  hosts: readonly string[],
  options: BannerOptions = { title: 'gravity-led' },
): Promise<string> {
  const links = phoneLinks(config, secrets.gatewayToken, hosts.length > 0 ? hosts : ['localhost']);
  const topics = topicsFor(config.TOPIC_PREFIX);
  const op = secrets.operator;
  const tokenFragment = config.GATEWAY_AUTH === 'token' ? `#token=${encodeURIComponent(secrets.gatewayToken)}` : '';
  const mqttHost = hosts[0] ?? 'localhost';
  const lines = [
    '',
    options.title,
    '',
    'Phone (open on a phone on the same network, or scan the QR code above):',
    ...links.map((l) => `  ${l}`),
    ...(hosts.length === 0 ? ["  (no LAN address known: set PUBLIC_HOSTS to this machine's name or address on the network)"] : []),
    `  on this machine: http://localhost:${config.GATEWAY_PORT}/${tokenFragment}`,
    ...(tls
      ? [
          tls.source === 'files'
            ? `  certificate: ${tls.path}`
            : '  the certificate is self-signed: the phone warns once; check that it shows this SHA-256 fingerprint, then accept it:',
          `  SHA-256 fingerprint: ${tls.fingerprint}`,
        ]
      : []),
    `WebSocket: ws://HOST:${config.GATEWAY_PORT}/${config.GATEWAY_HTTPS_PORT > 0 ? ` and wss://HOST:${config.GATEWAY_HTTPS_PORT}/` : ''}`,
    `Access token: ${config.GATEWAY_AUTH === 'token' ? secrets.gatewayToken : '(GATEWAY_AUTH=none: no token needed)'}`,
    '',
    `MQTT: mqtt://${mqttHost}:${config.BROKER_PORT}${config.BROKER_WS_PORT > 0 ? `  (WebSocket: ws://${mqttHost}:${config.BROKER_WS_PORT})` : ''}${config.BROKER_TLS_PORT > 0 ? `  (TLS: mqtts://${mqttHost}:${config.BROKER_TLS_PORT})` : ''}`,
    `  username: ${op.username}`,
    `  password: ${op.password}`,
    `  watch:  mosquitto_sub -h localhost -p ${config.BROKER_PORT} -u '${op.username}' -P '${op.password}' -t '${config.TOPIC_PREFIX}/#' -v`,
    `  inject: mosquitto_pub -h localhost -p ${config.BROKER_PORT} -u '${op.username}' -P '${op.password}' -t '${topics.gravity}' -m '0 40 91.6'`,
    `Secrets${tls?.source === 'files' ? '' : ' and the certificate'} are kept in ${secrets.dataDir}.${options.footer ? ` ${options.footer}` : ''}`,
    '',
  ];
  const first = links[0];
  const qr = first ? `${first}\n${await terminalQrCode(first)}` : '';
  return `${qr}${lines.join('\n')}\n`;
}
