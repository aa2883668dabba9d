/**
 * The HTTP endpoints for orchestrators and Prometheus, answered the same way by the gateway (on GATEWAY_PORT, next
 * to the phone page) and by the led-driver (on METRICS_PORT): `/healthz` (the process answers), `/readyz` (ready to
 * do its job, else 503) and `/metrics` (Prometheus text exposition 0.0.4). With them, what every small server of ours
 * answers: 405 to anything but GET and HEAD, 404 to a path nobody serves, 400 to a request target that is not a URL,
 * and what bounds a stranger's requests (REQUEST_LIMITS). No request, however malformed, escapes as an exception.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { http } from './builtins.js';
import { errorMessage } from './errors.js';
import type { Logger } from './logger.js';
import { METRICS_CONTENT_TYPE } from './metrics.js';
import { keepListening, listen } from './net.js';
import { RefusalLog } from './refusal-log.js';

export interface Health {
  /** Ready to do its job (connected to the broker, so gravity can flow): `/readyz` says 200, else 503. */
  ready(): boolean;
  /** The `/metrics` body; absent means no such route. */
  metrics?(): string;
}

/** A server's own routes, tried after the health endpoints: true when one answered the request. */
export type Routes = (path: string, req: IncomingMessage, res: ServerResponse) => boolean;

/**
 * A request (or WebSocket handshake) must arrive whole within 10 s, not Node's default minutes: a client dribbling
 * its headers, or one that connects and says nothing, would otherwise hold a socket that long. Our pages and
 * handshakes are a few hundred bytes. Node enforces these timeouts when it checks its connections, every 30 s by
 * default, which would let a silent socket live 40 s: it checks every second here.
 */
export const REQUEST_LIMITS = { headersTimeout: 10_000, requestTimeout: 10_000, connectionsCheckingInterval: 1000 } as const;
/**
 * Node's request timeouts start with the request's first byte: a connection that never sends one is held until
 * the socket's own inactivity timeout, which Node leaves off. Every server of ours sets it to the same 10 s
 * (a WebSocket, once upgraded, is no longer subject to it: ws clears it, and the heartbeat takes over).
 */
export function dropSilentSockets<T extends Server>(server: T): T {
  server.setTimeout(REQUEST_LIMITS.requestTimeout);
  return server;
}

/**
 * On an https port the TLS handshake comes first, and until it is done the HTTP limits above do not apply: it gets
 * the same 10 s (Node's `handshakeTimeout` default is 120 s, during which a connection that never says a word is held).
 */
export const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

/** How often the repeats of refused requests are summed up in one log line (the first of each kind is logged at once). */
export const REFUSAL_SUMMARY_MS = 60_000;

/** A refusal log for a server's door: the first refusal of each kind a warning, then one summary a minute. */
export function doorRefusals(log: Logger): RefusalLog {
  return new RefusalLog(log, { summary: { everyMs: REFUSAL_SUMMARY_MS, message: 'refused in the last minute' } });
}

/**
 * The request target as a URL, or undefined when it is none. RFC 9112 section 3.2 lets a client send the
 * absolute-form (`GET http://host:port/path`), which a server "MUST accept"; Node's parser passes it through as it
 * came, so `http://x:99999/` (a port out of range) or `http://[` (a broken IPv6 literal) reach `new URL`, which
 * throws. Only the path and query are ours to read: the authority of an absolute-form target is ignored.
 */
export function requestTarget(req: Pick<IncomingMessage, 'url'>): URL | undefined {
  try {
    return new URL(req.url ?? '/', 'http://localhost');
  } catch {
    return undefined;
  }
}

/** Logs (the first, then counts) a request refused because its target is not a URL. */
export function recordBadTarget(refusals: RefusalLog, req: Pick<IncomingMessage, 'socket'>): void {
  refusals.record('bad-request', 'refused a request target that is not a URL (400)', { remote: req.socket.remoteAddress });
}

/** The answer to a request target that is not a URL: 400, the connection closed. */
export function badRequest(res: ServerResponse): void {
  res.writeHead(400, { 'content-type': 'text/plain', connection: 'close' }).end('bad request target\n');
}

/**
 * Answers a WebSocket handshake with an HTTP error and closes: what a client refused before the upgrade gets (an
 * upgrade has no ServerResponse: the answer is written to the socket). The socket is destroyed once the answer is
 * written, not merely ended: an HTTP server's sockets allow half-open connections, so a stranger who never closes its
 * side would otherwise keep every refused socket (as ws does in its abortHandshake).
 */
export function refuseHandshake(socket: Duplex, status: number, message: string): void {
  const body = `${message}\n`;
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/**
 * The request handler of a server with the health endpoints: `routes` after them, 404 when none answers. Refusals
 * (`bad-request`) and anything thrown (`internal-error`, answered with 500) go to `refusals`, never up the stack.
 */
export function createHealthHandler(
  health: Health,
  refusals: RefusalLog,
  routes?: Routes,
): (req: IncomingMessage, res: ServerResponse) => void {
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const target = requestTarget(req);
    if (!target) {
      recordBadTarget(refusals, req);
      badRequest(res);
      return;
    }
    const path = target.pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/healthz' || path === '/readyz') {
      const ok = path === '/healthz' || health.ready();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify({ status: ok ? 'ok' : 'unavailable' }));
      return;
    }
    if (path === '/metrics' && health.metrics) {
      res.writeHead(200, { 'content-type': METRICS_CONTENT_TYPE, 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : health.metrics());
      return;
    }
    if (routes?.(path, req, res)) return;
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  };
  return (req, res) => {
    try {
      handle(req, res);
    } catch (error) {
      refusals.record('internal-error', 'a request failed inside the server (500)', { err: errorMessage(error), url: clip(req.url) });
      if (res.headersSent) res.destroy();
      else res.writeHead(500, { 'content-type': 'text/plain', connection: 'close' }).end('internal error\n');
    }
  };
}

/** A request target for a log line: short, whatever a stranger sent. */
export function clip(text: string | undefined, max = 100): string {
  const value = text ?? '';
  return value.length > max ? `${value.slice(0, max)}…` : value;
}

/**
 * Connections the led-driver's METRICS_PORT keeps at once (Prometheus and the healthcheck need one each); more are
 * closed on arrival, so that sockets opened from the LAN and never used cannot pile up in the process that drives the
 * LEDs. Each is cut after 10 s without a whole request, or without a byte.
 */
export const HEALTH_MAX_CONNECTIONS = 16;

export interface HealthServer {
  readonly port: number;
  /** What its door refused so far (`bad-request`, ...), for metrics. */
  readonly refusals: RefusalLog;
  close(): Promise<void>;
}

/** A port with the health endpoints alone (the led-driver's METRICS_PORT); port 0 lets the OS choose. */
export async function startHealthServer(port: number, host: string | undefined, health: Health, log: Logger): Promise<HealthServer> {
  const refusals = doorRefusals(log);
  const server = dropSilentSockets(http.createServer(REQUEST_LIMITS, createHealthHandler(health, refusals)));
  server.maxConnections = HEALTH_MAX_CONNECTIONS;
  const bound = await listen(server, port, host);
  keepListening(server, refusals);
  return {
    port: bound,
    refusals,
    close: () =>
      new Promise<void>((done) => {
        refusals.stop();
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}
