/**
 * The names and addresses by which phones reach this machine: what the generated certificate must cover, and where
 * the printed phone links point. PUBLIC_HOSTS when set; else, outside a container, the machine's own.
 */
import { type NetworkInterfaceInfo, hostname as osHostname, networkInterfaces as osNetworkInterfaces } from 'node:os';
import { runningInContainer } from './container.js';

/** The names and addresses a certificate must cover. */
export interface HostNames {
  readonly dns: readonly string[];
  readonly ips: readonly string[];
}

type Interfaces = ReturnType<typeof osNetworkInterfaces>;

export interface MachineOptions {
  readonly hostname?: string;
  readonly interfaces?: Interfaces;
  /** PUBLIC_HOSTS: the names or addresses phones use, where the machine cannot see them itself (a container). */
  readonly extra?: readonly string[];
  /** Whether the machine's own host name and addresses count (default: yes, see ownNamesCount). */
  readonly own?: boolean;
}

/**
 * Whether the machine's own host name and addresses are the ones phones use. Not when PUBLIC_HOSTS names them, and
 * not in a container: there they are the container's (a random host name, a bridge address), which change with every
 * re-created container and would force a new certificate, and a new warning on the phone, after each update.
 */
export function ownNamesCount(publicHosts: readonly string[], inContainer = runningInContainer()): boolean {
  return publicHosts.length === 0 && !inContainer;
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

export function isIpAddress(value: string): boolean {
  return IPV4.test(value) || value.includes(':');
}

/**
 * The machine's own addresses that phones can use, in the order the system lists them: not internal (loopback), and
 * no IPv6 link-local address, which needs a zone index that neither a URL nor a browser's address bar can carry.
 */
function ownAddresses(interfaces: Interfaces): NetworkInterfaceInfo[] {
  return Object.values(interfaces)
    .flatMap((list) => list ?? [])
    .filter((address) => !address.internal && !(address.family === 'IPv6' && /^fe[89ab]/i.test(address.address)));
}

/**
 * Where phones reach this machine: PUBLIC_HOSTS when set, else the machine's LAN addresses (IPv4 before IPv6).
 * In a container without PUBLIC_HOSTS: none, the addresses are the container's.
 */
export function lanHosts(
  publicHosts: readonly string[] = [],
  interfaces: Interfaces = osNetworkInterfaces(),
  inContainer = runningInContainer(),
): string[] {
  if (!ownNamesCount(publicHosts, inContainer)) return [...publicHosts];
  const addresses = ownAddresses(interfaces);
  const v4 = addresses.filter((a) => a.family === 'IPv4').map((a) => a.address);
  const v6 = addresses.filter((a) => a.family !== 'IPv4').map((a) => a.address);
  return [...new Set([...v4, ...v6])];
}

/** IPv6 in its one canonical spelling (URL parsing compresses zeros and lower-cases), so sets compare exactly. */
function canonicalIp(ip: string): string {
  if (!ip.includes(':')) return ip;
  return new URL(`http://[${ip.replace(/%.*$/, '')}]/`).hostname.slice(1, -1);
}

/**
 * What the generated certificate covers: `localhost`, 127.0.0.1, ::1, PUBLIC_HOSTS, and (when `own`) the host name,
 * `HOSTNAME.local` (mDNS, how a Pi is usually reached) and the machine's own addresses (ownAddresses).
 */
export function machineHostNames(options: MachineOptions = {}): HostNames {
  const dns = new Set<string>(['localhost']);
  const ips = new Set<string>(['127.0.0.1', '::1']);
  const own = options.own ?? true;
  const host = (options.hostname ?? osHostname()).toLowerCase();
  if (own && /^[a-z0-9-]+(\.[a-z0-9-]+)*$/.test(host)) {
    dns.add(host);
    dns.add(`${host.split('.')[0]}.local`);
  }
  if (own) for (const { address } of ownAddresses(options.interfaces ?? osNetworkInterfaces())) ips.add(canonicalIp(address));
  for (const name of options.extra ?? []) {
    if (isIpAddress(name)) ips.add(canonicalIp(name));
    else dns.add(name.toLowerCase());
  }
  return { dns: [...dns], ips: [...ips] };
}
