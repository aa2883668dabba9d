/**
 * The WebSocket protocol between the gateway and its clients (the phone page, the live view, the CLI client, the
 * seed's Android app), in one place: the frames each side sends, the close codes and the close reasons a client
 * acts on. README's "WebSocket protocol" section describes the same; gateway/public/link.js keeps the page's copy of
 * the close codes, and test/unit/protocol-page.test.ts checks that it agrees with this file.
 *
 * Gravity frames from a controller come in the three wire formats parsed in the shared package (text `"x y z"`,
 * JSON `{"x","y","z","seq"}`, 12-byte binary): see shared/src/gravity.ts.
 */
import type { LedState } from '@gravity-led/shared';

/**
 * Close codes, with their meaning in RFC 6455 section 7.4.1 (1013 is registered in the IANA "WebSocket Close Code
 * Number Registry" that section 11.7 created). The gateway sends 1001, 1008, 1009 and 1013; clients close with 1000.
 */
export const CloseCode = {
  /** 1000: "a normal closure, meaning that the purpose for which the connection was established has been fulfilled". */
  Normal: 1000,
  /** 1001: an endpoint is "going away", "such as a server going down": the gateway is shutting down. */
  GoingAway: 1001,
  /**
   * 1008: "an endpoint is terminating the connection because it has received a message that violates its policy":
   * no valid auth frame in time, or a wrong token in it. A client should not retry with the same token.
   */
  PolicyViolation: 1008,
  /** 1009: "a message that is too big for it to process": a frame over MAX_FRAME_BYTES (ws closes it for us). */
  MessageTooBig: 1009,
  /**
   * 1006: never sent in a close frame; what a client reports "if the connection was closed abnormally, e.g., without
   * sending or receiving a Close control frame" (the gateway or the network vanished).
   */
  Abnormal: 1006,
  /** 1013: "Try Again Later" (IANA registry): the device is in use, every controller place is taken. */
  TryAgainLater: 1013,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** Close reasons with a meaning for the client: the page tells a wrong token from a missing one by these. */
export const CloseReason = {
  AuthenticationRequired: 'authentication required',
  WrongToken: 'wrong token',
  DeviceInUse: 'device in use: the maximum number of controllers is connected',
  CapacityLowered: 'device in use: capacity lowered by the operator',
  ShuttingDown: 'gateway shutting down',
} as const;

/** Frames over 1 KiB close the socket with CloseCode.MessageTooBig (ws does this for us at maxPayload). */
export const MAX_FRAME_BYTES = 1024;

/** A controller drives the LEDs; a viewer (`?role=viewer`) only watches, and does not take a controller's place. */
export type Role = 'controller' | 'viewer';

// Frames from the client (besides gravity frames).

/** The first-frame form of authentication, for a client that did not present the token at the handshake. */
export interface AuthFrame {
  readonly type: 'auth';
  readonly token: string;
}

/** The token of an auth frame, or undefined if `message` (parsed JSON) is not one. */
export function authFrameToken(message: unknown): string | undefined {
  if (typeof message !== 'object' || message === null) return undefined;
  const { type, token } = message as Record<string, unknown>;
  return type === 'auth' && typeof token === 'string' ? token : undefined;
}

// Frames to the client: JSON text, each with a `type`.

/** Sent once, when the connection is authenticated and admitted. */
export interface HelloFrame {
  readonly type: 'hello';
  readonly role: Role;
  /** The LEDs can be driven: the broker is reachable and the led-driver online. */
  readonly available: boolean;
  readonly controllers: number;
  readonly maxClients: number;
}

/** The LED state the led-driver applied, whenever it changes (and the last one right after hello). */
export type StateFrame = { readonly type: 'state' } & LedState;

/** To viewers: the gravity vector the LEDs were given, at most VIEWER_GRAVITY_HZ times a second. */
export interface GravityFrame {
  readonly type: 'gravity';
  readonly x: number;
  readonly y: number;
  readonly z: number;
}

/** A median and a worst case over the figures' window, in milliseconds, and how many measurements they come from. */
export interface Spread {
  readonly p50: number;
  readonly max: number;
  readonly samples: number;
}

/**
 * What the gateway measured over the last `window` seconds, once a second to every client while a controller is
 * connected (and once more when the figures have gone quiet). All on the gateway's clock; docs/metrics.md says what
 * each one counts and which Prometheus metric holds the same.
 */
export interface StatsFrame {
  readonly type: 'stats';
  /** The seconds the figures cover. */
  readonly window: number;
  /** Valid gravity frames per second received from controllers. */
  readonly received: number;
  /** LED changes per second reported on leds/state: each one a write to the pins. */
  readonly ledUpdates: number;
  /** From a frame with `seq` arriving on the WebSocket to the leds/state carrying that `seq` arriving back; null with none. */
  readonly roundTrip: Spread | null;
  /** WebSocket ping to pong with the controllers: the phone's network legs, which the gateway cannot otherwise see. */
  readonly link: Spread | null;
}

/** The LEDs can be driven again. */
export interface AvailableFrame {
  readonly type: 'available';
}

/** The LEDs cannot be driven right now, and why. */
export interface UnavailableFrame {
  readonly type: 'unavailable';
  readonly reason: string;
}

/** A frame from the client was refused and changed nothing: `reason` is a short kind, `message` says what was wrong. */
export interface ErrorFrame {
  readonly type: 'error';
  readonly reason: string;
  readonly message: string;
}

export type ServerFrame = HelloFrame | StateFrame | GravityFrame | StatsFrame | AvailableFrame | UnavailableFrame | ErrorFrame;
export type ServerFrameType = ServerFrame['type'];

/** Every `type` a client may receive, for clients that check what they were sent. */
export const SERVER_FRAME_TYPES: readonly ServerFrameType[] = ['hello', 'state', 'gravity', 'stats', 'available', 'unavailable', 'error'];

/** A frame to the client as it goes on the wire. */
export function encodeServerFrame(frame: ServerFrame): string {
  return JSON.stringify(frame);
}

/** A text frame from the gateway, read by a client; undefined for anything that is not a frame of a known type. */
export function decodeServerFrame(text: string): ServerFrame | undefined {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof data !== 'object' || data === null) return undefined;
  const { type } = data as { type?: unknown };
  return (SERVER_FRAME_TYPES as readonly unknown[]).includes(type) ? (data as ServerFrame) : undefined;
}
