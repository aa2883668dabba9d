/**
 * The messages the services exchange on MQTT (besides gravity, gravity.ts), each written and read here only:
 * - the LED state: what the led-driver applied, published retained on `leds/state` and forwarded by the gateway to
 *   every client as `{"type":"state",...}`. It always tells the truth, including why the LEDs are dark;
 * - the gateway's occupancy, retained on `gateway/clients`;
 * - the services' status, retained on `gateway/status` and `led-driver/status`, with a last will.
 */
import { OFFLINE, ONLINE } from './topics.js';

/** Duty cycles in percent, 0..100, of the two LEDs. */
export interface Duty {
  /** Red LED, lit when the phone tilts left (y < 0). */
  readonly left: number;
  /** Green LED, lit when the phone tilts right (y > 0). */
  readonly right: number;
}

/** Both LEDs off. */
export const OFF: Duty = Object.freeze({ left: 0, right: 0 });

/** Why the LEDs have the duty they have. */
export type StateReason =
  | 'start'
  | 'gravity'
  | 'manual'
  | 'stale'
  | 'controller-left'
  | 'gateway-offline'
  | 'broker-lost'
  | 'shutdown'
  /** A write to the LEDs failed: both were turned off as far as software can. */
  | 'hardware-fault';

export interface LedState extends Duty {
  readonly reason: StateReason;
  /** The `seq` of the gravity frame that produced this state, when the sender gave one. */
  readonly seq?: number;
  /** Milliseconds since the epoch when the driver applied it. */
  readonly ts: number;
}

export function encodeLedState(state: LedState): string {
  const seq = state.seq === undefined ? '' : `,"seq":${state.seq}`;
  return `{"left":${state.left},"right":${state.right},"reason":"${state.reason}"${seq},"ts":${state.ts}}`;
}

/** Reads a state message; undefined for anything that is not one (the topic may be shared with an external broker). */
export function decodeLedState(payload: Uint8Array | string): LedState | undefined {
  let data: unknown;
  try {
    data = JSON.parse(typeof payload === 'string' ? payload : Buffer.from(payload).toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof data !== 'object' || data === null) return undefined;
  const { left, right, reason, seq, ts } = data as Record<string, unknown>;
  const duty = (v: unknown): v is number => typeof v === 'number' && v >= 0 && v <= 100;
  if (!duty(left) || !duty(right) || typeof reason !== 'string') return undefined;
  return {
    left,
    right,
    reason: reason as StateReason,
    ...(typeof seq === 'number' ? { seq } : {}),
    ts: typeof ts === 'number' ? ts : Date.now(),
  };
}

/** The gateway's retained occupancy message on `gateway/clients`. */
export interface GatewayClients {
  readonly clients: number;
  readonly maxClients: number;
}

export function encodeGatewayClients(occupancy: GatewayClients): string {
  return JSON.stringify({ clients: occupancy.clients, maxClients: occupancy.maxClients });
}

/** The number of controllers in an occupancy message (all the led-driver needs of it), or undefined for anything else. */
export function decodeGatewayClients(payload: Uint8Array): number | undefined {
  try {
    const { clients } = JSON.parse(Buffer.from(payload).toString('utf8')) as { clients?: unknown };
    return typeof clients === 'number' && Number.isSafeInteger(clients) && clients >= 0 ? clients : undefined;
  } catch {
    return undefined;
  }
}

/** A status payload: true for `online`, false for `offline`, undefined for anything else. */
export function decodeStatus(payload: Uint8Array): boolean | undefined {
  const status = Buffer.from(payload).toString();
  return status === ONLINE ? true : status === OFFLINE ? false : undefined;
}
