/**
 * How a controller proves it holds the token: at the handshake (header, subprotocol or query) or in its first frame
 * (protocol.ts), and how many may be waiting to do so, from one source address and in all.
 */
import type { IncomingMessage } from 'node:http';
import { secretEquals } from '@gravity-led/shared';
import { tokenFromProtocols } from './protocol.js';

export type AuthMode = 'token' | 'none';

/** A client that did not present the token at the handshake must send its auth frame within this time. */
export const AUTH_TIMEOUT_MS = 5000;

/**
 * Connections that have not authenticated yet (each may wait up to AUTH_TIMEOUT_MS for its auth frame). Beyond
 * this many, new ones without a token are refused with HTTP 503, so a flood of idle sockets cannot pile up.
 */
export const MAX_PENDING_AUTH = 32;
/**
 * Of those, at most this many from one source address (an IPv6 /64 counts as one): beyond it HTTP 429. One stranger
 * cannot fill the pending places alone, and the page, which presents its token at the handshake, needs none.
 */
export const MAX_PENDING_AUTH_PER_ADDRESS = 4;

/** Where the token presented at the handshake came from; a wrong one from a subprotocol is told apart (see upgrade). */
export type TokenSource = 'header' | 'subprotocol' | 'query';

/**
 * The token presented at the handshake, and how: `Authorization: Bearer TOKEN`, else the subprotocol a page offers
 * (protocol.ts, TOKEN_PROTOCOL_PREFIX), else `?token=TOKEN`; undefined if none. `target` is the parsed request target.
 */
export function handshakeToken(req: IncomingMessage, target: URL): { token: string; source: TokenSource } | undefined {
  const header = req.headers.authorization;
  if (header !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return { token: match?.[1] ?? '', source: 'header' };
  }
  const offered = req.headers['sec-websocket-protocol'];
  if (offered !== undefined) {
    const token = tokenFromProtocols(offered.split(',').map((p) => p.trim()));
    if (token !== undefined) return { token, source: 'subprotocol' };
  }
  const query = target.searchParams.get('token');
  return query === null ? undefined : { token: query, source: 'query' };
}

export function tokenMatches(presented: string | undefined, expected: string): boolean {
  return secretEquals(presented, expected);
}

/**
 * The key under which pending connections are counted: the IPv4 address (also when it arrives IPv4-mapped, as on a
 * dual-stack socket), or the first 64 bits of an IPv6 address, since one host may use any address of its /64
 * (RFC 4941 temporary addresses, RFC 8981).
 */
export function sourceKey(address: string | undefined): string {
  if (!address) return 'unknown';
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped?.[1]) return mapped[1];
  if (!address.includes(':')) return address;
  const [head = '', tail] = (address.split('%')[0] ?? '').toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}
