/**
 * The WebSocket door of the gateway: token check at the handshake, the connections still authenticating, capacity
 * (controllers and viewers), and the set of live sessions. It is attached to the HTTP and the HTTPS server alike, so
 * ws:// and wss:// behave the same. Whatever a stranger sends, the door answers it or closes it: nothing it is sent
 * escapes as an exception, and every refusal is logged once, then counted (`refusals`).
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  doorRefusals,
  errorMessage,
  type Gravity,
  LatestValueThrottle,
  type LedState,
  type Logger,
  type RefusalLog,
  refuseHandshake,
  requestTarget,
  VARIABLES,
} from '@gravity-led/shared';
import { type ServerOptions, type WebSocket, WebSocketServer } from 'ws';
import {
  AUTH_TIMEOUT_MS,
  type AuthMode,
  handshakeToken,
  MAX_PENDING_AUTH,
  MAX_PENDING_AUTH_PER_ADDRESS,
  sourceKey,
  tokenMatches,
} from './auth.js';
import {
  CloseCode,
  CloseReason,
  encodeServerFrame,
  type HelloFrame,
  MAX_FRAME_BYTES,
  PROTOCOL,
  type Role,
  type ServerFrame,
  type StatsFrame,
} from './protocol.js';
import { type FrameMetrics, Session, type SessionHost, type SessionRefusal } from './session.js';

/** Viewers (the live view) get the controllers' gravity vectors at most this often: enough for a smooth picture. */
export const VIEWER_GRAVITY_HZ = 30;
/**
 * Viewers at once: the live view, and every phone page before its Start button is pressed. Beyond it, close 1013.
 * Each may hold up to MAX_BUFFERED_BYTES waiting, so this bounds what watchers can cost.
 */
export const MAX_VIEWERS = 32;
/**
 * How long a closing handshake may take before the socket is simply dropped (ws waits 30 s by default): a client
 * that was refused and never answers the close frame must not hold its socket that long.
 */
const CLOSE_TIMEOUT_MS = 2000;

export type DoorRefusal = SessionRefusal | 'bad-request' | 'pending-per-address' | 'pending-full' | 'device-in-use' | 'viewers-full';

/**
 * Pongs ws has queued toward a client and not yet handed to the kernel: past this many (a client that sends pings and
 * does not read), ws terminates the connection rather than let them pile up.
 */
const MAX_PENDING_PONGS = 16;

/** `closeTimeout` and `maxPendingAutoPongs` are ws options (lib/websocket-server.js) that @types/ws does not know yet. */
const WSS_OPTIONS: ServerOptions & { readonly closeTimeout: number; readonly maxPendingAutoPongs: number } = {
  noServer: true,
  maxPayload: MAX_FRAME_BYTES,
  perMessageDeflate: false,
  closeTimeout: CLOSE_TIMEOUT_MS,
  maxPendingAutoPongs: MAX_PENDING_PONGS,
  clientTracking: false,
  // A page that presented its token as a subprotocol is answered with PROTOCOL, never with the token's.
  handleProtocols: (offered) => (offered.has(PROTOCOL) ? PROTOCOL : false),
};

/** Every kind of refusal at this door, with the line it is logged under (the first of each kind). */
const REFUSALS: Readonly<Record<DoorRefusal, string>> = {
  'bad-request': 'refused a WebSocket handshake whose target is not a URL (HTTP 400)',
  'wrong-token': 'refused a wrong token',
  'no-auth-frame': 'refused a connection whose first frame was no auth frame (1008)',
  'auth-timeout': `closed a connection that did not authenticate within ${AUTH_TIMEOUT_MS / 1000} s (1008)`,
  'pending-per-address': `refused a handshake without a token: ${MAX_PENDING_AUTH_PER_ADDRESS} from this address are waiting to authenticate (HTTP 429)`,
  'pending-full': `refused a handshake without a token: ${MAX_PENDING_AUTH} connections are waiting to authenticate (HTTP 503)`,
  'device-in-use': 'refused a controller: device in use (1013)',
  'viewers-full': `refused a viewer: ${MAX_VIEWERS} are watching (1013)`,
  'internal-error': 'a connection failed inside the gateway and was closed (1011)',
};

export interface ControllerServerOptions {
  readonly auth: AuthMode;
  /** The token, or where to read it at each check: the gateway follows DATA_DIR/secrets.json (followSecrets). */
  readonly token: string | (() => string);
  readonly maxClients: number;
  readonly maxRate: number;
  /**
   * How often a ping checks that each client is still there; one missed pong and the connection is dropped.
   * GATEWAY_HEARTBEAT_MS; its default when not given.
   */
  readonly heartbeatMs?: number;
  readonly log: Logger;
  /** Where refusals are logged and counted; the gateway shares one with its HTTP routes. Its own when not given. */
  readonly refusals?: RefusalLog;
  /** Told of every frame's outcome; handed to every session as it is. */
  readonly metrics?: FrameMetrics;
  publish(gravity: Gravity, receivedAt?: number): boolean;
  readonly isAvailable: () => boolean;
  readonly lastState: () => LedState | undefined;
  /** Told whenever the number of controllers or the capacity changes. */
  onOccupancy(controllers: number, maxClients: number): void;
}

export class ControllerServer {
  private readonly wss = new WebSocketServer(WSS_OPTIONS);
  private readonly sessions = new Set<Session>();
  /** Sessions still waiting for their auth frame, with the key of their source address. */
  private readonly pending = new Map<Session, string>();
  /** Admitted controllers, oldest first, so that lowering the capacity closes the newest. */
  private readonly controllers: Session[] = [];
  /** Admitted viewers, who are sent the gravity vectors; kept apart so that with no viewer the gravity path costs nothing extra. */
  private readonly viewers = new Set<Session>();
  private readonly viewerFeed = new LatestValueThrottle<Gravity>(1000 / VIEWER_GRAVITY_HZ, (g) => this.broadcastGravity(g));
  private maxClients: number;
  /** The id of the next connection (Session.id): this server's own count, from 1. */
  private nextSessionId = 1;
  private readonly heartbeat: NodeJS.Timeout;
  /** Everything refused at this door: the first of each kind is a warning, the rest are counted (metrics read them). */
  readonly refusals: RefusalLog;

  /** What every session is given: the settings it needs and the calls it makes back. */
  private readonly host: SessionHost;

  constructor(private readonly options: ControllerServerOptions) {
    this.maxClients = options.maxClients;
    this.refusals = options.refusals ?? doorRefusals(options.log);
    this.heartbeat = setInterval(() => {
      for (const session of this.sessions) session.heartbeat();
    }, options.heartbeatMs ?? VARIABLES.GATEWAY_HEARTBEAT_MS.default);
    this.heartbeat.unref();
    const server = this;
    this.host = {
      get token() {
        return options.auth === 'token' ? server.token : undefined;
      },
      maxRate: options.maxRate,
      log: options.log,
      metrics: options.metrics,
      admit: (session) => this.admit(session),
      refused: (session, kind, fields) => {
        this.pending.delete(session);
        this.refuse(kind, { conn: session.id, remote: session.remote, ...fields });
      },
      publish: (gravity, receivedAt) => this.publish(gravity, receivedAt),
      release: (session) => this.release(session),
    };
  }

  private get token(): string {
    const { token } = this.options;
    return typeof token === 'function' ? token() : token;
  }

  get controllerCount(): number {
    return this.controllers.length;
  }
  get viewerCount(): number {
    return this.viewers.size;
  }
  /** Connections waiting for their auth frame. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Routes WebSocket upgrades of an HTTP(S) server here. */
  attach(server: Server): void {
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      try {
        this.upgrade(req, socket, head);
      } catch (error) {
        this.refuse('internal-error', { remote: req.socket.remoteAddress, err: errorMessage(error) });
        socket.destroy();
      }
    });
  }

  private refuse(kind: DoorRefusal, fields: Readonly<Record<string, unknown>>): void {
    this.refusals.record(kind, REFUSALS[kind], fields);
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const remote = req.socket.remoteAddress;
    const target = requestTarget(req);
    if (!target) {
      this.refuse('bad-request', { remote });
      refuseHandshake(socket, 400, 'bad request target');
      return;
    }
    if (target.pathname !== '/' && target.pathname !== '/ws') {
      refuseHandshake(socket, 404, 'not found');
      return;
    }
    let authenticated = this.options.auth === 'none';
    if (!authenticated) {
      const presented = handshakeToken(req, target);
      if (presented !== undefined) {
        if (!tokenMatches(presented.token, this.token)) {
          this.refuse('wrong-token', { remote, via: presented.source });
          // A browser sees nothing of a refused handshake but a failed connection; a page that presented its token as
          // a subprotocol is told why in a close frame instead, as the first-frame auth would have told it.
          if (presented.source === 'subprotocol') this.closeAfterHandshake(req, socket, head, CloseReason.WrongToken);
          else refuseHandshake(socket, 401, 'wrong token');
          return;
        }
        authenticated = true;
      }
    }
    const key = sourceKey(remote);
    if (!authenticated) {
      let fromHere = 0;
      for (const k of this.pending.values()) if (k === key) fromHere++;
      if (fromHere >= MAX_PENDING_AUTH_PER_ADDRESS) {
        this.refuse('pending-per-address', { remote });
        refuseHandshake(socket, 429, 'too many unauthenticated connections from this address');
        return;
      }
      if (this.pending.size >= MAX_PENDING_AUTH) {
        this.refuse('pending-full', { remote });
        refuseHandshake(socket, 503, 'too many unauthenticated clients');
        return;
      }
    }
    const role: Role = target.searchParams.get('role') === 'viewer' ? 'viewer' : 'controller';
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const session = new Session(ws, this.nextSessionId++, role, this.host, authenticated, remote);
      this.sessions.add(session);
      if (!session.authenticated) this.pending.set(session, key);
      session.log.debug({ role, remote }, 'connection opened');
    });
  }

  /** Completes the handshake only to close at once with 1008 and `reason`. */
  private closeAfterHandshake(req: IncomingMessage, socket: Duplex, head: Buffer, reason: string): void {
    this.wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      ws.on('error', () => ws.terminate());
      ws.close(CloseCode.PolicyViolation, reason);
    });
  }

  /** An authenticated session: a viewer while there is a place, a controller only while there is one; then hello and the last state. */
  private admit(session: Session): void {
    this.pending.delete(session);
    if (session.role === 'viewer') {
      if (this.viewers.size >= MAX_VIEWERS) {
        this.refuse('viewers-full', { conn: session.id, remote: session.remote });
        session.close(CloseCode.TryAgainLater, CloseReason.TooManyViewers);
        return;
      }
      this.viewers.add(session);
    } else if (this.controllers.length >= this.maxClients) {
      this.refuse('device-in-use', { conn: session.id, remote: session.remote, maxClients: this.maxClients });
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
    this.pending.delete(session);
    this.viewers.delete(session);
    const index = this.controllers.indexOf(session);
    if (index < 0) return;
    this.controllers.splice(index, 1);
    session.log.info(
      { accepted: session.accepted, rejected: session.rejected, dropped: session.dropped, unsent: session.unsent },
      'controller disconnected',
    );
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
    if (!this.options.refusals) this.refusals.stop();
    for (const session of this.sessions) session.close(CloseCode.GoingAway, CloseReason.ShuttingDown);
    this.wss.close();
  }
}
