/**
 * The gateway's WebSocket door (ControllerServer) alone, in this process, on a real HTTP server and real sockets: for
 * tests that need to see the server side of a connection (a session's bufferedAmount) and hand it states as the MQTT
 * bridge would, without a broker.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ControllerServer } from '@gravity-led/gateway';
import { createLogger, type Logger } from '@gravity-led/shared';

export interface Door {
  readonly server: ControllerServer;
  /** The controller's URL, with the token. */
  readonly url: string;
  /** The server side of each connection, as ws holds it. */
  sessions(): { socket: { bufferedAmount: number } }[];
  close(): Promise<void>;
}

/** One controller place, frames forwarded up to 1000/s and published nowhere, `token` required; silent unless given `log`. */
export async function openDoor(token: string, log?: Logger): Promise<Door> {
  const server = new ControllerServer({
    auth: 'token',
    token,
    maxClients: 1,
    maxRate: 1000,
    log: log ?? createLogger('gateway', { LOG_LEVEL: 'silent', LOG_FORMAT: 'json' }),
    publish: () => true,
    isAvailable: () => true,
    lastState: () => undefined,
    onOccupancy: () => {},
  });
  const http: Server = createServer();
  server.attach(http);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return {
    server,
    url: `ws://127.0.0.1:${(http.address() as AddressInfo).port}/?token=${token}`,
    // The sessions are private to the door: a test looks at them as a debugger would, read-only.
    sessions: () => [...(server as unknown as { sessions: Set<{ socket: { bufferedAmount: number } }> }).sessions],
    close: async () => {
      server.close();
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    },
  };
}
