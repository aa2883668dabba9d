import type { Socket } from 'node:net';

export { freePort, portAccepts } from '@gravity-led/shared';

/**
 * How long a server keeps the connection `open` makes (at most `capMs`, when the test gives up and closes it), from
 * the moment its TCP connection was established: what a door's timeouts are measured by.
 */
export function connectionLifetime(open: () => Socket, capMs: number): Promise<number> {
  return new Promise((resolve) => {
    const socket = open();
    let openedAt = Date.now();
    const cap = setTimeout(() => socket.destroy(), capMs);
    socket.once('connect', () => {
      openedAt = Date.now();
    });
    socket.on('error', () => {});
    socket.once('close', () => {
      clearTimeout(cap);
      resolve(Date.now() - openedAt);
    });
  });
}
