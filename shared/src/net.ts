/** Small socket helpers that services, `npm start`, the tests and the benchmark all need, written once. */
import { connect, createServer, type NetConnectOpts, type Server } from 'node:net';
import { errorMessage } from './errors.js';
import type { RefusalLog } from './refusal-log.js';

/** Starts `server` listening and resolves with the port it got (the asked one, or the OS's choice for 0). */
export function listen(server: Server, port: number, host: string | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}

/**
 * Keeps a listening server listening through the errors it may still emit once it listens (a failed accept():
 * EMFILE, ENFILE, ENOMEM). Without a listener an 'error' event is thrown, and one stranger's connection would end
 * the process; with it the error is logged (the first of each code, then counted) and the server goes on.
 */
export function keepListening(server: Server, refusals: RefusalLog): void {
  server.on('error', (error: NodeJS.ErrnoException) => {
    refusals.record(`listener-${error.code ?? 'error'}`, 'a listening socket reported an error; still listening', {
      err: errorMessage(error),
    });
  });
}

/** True when something accepts a connection made with `options` (a TCP port, or a Unix socket's path). */
function accepts(options: NetConnectOpts): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(options);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** True when something accepts TCP connections on `port`: how `npm start` knows a service is up. */
export function portAccepts(port: number, host = '127.0.0.1'): Promise<boolean> {
  return accepts({ port, host });
}

/** True when something accepts connections on the Unix socket at `path`: whether a socket file is still in use. */
export function socketAccepts(path: string): Promise<boolean> {
  return accepts({ path });
}

/** A TCP port that was free a moment ago (the OS picks it, we release it): for tests and the benchmark. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
