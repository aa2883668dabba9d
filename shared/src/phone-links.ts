/**
 * Where a phone on the same network opens the controller page, for each host that lanHosts (host-names.ts) finds:
 * printed by `npm start` and logged by the gateway.
 */
import type { Config } from './config.js';

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
