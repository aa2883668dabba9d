/** The gateway assembled: MQTT bridge, HTTP and HTTPS servers, and the WebSocket controller server on both. */
import type { Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import {
  type Account,
  doorRefusals,
  dropSilentSockets,
  http as httpModule,
  keepListening,
  type Logger,
  listen,
  REQUEST_LIMITS,
  TLS_HANDSHAKE_TIMEOUT_MS,
  type Topics,
} from '@gravity-led/shared';
import type { AuthMode } from './auth.js';
import { ControllerServer } from './controller-server.js';
import { GatewayMetrics } from './gateway-metrics.js';
import { createRequestHandler, loadAssets } from './http-routes.js';
import { isQuiet, Measurements, STATS_INTERVAL_MS } from './measurements.js';
import { type HostedConnection, MqttBridge } from './mqtt-bridge.js';

export interface GatewayOptions {
  readonly host?: string;
  readonly port: number;
  /** 0 = off. */
  readonly httpsPort: number;
  readonly tls?: { cert: string | Buffer; key: string | Buffer };
  readonly auth: AuthMode;
  /** The token, or where to read it at each check (a followed secrets file). */
  readonly token: string | (() => string);
  readonly maxClients: number;
  readonly maxRate: number;
  readonly heartbeatMs?: number;
  readonly mqttUrl: string;
  /**
   * A broker hosted in this process: how to open a connection to it, used instead of `mqttUrl`, and its local client,
   * which carries the hot path (gravity, leds/state).
   */
  readonly hostedBroker?: HostedConnection;
  readonly account: Account;
  readonly topics: Topics;
  readonly log: Logger;
}

export interface RunningGateway {
  readonly port: number;
  readonly httpsPort: number;
  readonly controllers: ControllerServer;
  readonly bridge: MqttBridge;
  readonly metrics: GatewayMetrics;
  readonly measurements: Measurements;
  close(): Promise<void>;
}

export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const { log } = options;
  if (options.auth === 'none') log.warn('GATEWAY_AUTH=none: anyone who can reach the gateway can drive the LEDs');
  const bridge = new MqttBridge(options.mqttUrl, options.account, options.topics, log, options.hostedBroker);
  // One log and count of what is refused, at the HTTP routes and at the WebSocket door alike.
  const refusals = doorRefusals(log);
  // Read at scrape time only, once `controllers` exists.
  const metrics: GatewayMetrics = new GatewayMetrics(
    () => controllers,
    () => bridge.client.connected,
    refusals,
  );
  const measurements = new Measurements(metrics);
  const controllers = new ControllerServer({
    auth: options.auth,
    token: options.token,
    maxClients: options.maxClients,
    maxRate: options.maxRate,
    heartbeatMs: options.heartbeatMs,
    log,
    refusals,
    metrics: {
      frameAccepted: () => {
        metrics.frameAccepted();
        measurements.frameReceived();
      },
      frameRejected: (reason) => metrics.frameRejected(reason),
    },
    publish: (g, receivedAt) => {
      if (receivedAt === undefined) return bridge.publishGravity(g);
      const published = bridge.publishGravity(g, () => metrics.published(receivedAt));
      if (published) measurements.published(g, receivedAt);
      return published;
    },
    isAvailable: () => bridge.isAvailable,
    lastState: () => bridge.lastState,
    onOccupancy: (n, max) => {
      measurements.controllersChanged();
      bridge.publishClients(n, max);
    },
  });
  bridge.on('state', (state, retained) => {
    metrics.state(state, retained);
    measurements.state(state, retained);
    controllers.broadcastState(state);
  });
  // Once a second: ping the controllers, and tell every client the figures while a controller is connected, then
  // once more when they have gone quiet, so that a live view does not keep showing the last busy second.
  let quiet = true;
  const stats = setInterval(() => {
    controllers.probeLinks((ms) => measurements.linkRoundTrip(ms));
    const frame = measurements.snapshot();
    if (controllers.controllerCount === 0 && quiet) return;
    controllers.broadcastStats(frame);
    quiet = isQuiet(frame);
  }, STATS_INTERVAL_MS);
  stats.unref();
  bridge.on('availability', (available) => controllers.broadcastAvailability(available));
  bridge.on('max-clients', (n) => controllers.setMaxClients(n));
  bridge.publishClients(0, options.maxClients);

  let httpsPort = 0;
  const handler = createRequestHandler(
    loadAssets(),
    {
      ready: () => bridge.client.connected,
      metrics: () => metrics.render(),
    },
    refusals,
    () => ({ httpsPort }),
  );
  const servers: Server[] = [];
  const http = dropSilentSockets(httpModule.createServer({ noDelay: true, ...REQUEST_LIMITS }, handler));
  controllers.attach(http);
  servers.push(http);
  try {
    const port = await listen(http, options.port, options.host);
    keepListening(http, refusals);
    if (options.httpsPort > 0 && options.tls) {
      const https = dropSilentSockets(
        createHttpsServer(
          { cert: options.tls.cert, key: options.tls.key, noDelay: true, handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS, ...REQUEST_LIMITS },
          handler,
        ),
      );
      controllers.attach(https);
      servers.push(https);
      httpsPort = await listen(https, options.httpsPort, options.host);
      keepListening(https, refusals);
    }
    return {
      port,
      httpsPort,
      controllers,
      bridge,
      metrics,
      measurements,
      async close() {
        clearInterval(stats);
        controllers.close();
        refusals.stop();
        for (const server of servers) server.closeAllConnections();
        await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
        await bridge.close();
      },
    };
  } catch (error) {
    clearInterval(stats);
    controllers.close();
    refusals.stop();
    for (const server of servers) server.close();
    await bridge.close();
    throw error;
  }
}
