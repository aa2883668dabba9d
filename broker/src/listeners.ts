/** The broker's doors: MQTT over TCP, over WebSocket (browser tools), and over TLS. Each one is a plain server around the broker's `handle`. */
import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import { createServer as createNetServer, type Server } from 'node:net';
import type { Duplex } from 'node:stream';
import { createServer as createTlsServer } from 'node:tls';
import { createWebSocketStream, WebSocketServer } from 'ws';

/** What a listener hands each new connection to: the broker (behind the packet-size guard). */
export interface ConnectionHandler {
  handle(connection: Duplex, req?: IncomingMessage): void;
}

export interface Listener {
  readonly name: string;
  readonly port: number;
  close(): Promise<void>;
}

function listen(server: Server, port: number, host: string | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

export async function tcpListener(broker: ConnectionHandler, port: number, host?: string): Promise<Listener> {
  const server = createNetServer({ noDelay: true }, (socket) => broker.handle(socket));
  const bound = await listen(server, port, host);
  return { name: 'mqtt', port: bound, close: () => closeServer(server) };
}

export async function tlsListener(
  broker: ConnectionHandler,
  port: number,
  tls: { cert: Buffer; key: Buffer },
  host?: string,
): Promise<Listener> {
  const server = createTlsServer({ cert: tls.cert, key: tls.key }, (socket) => {
    socket.setNoDelay(true);
    broker.handle(socket);
  });
  const bound = await listen(server, port, host);
  return { name: 'mqtts', port: bound, close: () => closeServer(server) };
}

/** Largest WebSocket message the MQTT-over-WebSocket door accepts; MQTT packets here are small. */
const MAX_WS_MESSAGE = 64 * 1024;

export async function webSocketListener(broker: ConnectionHandler, port: number, host?: string): Promise<Listener> {
  const http = createHttpServer((_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain' }).end('MQTT over WebSocket: connect with an MQTT client\n');
  });
  const wss = new WebSocketServer({
    server: http,
    maxPayload: MAX_WS_MESSAGE,
    handleProtocols: (protocols) => (protocols.has('mqtt') ? 'mqtt' : protocols.has('mqttv3.1') ? 'mqttv3.1' : false),
  });
  wss.on('connection', (socket, req) => {
    const stream = createWebSocketStream(socket);
    // Errors of a single connection (a client vanishing mid-frame) concern only that connection.
    stream.on('error', () => socket.terminate());
    broker.handle(stream, req);
  });
  const bound = await listen(http, port, host);
  return {
    name: 'mqtt-ws',
    port: bound,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      wss.close();
      await closeServer(http);
    },
  };
}
