/**
 * One WebSocket client from handshake to close: authentication by first frame when needed, frame parsing,
 * rate capping, the heartbeat, and the frames we send back (hello, state, availability, errors, gravity), none of
 * which may pile up toward a client that does not read.
 */
import { randomBytes } from 'node:crypto';
import {
  burstFor,
  errorMessage,
  type Gravity,
  gravityFromObject,
  LatestValueThrottle,
  type LedState,
  type Logger,
  type ParseResult,
  parseGravityBinary,
  parseGravityText,
} from '@gravity-led/shared';
import type { RawData, WebSocket } from 'ws';
import { AUTH_TIMEOUT_MS, tokenMatches } from './auth.js';
import { LinkProbe } from './link-probe.js';
import { authFrameToken, CloseCode, CloseReason, encodeServerFrame, type Role, type ServerFrame } from './protocol.js';

/**
 * Past this many bytes waiting toward a slow client (the socket's bufferedAmount), nothing more is queued: state and
 * availability frames are held back, only the newest of each, and sent once the socket drains; error and gravity
 * frames are dropped; and the client is no longer read from until it has caught up (watchBacklog). Pongs are bounded
 * by ws as well (maxPendingAutoPongs, set in controller-server.ts), hello goes once. So what the gateway holds for any
 * client stays about this size, and what a client that does not read can make it do stops there.
 */
export const MAX_BUFFERED_BYTES = 64 * 1024;
/** How often a session with held-back frames looks whether its socket has drained. */
const DRAIN_POLL_MS = 50;

/** Told of every frame's outcome, for metrics (GatewayMetrics). */
export interface FrameMetrics {
  frameAccepted(): void;
  frameRejected(reason: string): void;
}

/** Why a connection was refused: the kinds the server logs (once, then counted) and counts in its metrics. */
export type SessionRefusal = 'no-auth-frame' | 'wrong-token' | 'auth-timeout' | 'internal-error';

/** What a session needs of the server that holds it. */
export interface SessionHost {
  /** The token a first-frame auth must match; undefined when authentication is off. */
  readonly token: string | undefined;
  /** Frames per second forwarded from one controller (GATEWAY_MAX_RATE). */
  readonly maxRate: number;
  readonly log: Logger;
  readonly metrics: FrameMetrics | undefined;
  /** Called once the client is authenticated: the host greets it (hello, last state), or refuses and closes it. */
  admit(session: Session): void;
  /** The session is refusing its client and closes it: for the host's refusal log and metrics. */
  refused(session: Session, kind: SessionRefusal, fields?: Readonly<Record<string, unknown>>): void;
  /** `receivedAt`: when the frame arrived (performance.now()), for the publish latency metric. */
  publish(gravity: Gravity, receivedAt?: number): boolean;
  /** Called once, when the connection has closed. */
  release(session: Session): void;
}

/** Frames of which only the newest matters: held back (one of each) toward a slow client. */
type LatestKind = 'state' | 'availability';

export class Session {
  authenticated = false;
  /** Frames accepted (valid) and rejected, for logs and metrics. */
  accepted = 0;
  rejected = 0;
  /** Frames to the client dropped because it did not read (errors, gravity; superseded states). */
  unsent = 0;
  private readonly throttle: LatestValueThrottle<Gravity>;
  private authTimer: NodeJS.Timeout | undefined;
  private readonly held = new Map<LatestKind, string>();
  /** Why the client is not being read from right now (see holdReading). */
  private readonly readingHeld = new Set<'pace' | 'backlog'>();
  /** Refused frames in the current one-second window, and its start (performance.now()); see paceRefusals. */
  private refusalsInWindow = 0;
  private refusalWindowStart = 0;
  private paceTimer: NodeJS.Timeout | undefined;
  /** Frames read while paced, in order, waiting for the next second (at most the rest of one socket read). */
  private readonly deferred: [RawData, boolean][] = [];
  /** Set while the client is backed up: polls for the socket to drain (ws has no drain event). */
  private drainTimer: NodeJS.Timeout | undefined;
  /** Told the client that its values are being dropped, since the last one that went through. */
  private toldDropping = false;
  /** Answered the last ping (see heartbeat()). */
  private alive = true;
  /** The payload of the last ping: only a pong that echoes it counts as an answer. */
  private pingPayload: Buffer | undefined;
  private readonly probe = new LinkProbe();
  /** Arrival of the newest accepted frame: the throttle only ever forwards the newest, so this is its arrival. */
  private receivedAt: number | undefined;
  /** Every log line of this connection carries its id (`conn`). */
  readonly log: Logger;

  constructor(
    private readonly socket: WebSocket,
    /**
     * The connection's number at its server (`conn` in every log line of it), from 1 at each ControllerServer: a
     * warm-up's private servers in the same process do not number the real one's connections on.
     */
    readonly id: number,
    readonly role: Role,
    private readonly host: SessionHost,
    authenticated: boolean,
    /** The client's address, for log lines. */
    readonly remote: string | undefined = undefined,
  ) {
    this.log = host.log.child({ conn: this.id });
    this.throttle = new LatestValueThrottle(1000 / host.maxRate, (g) => this.forward(g), burstFor(host.maxRate));
    socket.on('message', (data, isBinary) => {
      // Paced (see paceRefusals): what was already read waits its turn, in order; nothing more is read meanwhile.
      if (this.paceTimer !== undefined) this.deferred.push([data, isBinary]);
      else this.guarded(() => this.onMessage(data, isBinary));
    });
    socket.on('pong', (data) => this.onPong(data));
    // ws has answered it already (autoPong): a client pinging without reading backs up like any other.
    socket.on('ping', () => this.watchBacklog());
    socket.on('close', () => this.onClose());
    socket.on('error', () => socket.terminate());
    if (authenticated) {
      this.authenticated = true;
      this.start();
    } else {
      this.authTimer = setTimeout(() => this.refuse('auth-timeout', CloseReason.AuthenticationRequired), AUTH_TIMEOUT_MS);
    }
  }

  private start(): void {
    this.host.admit(this);
  }

  /** A handler that throws (a bug) ends this connection with 1011, logged and counted, never the process. */
  private guarded(handler: () => void): void {
    try {
      handler();
    } catch (error) {
      this.host.refused(this, 'internal-error', { err: errorMessage(error) });
      this.close(CloseCode.InternalError, CloseReason.InternalError);
    }
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    if (!this.authenticated) {
      this.onAuthFrame(data, isBinary);
      return;
    }
    // Closing (refused as "in use" right after its auth frame, or going away): frames that were already on their way
    // in the same read must not drive the LEDs.
    if (this.socket.readyState !== this.socket.OPEN) return;
    if (this.role === 'viewer') {
      this.reject('this connection is a viewer: it cannot drive the LEDs');
      return;
    }
    const result = isBinary ? parseGravityBinary(asBytes(data)) : this.parseText(asBytes(data).toString('utf8'));
    if (result === null) return;
    if (!result.ok) {
      this.reject(result.message, result.reason);
      return;
    }
    this.accepted++;
    this.receivedAt = performance.now();
    this.host.metrics?.frameAccepted();
    this.throttle.push(result.value);
  }

  /** A gravity frame in either text format; null for an auth frame, which is harmless once authenticated. */
  private parseText(text: string): ParseResult<Gravity> | null {
    if (!text.trimStart().startsWith('{')) return parseGravityText(text);
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      return { ok: false, reason: 'bad-json', message: 'not valid JSON' };
    }
    // A client that authenticated at the handshake may still send its auth frame out of habit.
    if (authFrameToken(message) !== undefined) return null;
    return gravityFromObject(message);
  }

  private onAuthFrame(data: RawData, isBinary: boolean): void {
    const token = isBinary ? undefined : parseAuth(asBytes(data).toString('utf8'));
    if (token === undefined || this.host.token === undefined || !tokenMatches(token, this.host.token)) {
      if (token === undefined) this.refuse('no-auth-frame', CloseReason.AuthenticationRequired);
      else this.refuse('wrong-token', CloseReason.WrongToken);
      return;
    }
    clearTimeout(this.authTimer);
    this.authenticated = true;
    this.start();
  }

  private refuse(kind: SessionRefusal, reason: string): void {
    clearTimeout(this.authTimer);
    this.host.refused(this, kind);
    this.close(CloseCode.PolicyViolation, reason);
  }

  private forward(gravity: Gravity): void {
    if (this.host.publish(gravity, this.receivedAt)) {
      this.toldDropping = false;
    } else if (!this.toldDropping) {
      // Once per outage, not once per frame: a phone streaming at 60 Hz must not get 60 notices a second.
      this.toldDropping = true;
      this.send({ type: 'unavailable', reason: 'broker unreachable: values are dropped, not queued' });
    }
  }

  private reject(message: string, reason = 'refused'): void {
    this.rejected++;
    this.host.metrics?.frameRejected(reason);
    this.send({ type: 'error', reason, message });
    this.paceRefusals();
  }

  /**
   * Refused frames are answered at most GATEWAY_MAX_RATE a second, as valid ones are forwarded at most that often:
   * past that in one second the client is not read from until the second is over, and the frames already read (the
   * rest of the chunk the socket delivered, at most 64 KiB) wait their turn. Each is still answered, only later: what
   * a client flooding junk costs the gateway, in parsing and in error frames, stays what one busy phone costs.
   */
  private paceRefusals(): void {
    const now = performance.now();
    if (now - this.refusalWindowStart >= 1000) {
      this.refusalWindowStart = now;
      this.refusalsInWindow = 0;
    }
    if (++this.refusalsInWindow < this.host.maxRate || this.paceTimer !== undefined) return;
    this.holdReading('pace');
    this.paceTimer = setTimeout(() => this.endPace(), Math.max(1, 1000 - (now - this.refusalWindowStart)));
  }

  private endPace(): void {
    this.paceTimer = undefined;
    let next = 0;
    while (next < this.deferred.length && this.paceTimer === undefined && this.open) {
      const [data, isBinary] = this.deferred[next++] as [RawData, boolean];
      this.guarded(() => this.onMessage(data, isBinary));
    }
    this.deferred.splice(0, next);
    if (this.paceTimer === undefined) this.releaseReading('pace');
  }

  /** Stops reading from the client while any reason holds: its frames wait in its socket, and TCP pushes back on it. */
  private holdReading(reason: 'pace' | 'backlog'): void {
    if (this.readingHeld.size === 0) this.socket.pause();
    this.readingHeld.add(reason);
  }

  private releaseReading(reason: 'pace' | 'backlog'): void {
    if (!this.readingHeld.delete(reason) || this.readingHeld.size > 0) return;
    this.socket.resume();
  }

  /** Any frame, sent as its kind must be toward a slow client (see MAX_BUFFERED_BYTES). */
  send(frame: ServerFrame): void {
    if (frame.type === 'state') this.sendLatest('state', encodeServerFrame(frame));
    else if (frame.type === 'available' || frame.type === 'unavailable') this.sendLatest('availability', encodeServerFrame(frame));
    else if (frame.type === 'error' || frame.type === 'gravity' || frame.type === 'stats') {
      // Checked before encoding: a client flooding junk without reading costs no frame it will never get.
      if (this.open && this.backedUp) this.unsent++;
      else this.sendDroppable(encodeServerFrame(frame));
    } else if (this.open) this.write(encodeServerFrame(frame)); // hello: once per connection
  }

  private get open(): boolean {
    return this.socket.readyState === this.socket.OPEN;
  }

  private get backedUp(): boolean {
    return this.socket.bufferedAmount > MAX_BUFFERED_BYTES;
  }

  private write(frame: string): void {
    this.socket.send(frame);
    this.watchBacklog();
  }

  /** A frame that the next one supersedes (the live view's gravity, an error): a slow client simply misses some. */
  sendDroppable(frame: string): void {
    if (!this.open) return;
    if (this.backedUp) {
      this.unsent++;
      return;
    }
    this.write(frame);
  }

  /** State frames to a slow client: never queue more than MAX_BUFFERED_BYTES, keep only the newest one waiting. */
  sendState(state: LedState): void {
    this.sendLatest('state', encodeServerFrame({ type: 'state', ...state }));
  }

  private sendLatest(kind: LatestKind, frame: string): void {
    if (!this.open) return;
    // While anything is held back, newer frames wait behind it, so the client still sees them in order.
    if (!this.backedUp && this.drainTimer === undefined) {
      this.write(frame);
      return;
    }
    if (this.held.has(kind)) this.unsent++;
    this.held.set(kind, frame);
    this.watchBacklog();
  }

  /**
   * Toward a client that does not keep up: stop reading from it until what it is owed has drained. Its frames then
   * wait in its own socket (TCP pushes back on the sender), so a client that sends without reading, whatever it
   * sends (junk owed error frames, pings owed pongs), makes the gateway neither queue nor even parse anything more.
   */
  private watchBacklog(): void {
    if (this.drainTimer !== undefined || !this.backedUp) return;
    this.holdReading('backlog');
    this.drainTimer = setInterval(() => this.onDrainPoll(), DRAIN_POLL_MS);
  }

  private onDrainPoll(): void {
    if (!this.open) {
      this.stopWaiting();
      return;
    }
    if (this.backedUp) return;
    const held = [...this.held.values()];
    this.stopWaiting();
    this.releaseReading('backlog');
    for (const frame of held) this.write(frame);
  }

  private stopWaiting(): void {
    clearInterval(this.drainTimer);
    this.drainTimer = undefined;
    this.held.clear();
  }

  close(code: CloseCode, reason: string): void {
    this.socket.close(code, reason);
  }

  /**
   * One heartbeat tick: a client that has not answered the previous ping is dropped, any other is pinged again.
   * RFC 6455 section 5.5.3: a Pong "sent in response to a Ping frame must have identical Application data", and a
   * Pong "MAY be sent unsolicited", as a one-way heartbeat that expects no answer. So each ping carries fresh random
   * bytes and only a pong that echoes them counts: unsolicited pongs cannot keep a client that never reads alive.
   */
  heartbeat(): void {
    if (!this.alive) {
      this.socket.terminate();
      return;
    }
    this.alive = false;
    this.pingPayload = randomBytes(8);
    this.socket.ping(this.pingPayload);
  }

  private onPong(data: Buffer): void {
    if (this.pingPayload?.equals(data)) this.alive = true;
    this.probe.pong(data);
  }

  /** Pings with a numbered probe; `onRoundTrip` hears how long its pong took (the live figures' link round trip). */
  probeLink(onRoundTrip: (ms: number) => void): void {
    if (!this.open || this.backedUp) return;
    this.socket.ping(this.probe.ping(onRoundTrip));
  }

  private onClose(): void {
    clearTimeout(this.authTimer);
    clearTimeout(this.paceTimer);
    this.deferred.length = 0;
    this.throttle.cancel();
    this.stopWaiting();
    this.host.release(this);
  }

  get dropped(): number {
    return this.throttle.dropped;
  }
}

function asBytes(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

function parseAuth(text: string): string | undefined {
  try {
    return authFrameToken(JSON.parse(text));
  } catch {
    return undefined;
  }
}
