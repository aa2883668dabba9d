/**
 * The WebSocket door of the gateway: token check at the handshake, capacity, and the set of live sessions.
 * It is attached to the HTTP and the HTTPS server alike, so ws:// and wss:// behave the same.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { type Gravity, LatestValueThrottle, type LedState, type Logger, RefusalLog, VARIABLES } from '@gravity-led/shared';
import { WebSocketServer } from 'ws';
import { type AuthMode, handshakeToken, tokenMatches } from './auth.js';
import {
  CloseCode,
  CloseReason,
  encodeServerFrame,
  type HelloFrame,
  MAX_FRAME_BYTES,
  type Role,
  type ServerFrame,
  type StatsFrame,
} from './protocol.js';
import { type FrameMetrics, Session, type SessionHost } from './session.js';

/**
 * Connections that have not authenticated yet (each may wait up to AUTH_TIMEOUT_MS for its auth frame). Beyond
 * this many, new ones without a token are refused with HTTP 503, so a flood of idle sockets cannot pile up.
 */
export const MAX_PENDING_AUTH = 32;
/** Viewers (the live view) get the controllers' gravity vectors at most this often: enough for a smooth picture. */
export const VIEWER_GRAVITY_HZ = 30;

export interface ControllerServerOptions {
  readonly auth: AuthMode;
  readonly token: string;
  readonly maxClients: number;
  readonly maxRate: number;
  /**
   * How often a ping checks that each client is still there; one missed pong and the connection is dropped.
   * GATEWAY_HEARTBEAT_MS; its default when not given.
   */
  readonly heartbeatMs?: number;
  readonly log: Logger;
  /** Told of every frame's outcome; handed to every session as it is. */
  readonly metrics?: FrameMetrics;
  publish(gravity: Gravity, receivedAt?: number): boolean;
  readonly isAvailable: () => boolean;
  readonly lastState: () => LedState | undefined;
  /** Told whenever the number of controllers or the capacity changes. */
  onOccupancy(controllers: number, maxClients: number): void;
}

export class ControllerServer {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES, perMessageDeflate: false });
  private readonly sessions = new Set<Session>();
  /** Admitted controllers, oldest first, so that lowering the capacity closes the newest. */
  private readonly controllers: Session[] = [];
  /** Admitted viewers, who are sent the gravity vectors; kept apart so that with no viewer the gravity path costs nothing extra. */
  private readonly viewers = new Set<Session>();
  private readonly viewerFeed = new LatestValueThrottle<Gravity>(1000 / VIEWER_GRAVITY_HZ, (g) => this.broadcastGravity(g));
  private maxClients: number;
  private readonly heartbeat: NodeJS.Timeout;
  /** Wrong tokens at the handshake: the first (and every 1000th) is a warning, so guessing is not a log flood. */
  private readonly wrongTokens: RefusalLog;

  /** What every session is given: the settings it needs and the three calls it makes back. */
  private readonly host: SessionHost;

  constructor(private readonly options: ControllerServerOptions) {
    this.maxClients = options.maxClients;
    this.wrongTokens = new RefusalLog(options.log, { countField: 'total', warnEvery: 1000 });
    this.heartbeat = setInterval(() => {
      for (const session of this.sessions) session.heartbeat();
    }, options.heartbeatMs ?? VARIABLES.GATEWAY_HEARTBEAT_MS.default);
    this.heartbeat.unref();
    this.host = {
      token: options.auth === 'token' ? options.token : undefined,
      maxRate: options.maxRate,
      log: options.log,
      metrics: options.metrics,
      admit: (session) => this.admit(session),
      publish: (gravity, receivedAt) => this.publish(gravity, receivedAt),
      release: (session) => this.release(session),
    };
  }

  get controllerCount(): number {
    return this.controllers.length;
  }
  get viewerCount(): number {
    return this.viewers.size;
  }

  /** Routes WebSocket upgrades of an HTTP(S) server here. */
  attach(server: Server): void {
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(req, socket, head));
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const url = new URL(req.url ?? '/', 'http://gateway');
    if (url.pathname !== '/' && url.pathname !== '/ws') {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    let authenticated = this.options.auth === 'none';
    if (!authenticated) {
      const presented = handshakeToken(req);
      if (presented !== undefined) {
        if (!tokenMatches(presented, this.options.token)) {
          this.wrongTokens.record('wrong-token', 'refused a wrong token at the handshake', { remote: req.socket.remoteAddress });
          socket.end(
            'HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n\r\nwrong token\n',
          );
          return;
        }
        authenticated = true;
      }
    }
    if (!authenticated && this.pendingCount() >= MAX_PENDING_AUTH) {
      socket.end(
        'HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: 33\r\n\r\ntoo many unauthenticated clients\n',
      );
      return;
    }
    const role: Role = url.searchParams.get('role') === 'viewer' ? 'viewer' : 'controller';
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const session = new Session(ws, role, this.host, authenticated);
      this.sessions.add(session);
      session.log.debug({ role, remote: req.socket.remoteAddress }, 'connection opened');
    });
  }

  private pendingCount(): number {
    let n = 0;
    for (const session of this.sessions) if (!session.authenticated) n++;
    return n;
  }

  /** An authenticated session: a viewer always gets in, a controller only while there is a place; then hello and the last state. */
  private admit(session: Session): void {
    if (session.role === 'viewer') {
      this.viewers.add(session);
    } else if (this.controllers.length >= this.maxClients) {
      session.log.info({ maxClients: this.maxClients }, 'refused a controller: device in use');
      session.close(CloseCode.TryAgainLater, CloseReason.DeviceInUse);
      return;
    } else {
      this.controllers.push(session);
      session.log.info({ controllers: this.controllers.length }, 'controller connected');
      this.options.onOccupancy(this.controllers.length, this.maxClients);
    }
    session.send(this.hello(session.role));
    const state = this.options.lastState();
    if (state) session.sendState(state);
  }

  private release(session: Session): void {
    this.sessions.delete(session);
    this.viewers.delete(session);
    const index = this.controllers.indexOf(session);
    if (index < 0) return;
    this.controllers.splice(index, 1);
    session.log.info({ accepted: session.accepted, rejected: session.rejected, dropped: session.dropped }, 'controller disconnected');
    this.options.onOccupancy(this.controllers.length, this.maxClients);
  }

  private publish(gravity: Gravity, receivedAt?: number): boolean {
    const published = this.options.publish(gravity, receivedAt);
    if (published && this.viewers.size > 0) this.viewerFeed.push(gravity);
    return published;
  }

  /** The live view's tilt vector: only values that were published, so viewers see what the LEDs were given. */
  private broadcastGravity(gravity: Gravity): void {
    const frame = encodeServerFrame({ type: 'gravity', x: gravity.x, y: gravity.y, z: gravity.z });
    for (const viewer of this.viewers) viewer.sendDroppable(frame);
  }

  private hello(role: Role): HelloFrame {
    return {
      type: 'hello',
      role,
      available: this.options.isAvailable(),
      controllers: this.controllers.length,
      maxClients: this.maxClients,
    };
  }

  /** The operator's run-time capacity: lowering it closes the newest controllers beyond it. */
  setMaxClients(n: number): void {
    this.maxClients = n;
    this.options.log.info({ maxClients: n }, 'capacity changed');
    const extra = this.controllers.slice(n);
    for (const session of extra.reverse()) session.close(CloseCode.TryAgainLater, CloseReason.CapacityLowered);
    this.options.onOccupancy(this.controllers.length, this.maxClients);
  }

  broadcastState(state: LedState): void {
    for (const session of this.sessions) if (session.authenticated) session.sendState(state);
  }

  /** The live figures, to every client; a slow one simply misses some. */
  broadcastStats(stats: StatsFrame): void {
    const frame = encodeServerFrame(stats);
    for (const session of this.sessions) if (session.authenticated) session.sendDroppable(frame);
  }

  /** Pings every controller for its link round trip (Session.probeLink). */
  probeLinks(onRoundTrip: (ms: number) => void): void {
    for (const session of this.controllers) session.probeLink(onRoundTrip);
  }

  broadcastAvailability(available: boolean): void {
    const frame: ServerFrame = available
      ? { type: 'available' }
      : { type: 'unavailable', reason: 'the LED driver or the MQTT broker is not reachable' };
    for (const session of this.sessions) if (session.authenticated) session.send(frame);
  }

  /** Closes every connection with 1001 (going away) and stops accepting. */
  close(): void {
    clearInterval(this.heartbeat);
    this.viewerFeed.cancel();
    for (const session of this.sessions) session.close(CloseCode.GoingAway, CloseReason.ShuttingDown);
    this.wss.close();
  }
}
