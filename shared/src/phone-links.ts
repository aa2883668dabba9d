/** Where a phone on the same network opens the controller page: printed by `npm start` and logged by the gateway. */
import { networkInterfaces } from 'node:os';
import type { Config } from './config.js';
import { runningInContainer } from './container.js';
import { ownNamesCount } from './host-names.js';

/**
 * Where phones reach this machine: PUBLIC_HOSTS when set, else the machine's LAN addresses (IPv4 before IPv6;
 * link-local IPv6 cannot go in a URL). In a container without PUBLIC_HOSTS: none, the addresses are the container's.
 */
export function lanHosts(
  publicHosts: readonly string[] = [],
  interfaces = networkInterfaces(),
  inContainer = runningInContainer(),
): string[] {
  if (!ownNamesCount(publicHosts, inContainer)) return [...publicHosts];
  const v4: string[] = [];
  const v6: string[] = [];
  for (const list of Object.values(interfaces)) {
    for (const address of list ?? []) {
      if (address.internal) continue;
      if (address.family === 'IPv4') v4.push(address.address);
      else if (!/^fe[89ab]/i.test(address.address)) v6.push(address.address);
    }
  }
  return [...new Set([...v4, ...v6])];
}

/** A host as it goes into a URL: IPv6 addresses in brackets. */
export function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** The token travels in the fragment: browsers never send it to the server or in a Referer header. */
export function phoneLink(
  config: Pick<Config, 'GATEWAY_AUTH' | 'GATEWAY_PORT' | 'GATEWAY_HTTPS_PORT'>,
  token: string,
  host: string,
): string {
  const fragment = config.GATEWAY_AUTH === 'token' ? `#token=${encodeURIComponent(token)}` : '';
  return config.GATEWAY_HTTPS_PORT > 0
    ? `https://${urlHost(host)}:${config.GATEWAY_HTTPS_PORT}/${fragment}`
    : `http://${urlHost(host)}:${config.GATEWAY_PORT}/${fragment}`;
}

export function phoneLinks(
  config: Pick<Config, 'GATEWAY_AUTH' | 'GATEWAY_PORT' | 'GATEWAY_HTTPS_PORT'>,
  token: string,
  hosts: readonly string[],
): string[] {
  return hosts.map((host) => phoneLink(config, token, host));
}
