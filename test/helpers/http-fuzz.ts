/**
 * Hostile HTTP/1.1 requests for the doors' fuzz tests: request lines in every form RFC 9112 section 3.2 allows
 * (origin, absolute, authority, asterisk) and many it does not, with hostile headers (Host, Upgrade, the WebSocket
 * handshake's, Authorization, Content-Length, Transfer-Encoding), and a raw client that sends one and reads the status.
 */
import { connect as tcpConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { mutate } from './fuzz.js';
import type { Prng } from './prng.js';

const METHODS = ['GET', 'GET', 'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'TRACE', 'PATCH', 'CONNECT', 'get', 'G ET', 'BREW', ''];
const PATHS = [
  '/',
  '/ws',
  '/healthz',
  '/readyz',
  '/metrics',
  '/view',
  '/config.json',
  '/index.html',
  '/?token=x',
  '/?role=viewer',
  '/?token=&role=viewer&role=controller',
  '//evil.example/x',
  '/%',
  '/%zz',
  '/%00',
  '/..%2f..%2fetc%2fpasswd',
  '/../../etc/passwd',
  '/ü',
  '/\u00ff',
  '/#frag',
  '/?%',
  '',
];
const SCHEMES = ['http', 'https', 'ws', 'wss', 'HTTP', 'ftp', 'javascript', 'x', 'file', ''];
const HOSTS = [
  'x',
  '127.0.0.1',
  'localhost',
  '[::1]',
  '[',
  '[::1',
  ']',
  '[zz]',
  '[::ffff:1.2.3.4]',
  '',
  'a b',
  'x@y',
  '%41',
  'ü.example',
  '...',
];
const PORTS = ['', ':', ':99999', ':65536', ':65535', ':-1', ':0', ':80', ':abc', ':1e3', `:${'9'.repeat(30)}`, ':0x50'];
const VERSIONS = ['HTTP/1.1', 'HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/0.9', 'HTTP/1.1 x', 'HTTP/1', 'http/1.1', ''];

/** An absolute-form target: `scheme://host:port/path`, any part possibly broken (`http://x:99999/`, `http://[`). */
function absoluteTarget(rng: Prng): string {
  const path = rng.chance(0.2) ? '' : rng.pick(PATHS);
  return `${rng.pick(SCHEMES)}://${rng.pick(HOSTS)}${rng.pick(PORTS)}${path}`;
}

function target(rng: Prng): string {
  switch (rng.int(0, 5)) {
    case 0:
    case 1:
      return absoluteTarget(rng);
    case 2:
      return rng.pick(PATHS);
    case 3:
      // Authority-form (CONNECT's) and asterisk-form (OPTIONS'), with any method.
      return rng.pick(['*', `${rng.pick(HOSTS)}${rng.pick(PORTS)}`, 'x:99999', '[::1]:1']);
    case 4:
      return `/${Array.from({ length: rng.int(1, 60) }, () => String.fromCharCode(rng.int(33, 126))).join('')}`;
    default:
      return mutate(rng, rng.chance(0.5) ? absoluteTarget(rng) : rng.pick(PATHS));
  }
}

const HANDSHAKE = [
  'Upgrade: websocket',
  'Connection: Upgrade',
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
  'Sec-WebSocket-Version: 13',
] as const;

function headers(rng: Prng, host: string, upgrade: boolean): string[] {
  const lines: string[] = [];
  if (!rng.chance(0.1)) lines.push(`Host: ${rng.chance(0.8) ? host : rng.pick([...HOSTS, `${host}${rng.pick(PORTS)}`])}`);
  if (rng.chance(0.05)) lines.push('Host: second.example');
  if (upgrade) {
    for (const line of HANDSHAKE) if (!rng.chance(0.08)) lines.push(rng.chance(0.1) ? mutate(rng, line) : line);
  } else if (rng.chance(0.15)) {
    lines.push(rng.pick(['Upgrade: h2c', 'Upgrade: websocket', 'Upgrade: ', 'Upgrade: websocket, h2c']), 'Connection: Upgrade');
  }
  const extras = [
    () =>
      `Sec-WebSocket-Protocol: ${rng.pick(['gravity-led', 'gravity-led, gravity-led.token.bm90LXRoZS10b2tlbg', 'gravity-led.token.!!', ',,,', 'gravity-led.token.', `gravity-led.token.${'A'.repeat(rng.int(1, 3000))}`, ' , x'])}`,
    () =>
      `Authorization: ${rng.pick(['Bearer x', 'Bearer', 'Bearer  ', 'Basic dXNlcjpwYXNz', 'bearer not-the-token-0000000', '', 'Bearer a b'])}`,
    () => `Content-Length: ${rng.pick(['0', '5', '-1', 'abc', '99999999999999999999', '1, 2'])}`,
    () => 'Transfer-Encoding: chunked',
    () => `Sec-WebSocket-Version: ${rng.pick(['8', '13, 8', 'abc', ''])}`,
    () => `Sec-WebSocket-Extensions: ${rng.pick(['permessage-deflate', 'permessage-deflate; client_max_window_bits=99', 'x;;;'])}`,
    () => `Origin: ${rng.pick(['http://evil.example', 'null', '', 'http://[', 'http://x:99999'])}`,
    () => `X-Forwarded-For: ${rng.pick(['1.2.3.4', '[', 'a'.repeat(500)])}`,
    () =>
      rng.pick([
        'no colon here',
        ': no name',
        'Bad Name: x',
        'X-Fold: a',
        ' folded continuation',
        'X-Nul: a\u0000b',
        `X-Long: ${'x'.repeat(rng.int(100, 9000))}`,
      ]),
    () => `Cookie: ${'c=1; '.repeat(rng.int(1, 50))}`,
  ];
  for (let i = rng.int(0, 3); i > 0; i--) lines.push(rng.pick(extras)());
  return lines;
}

/** One hostile request, whole (headers ended), with a body now and then. */
export function hostileRequest(rng: Prng, host: string): string {
  const upgrade = rng.chance(0.4);
  const method = upgrade && rng.chance(0.9) ? 'GET' : rng.pick(METHODS);
  const line = `${method} ${target(rng)} ${rng.pick(VERSIONS)}`;
  const request = [line, ...headers(rng, host, upgrade), '', rng.chance(0.1) ? 'hello' : ''].join('\r\n');
  return rng.chance(0.1) ? mutate(rng, request) : request;
}

/** A door of a service: where it listens and whether it speaks TLS. */
export interface Door {
  readonly name: string;
  readonly port: number;
  readonly tls: boolean;
}

/**
 * Sends `request` on a fresh connection and resolves with the HTTP status of the answer (101 for an accepted upgrade),
 * or undefined when the connection closed (or `waitMs` passed) with no status line. The connection is closed after.
 */
export function sendRaw(door: Door, request: string | Buffer, waitMs = 2000): Promise<number | undefined> {
  return new Promise((resolve) => {
    const socket = door.tls
      ? tlsConnect({ host: '127.0.0.1', port: door.port, rejectUnauthorized: false })
      : tcpConnect({ host: '127.0.0.1', port: door.port });
    let received = '';
    let done = false;
    const finish = (status: number | undefined) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(status);
    };
    const timer = setTimeout(() => finish(statusOf(received)), waitMs);
    socket.on('error', () => finish(statusOf(received)));
    socket.on('close', () => finish(statusOf(received)));
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      if (received.includes('\r\n')) finish(statusOf(received));
    });
    socket.once(door.tls ? 'secureConnect' : 'connect', () => socket.write(request));
  });
}

function statusOf(received: string): number | undefined {
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(received);
  return match ? Number(match[1]) : undefined;
}

/** Runs `task` for 0..count-1 with at most `width` at a time. */
export async function inParallel(count: number, width: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < count) await task(next++);
    }),
  );
}
