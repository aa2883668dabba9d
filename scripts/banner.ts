/** What `npm start` tells a person: where to point the phone, the token, and how to reach MQTT. */
import { networkInterfaces } from 'node:os';
import { type Config, type Secrets, topicsFor } from '@gravity-led/shared';

/** The machine's LAN addresses (IPv4 first), where a phone on the same network can reach it. */
export function lanAddresses(): string[] {
  const v4: string[] = [];
  const v6: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const address of list ?? []) {
      if (address.internal) continue;
      if (address.family === 'IPv4') v4.push(address.address);
      else if (!address.address.startsWith('fe80')) v6.push(`[${address.address}]`);
    }
  }
  return [...v4, ...v6];
}

export function phoneLinks(config: Config, token: string, hosts: string[]): string[] {
  const fragment = config.GATEWAY_AUTH === 'token' ? `#token=${encodeURIComponent(token)}` : '';
  return hosts.map((host) =>
    config.GATEWAY_HTTPS_PORT > 0
      ? `https://${host}:${config.GATEWAY_HTTPS_PORT}/${fragment}`
      : `http://${host}:${config.GATEWAY_PORT}/${fragment}`,
  );
}

export function printBanner(config: Config, secrets: Secrets & { readonly dataDir: string }): void {
  const hosts = lanAddresses();
  const topics = topicsFor(config.TOPIC_PREFIX);
  const op = secrets.operator;
  const lines = [
    '',
    'gravity-led is running.',
    '',
    'Phone (open on a phone on the same network):',
    ...phoneLinks(config, secrets.gatewayToken, hosts.length > 0 ? hosts : ['localhost']).map((l) => `  ${l}`),
    `  on this machine: http://localhost:${config.GATEWAY_PORT}/${config.GATEWAY_AUTH === 'token' ? `#token=${encodeURIComponent(secrets.gatewayToken)}` : ''}`,
    `WebSocket: ws://HOST:${config.GATEWAY_PORT}/${config.GATEWAY_HTTPS_PORT > 0 ? ` and wss://HOST:${config.GATEWAY_HTTPS_PORT}/` : ''}`,
    `Access token: ${config.GATEWAY_AUTH === 'token' ? secrets.gatewayToken : '(GATEWAY_AUTH=none: no token needed)'}`,
    '',
    `MQTT: mqtt://${hosts[0] ?? 'localhost'}:${config.BROKER_PORT}${config.BROKER_WS_PORT > 0 ? `  (WebSocket: ws://${hosts[0] ?? 'localhost'}:${config.BROKER_WS_PORT})` : ''}`,
    `  username: ${op.username}`,
    `  password: ${op.password}`,
    `  watch:  mosquitto_sub -h localhost -p ${config.BROKER_PORT} -u '${op.username}' -P '${op.password}' -t '${config.TOPIC_PREFIX}/#' -v`,
    `  inject: mosquitto_pub -h localhost -p ${config.BROKER_PORT} -u '${op.username}' -P '${op.password}' -t '${topics.gravity}' -m '0 40 91.6'`,
    `Secrets are kept in ${secrets.dataDir}. Press Ctrl+C to stop.`,
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}
