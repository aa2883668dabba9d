/**
 * The broker's doors: MQTT over TCP, over WebSocket (browser tools), and over TLS. Each one is a plain server around
 * the broker's `handle`, and each bounds what a stranger can do before MQTT begins: the TLS handshake and the
 * WebSocket handshake get the same 10 s as every HTTP door of ours (REQUEST_LIMITS, TLS_HANDSHAKE_TIMEOUT_MS), a bad
 * handshake gets its 4xx, and nothing a listener reports after it listens (a failed accept()) escapes as an exception.
 */
import { lstatSync, rmSync, type Stats } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createServer as createTlsServer } from 'node:tls';
import {
  badRequest,
  dropSilentSockets,
  errorCode,
  errorMessage,
  http,
  keepListening,
  listen,
  REQUEST_LIMITS,
  type RefusalLog,
  recordBadTarget,
  refuseHandshake,
  requestTarget,
  socketAccepts,
  TLS_HANDSHAKE_TIMEOUT_MS,
} from '@gravity-led/shared';
import { createWebSocketStream, WebSocketServer } from 'ws';

/** What a listener hands each new connection to: the broker (behind the packet-size guard). */
export interface ConnectionHandler {
  /** `openedAt`: when the connection's TCP socket was accepted (Date.now()), before any TLS or WebSocket handshake. */
  handle(connection: Duplex, req: IncomingMessage | undefined, openedAt: number): void;
}

export interface Listener {
  readonly name: string;
  /** The bound TCP port; 0 for the Unix socket, which has `path` instead. */
  readonly port: number;
  readonly path?: string;
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

export async function tcpListener(
  broker: ConnectionHandler,
  port: number,
  host: string | undefined,
  refusals: RefusalLog,
): Promise<Listener> {
  const server = createNetServer({ noDelay: true }, (socket) => broker.handle(socket, undefined, Date.now()));
  const close = closeWithConnections(server);
  const bound = await listen(server, port, host);
  keepListening(server, refusals);
  return { name: 'mqtt', port: bound, close };
}

/**
 * MQTT over a Unix domain socket at `path` (BROKER_SOCKET): for clients on this machine, which `npm start` makes its
 * led-driver (docs/performance.md: a write and a read on a Unix socket cost the kernel about half what loopback TCP
 * does, on each side, for every gravity value, state and acknowledgement). The same broker behind it as behind every
 * door: the packet-size guard, the CONNECT deadline, the accounts and their permissions.
 *
 * Who may connect is the file system's: connecting needs write permission on the socket file, which is created the
 * owner's alone (0600), in DATA_DIR, itself the owner's alone (0700). A socket file left by a
 * broker that was killed (a Unix socket file outlives its listener) is replaced; one that a running broker still
 * answers on is not taken over, nor is anything at `path` that is not a socket.
 */
export async function unixListener(broker: ConnectionHandler, path: string, refusals: RefusalLog): Promise<Listener> {
  let existing: Stats | undefined;
  try {
    existing = lstatSync(path);
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw error;
  }
  if (existing && !existing.isSocket()) throw new Error(`${path} exists and is not a socket: not replaced`);
  if (existing) {
    if (await socketAccepts(path)) throw new Error(`another broker listens on ${path}`);
    rmSync(path, { force: true });
  }
  const server = createNetServer((socket) => broker.handle(socket, undefined, Date.now()));
  const close = closeWithConnections(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // The socket file is created with the process's umask: 0177 makes it 0600, so that nobody else may connect
    // from its first moment (a chmod after listen() would leave a moment open).
    const umask = process.umask(0o177);
    try {
      server.listen({ path }, () => {
        server.off('error', reject);
        resolve();
      });
    } finally {
      process.umask(umask);
    }
  });
  keepListening(server, refusals);
  // Node removes the socket file when the server closes.
  return { name: 'mqtt-unix', port: 0, path, close };
}

/** A key naming one TCP connection while it lives: its remote address and port. */
function peer(socket: { remoteAddress?: string | undefined; remotePort?: number | undefined }): string {
  return `${socket.remoteAddress}|${socket.remotePort}`;
}

export async function tlsListener(
  broker: ConnectionHandler,
  port: number,
  tls: { cert: Buffer; key: Buffer },
  host: string | undefined,
  refusals: RefusalLog,
): Promise<Listener> {
  // When each TCP connection was accepted, so that the CONNECT deadline counts the TLS handshake too. A TLS server
  // hands over a new TLSSocket, not the TCP socket it saw (whose events it keeps to itself), so the two are matched
  // by their remote address and port; an entry lives no longer than a handshake may.
  const accepted = new Map<string, number>();
  const server = createTlsServer(
    // Node's default handshakeTimeout is 120 s, during which a connection that never says a word is held.
    { cert: tls.cert, key: tls.key, handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS },
    (socket) => {
      socket.setNoDelay(true);
      const key = peer(socket);
      const openedAt = accepted.get(key) ?? Date.now();
      accepted.delete(key);
      broker.handle(socket, undefined, openedAt);
    },
  );
  // A handshake that fails or times out is reported here, and a tls.Server (unlike an https one) leaves the socket
  // open after it: without this, a connection that never sends its ClientHello would be held for good.
  server.on('tlsClientError', (error, socket) => {
    refusals.record('tls-handshake', 'a TLS handshake failed or did not finish within 10 s; the connection was closed', {
      err: error.message,
      remote: socket.remoteAddress,
    });
    socket.destroy();
  });
  server.on('connection', (socket: Socket) => {
    const key = peer(socket);
    accepted.set(key, Date.now());
    setTimeout(() => accepted.delete(key), TLS_HANDSHAKE_TIMEOUT_MS).unref();
  });
  const close = closeWithConnections(server);
  const bound = await listen(server, port, host);
  keepListening(server, refusals);
  return { name: 'mqtts', port: bound, close };
}

/** Largest WebSocket message the MQTT-over-WebSocket door accepts; MQTT packets here are small. */
const MAX_WS_MESSAGE = 64 * 1024;

export async function webSocketListener(
  broker: ConnectionHandler,
  port: number,
  host: string | undefined,
  refusals: RefusalLog,
): Promise<Listener> {
  // node:http through shared's builtins (loaded as CommonJS, so its lazy exports stay unloaded).
  const server = dropSilentSockets(
    http.createServer(REQUEST_LIMITS, (req, res) => {
      const target = requestTarget(req);
      if (!target) {
        recordBadTarget(refusals, req);
        badRequest(res);
      } else res.writeHead(426, { 'content-type': 'text/plain' }).end('MQTT over WebSocket: connect with an MQTT client\n');
    }),
  );
  const accepted = new WeakMap<Socket, number>();
  server.on('connection', (socket: Socket) => accepted.set(socket, Date.now()));
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_WS_MESSAGE,
    handleProtocols: (protocols) => (protocols.has('mqtt') ? 'mqtt' : protocols.has('mqttv3.1') ? 'mqttv3.1' : false),
  });
  const upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const target = requestTarget(req);
    if (!target) {
      recordBadTarget(refusals, req);
      refuseHandshake(socket, 400, 'bad request target');
      return;
    }
    // Any path: tools differ (`/` for MQTT Explorer, `/mqtt` for mqtt.js, HiveMQ and EMQX, `/ws` for RabbitMQ's
    // convention), and Mosquitto's websockets listener takes every path too. The account is checked at CONNECT.
    wss.handleUpgrade(req, socket, head, (ws) => {
      const stream = createWebSocketStream(ws);
      // Errors of a single connection (a client vanishing mid-frame) concern only that connection.
      stream.on('error', () => ws.terminate());
      broker.handle(stream, req, accepted.get(req.socket) ?? Date.now());
    });
  };
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    try {
      upgrade(req, socket, head);
    } catch (error) {
      refusals.record('internal-error', 'a WebSocket upgrade failed inside the broker; the socket was closed', {
        err: errorMessage(error),
      });
      socket.destroy();
    }
  });
  const bound = await listen(server, port, host);
  keepListening(server, refusals);
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
