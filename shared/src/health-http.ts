/**
 * The HTTP endpoints for orchestrators and Prometheus, answered the same way by the gateway (on GATEWAY_PORT, next
 * to the phone page) and by the led-driver (on METRICS_PORT): `/healthz` (the process answers), `/readyz` (ready to
 * do its job, else 503) and `/metrics` (Prometheus text exposition 0.0.4). With them, what every small server of ours
 * answers: 405 to anything but GET and HEAD, 404 to a path nobody serves.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { METRICS_CONTENT_TYPE } from './metrics.js';
import { listen } from './net.js';

export interface Health {
  /** Ready to do its job (connected to the broker, so gravity can flow): `/readyz` says 200, else 503. */
  ready(): boolean;
  /** The `/metrics` body; absent means no such route. */
  metrics?(): string;
}

/** A server's own routes, tried after the health endpoints: true when one answered the request. */
export type Routes = (path: string, req: IncomingMessage, res: ServerResponse) => boolean;

export function createHealthHandler(health: Health, routes?: Routes): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
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
}

/**
 * A request must arrive whole within 10 s, not Node's default minutes: a client dribbling its headers would otherwise
 * hold a socket that long. The page, a handshake and a scrape are a few hundred bytes. Checked every second.
 */
export const HTTP_REQUEST_LIMITS = { headersTimeout: 10_000, requestTimeout: 10_000, connectionsCheckingInterval: 1000 } as const;

/**
 * Connections the led-driver's METRICS_PORT keeps at once (Prometheus and the healthcheck need one each); more are
 * closed on arrival, so that sockets opened from the LAN and never used cannot pile up in the process that drives the
 * LEDs. Each is cut after 10 s without a whole request, or without a byte.
 */
export const HEALTH_MAX_CONNECTIONS = 16;

export interface HealthServer {
  readonly port: number;
  close(): Promise<void>;
}

/** A port with the health endpoints alone (the led-driver's METRICS_PORT); port 0 lets the OS choose. */
export async function startHealthServer(port: number, host: string | undefined, health: Health): Promise<HealthServer> {
  const server = createServer(HTTP_REQUEST_LIMITS, createHealthHandler(health));
  server.maxConnections = HEALTH_MAX_CONNECTIONS;
  // Node's request limits start with the first byte: a socket that sends nothing is cut by inactivity instead.
  server.setTimeout(HTTP_REQUEST_LIMITS.requestTimeout);
  const bound = await listen(server, port, host);
  return {
    port: bound,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}
