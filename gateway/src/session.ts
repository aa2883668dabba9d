/**
 * One WebSocket client from handshake to close: authentication by first frame when needed, frame parsing,
 * rate capping, and the frames we send back (hello, state, availability, errors).
 */
import {
  burstFor,
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

/** Past this many bytes waiting toward a slow client, state frames are held back and only the newest is sent later. */
export const MAX_BUFFERED_BYTES = 64 * 1024;

/** Told of every frame's outcome, for metrics (GatewayMetrics). */
export interface FrameMetrics {
  frameAccepted(): void;
  frameRejected(reason: string): void;
}

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
  /** `receivedAt`: when the frame arrived (performance.now()), for the publish latency metric. */
  publish(gravity: Gravity, receivedAt?: number): boolean;
  /** Called once, when the connection has closed. */
  release(session: Session): void;
}

let nextId = 1;

export class Session {
  readonly id = nextId++;
  authenticated = false;
  /** Frames accepted (valid) and rejected, for logs and metrics. */
  accepted = 0;
  rejected = 0;
  private readonly throttle: LatestValueThrottle<Gravity>;
  private authTimer: NodeJS.Timeout | undefined;
  private heldState: string | undefined;
  private holdTimer: NodeJS.Timeout | undefined;
  /** Told the client that its values are being dropped, since the last one that went through. */
  private toldDropping = false;
  /** Answered the last ping (see heartbeat()). */
  private alive = true;
  private readonly probe = new LinkProbe();
  /** Arrival of the newest accepted frame: the throttle only ever forwards the newest, so this is its arrival. */
  private receivedAt: number | undefined;
  /** Every log line of this connection carries its id (`conn`). */
  readonly log: Logger;

  constructor(
    private readonly socket: WebSocket,
    readonly role: Role,
    private readonly host: SessionHost,
    authenticated: boolean,
  ) {
    this.log = host.log.child({ conn: this.id });
    this.throttle = new LatestValueThrottle(1000 / host.maxRate, (g) => this.forward(g), burstFor(host.maxRate));
    socket.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    socket.on('pong', (data) => {
      this.alive = true;
      this.probe.pong(data);
    });
    socket.on('close', () => this.onClose());
    socket.on('error', () => socket.terminate());
    if (authenticated) {
      this.authenticated = true;
      this.start();
    } else {
      this.authTimer = setTimeout(() => socket.close(CloseCode.PolicyViolation, CloseReason.AuthenticationRequired), AUTH_TIMEOUT_MS);
    }
  }

  private start(): void {
    this.host.admit(this);
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
      this.log.info({ wrongToken: token !== undefined }, 'refused: no valid auth frame');
      this.socket.close(CloseCode.PolicyViolation, token === undefined ? CloseReason.AuthenticationRequired : CloseReason.WrongToken);
      return;
    }
    clearTimeout(this.authTimer);
    this.authenticated = true;
    this.start();
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
  }

  send(frame: ServerFrame): void {
    if (this.socket.readyState !== this.socket.OPEN) return;
    this.socket.send(encodeServerFrame(frame));
  }

  /** A frame that the next one supersedes (the live view's gravity): a slow client simply misses some. */
  sendDroppable(frame: string): void {
    if (this.socket.readyState !== this.socket.OPEN || this.socket.bufferedAmount > MAX_BUFFERED_BYTES) return;
    this.socket.send(frame);
  }

  /** State frames to a slow client: never queue more than MAX_BUFFERED_BYTES, keep only the newest one waiting. */
  sendState(state: LedState): void {
    const frame = encodeServerFrame({ type: 'state', ...state });
    if (this.socket.bufferedAmount <= MAX_BUFFERED_BYTES) {
      // This state supersedes any held back: sent later, that one would leave the client on an older state.
      this.stopHolding();
      if (this.socket.readyState === this.socket.OPEN) this.socket.send(frame);
      return;
    }
    this.heldState = frame;
    this.holdTimer ??= setInterval(() => {
      if (this.socket.readyState !== this.socket.OPEN) return this.stopHolding();
      if (this.socket.bufferedAmount > MAX_BUFFERED_BYTES || this.heldState === undefined) return;
      this.socket.send(this.heldState);
      this.stopHolding();
    }, 50);
  }

  private stopHolding(): void {
    clearInterval(this.holdTimer);
    this.holdTimer = undefined;
    this.heldState = undefined;
  }

  close(code: CloseCode, reason: string): void {
    this.socket.close(code, reason);
  }

  /**
   * One heartbeat tick: a client that has not answered the previous ping (with a pong) is dropped, any other is
   * pinged again (RFC 6455 section 5.5.2: an endpoint that receives a Ping "MUST send a Pong frame in response").
   */
  heartbeat(): void {
    if (!this.alive) {
      this.socket.terminate();
      return;
    }
    this.alive = false;
    this.socket.ping();
  }

  /** Pings with a numbered probe; `onRoundTrip` hears how long its pong took (the live figures' link round trip). */
  probeLink(onRoundTrip: (ms: number) => void): void {
    if (this.socket.readyState !== this.socket.OPEN || this.socket.bufferedAmount > MAX_BUFFERED_BYTES) return;
    this.socket.ping(this.probe.ping(onRoundTrip));
  }

  private onClose(): void {
    clearTimeout(this.authTimer);
    this.throttle.cancel();
    this.stopHolding();
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
