/** The broker's doors: MQTT over TCP, over WebSocket (browser tools), and over TLS. Each one is a plain server around the broker's `handle`. */
import type { IncomingMessage } from 'node:http';
import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createServer as createTlsServer } from 'node:tls';
import { http, listen } from '@gravity-led/shared';
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

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/**
 * Stops accepting and ends every connection still open. Aedes closes the clients it knows, but a socket that has
 * not sent CONNECT yet (a service reconnecting just then) is not one of them, and would hold the shutdown up.
 */
function closeWithConnections(server: Server): () => Promise<void> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return () => {
    const closed = closeServer(server);
    for (const socket of sockets) socket.destroy();
    return closed;
  };
}

export async function tcpListener(broker: ConnectionHandler, port: number, host?: string): Promise<Listener> {
  const server = createNetServer({ noDelay: true }, (socket) => broker.handle(socket));
  const close = closeWithConnections(server);
  const bound = await listen(server, port, host);
  return { name: 'mqtt', port: bound, close };
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
  const close = closeWithConnections(server);
  const bound = await listen(server, port, host);
  return { name: 'mqtts', port: bound, close };
}

/** Largest WebSocket message the MQTT-over-WebSocket door accepts; MQTT packets here are small. */
const MAX_WS_MESSAGE = 64 * 1024;

export async function webSocketListener(broker: ConnectionHandler, port: number, host?: string): Promise<Listener> {
  const server = http.createServer((_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain' }).end('MQTT over WebSocket: connect with an MQTT client\n');
  });
  const wss = new WebSocketServer({
    server,
    maxPayload: MAX_WS_MESSAGE,
    handleProtocols: (protocols) => (protocols.has('mqtt') ? 'mqtt' : protocols.has('mqttv3.1') ? 'mqttv3.1' : false),
  });
  wss.on('connection', (socket, req) => {
    const stream = createWebSocketStream(socket);
    // Errors of a single connection (a client vanishing mid-frame) concern only that connection.
    stream.on('error', () => socket.terminate());
    broker.handle(stream, req);
  });
  const bound = await listen(server, port, host);
  return {
    name: 'mqtt-ws',
    port: bound,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      wss.close();
      const closed = closeServer(server);
      server.closeAllConnections();
      await closed;
    },
  };
}
