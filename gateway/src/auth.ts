/** How a controller proves it holds the token: at the handshake (header or query) or in its first frame (protocol.ts). */
import type { IncomingMessage } from 'node:http';
import { secretEquals } from '@gravity-led/shared';

export type AuthMode = 'token' | 'none';

/** A client that did not present the token at the handshake must send its auth frame within this time. */
export const AUTH_TIMEOUT_MS = 5000;

/** The token presented at the handshake: `Authorization: Bearer TOKEN`, else `?token=TOKEN`; undefined if neither. */
export function handshakeToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (header !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return match ? match[1] : '';
  }
  const query = new URL(req.url ?? '/', 'http://gateway').searchParams.get('token');
  return query ?? undefined;
}

export function tokenMatches(presented: string | undefined, expected: string): boolean {
  return secretEquals(presented, expected);
}
