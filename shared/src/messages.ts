/**
 * The messages the services exchange on MQTT (besides gravity, gravity.ts), each written and read here only:
 * - the LED state: what the led-driver applied, published retained on `leds/state` and forwarded by the gateway to
 *   every client as `{"type":"state",...}`. It always tells the truth, including why the LEDs are dark;
 * - the gateway's occupancy, retained on `gateway/clients`, stamped with the gateway's generation (below);
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
  /**
   * The `seq` of the newest gravity frame the driver applied since the state before this one without changing the
   * LEDs (a phone held still, or tilted past full brightness). That frame and every one before it have had their
   * effect, and no state will echo them: a round trip is timed only for the frames after it (docs/metrics.md).
   */
  readonly unchanged?: number;
  /** Milliseconds since the epoch when the driver applied it. */
  readonly ts: number;
}

export function encodeLedState(state: LedState): string {
  const seq = state.seq === undefined ? '' : `,"seq":${state.seq}`;
  const unchanged = state.unchanged === undefined ? '' : `,"unchanged":${state.unchanged}`;
  return `{"left":${state.left},"right":${state.right},"reason":"${state.reason}"${seq}${unchanged},"ts":${state.ts}}`;
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
  const { left, right, reason, seq, unchanged, ts } = data as Record<string, unknown>;
  const duty = (v: unknown): v is number => typeof v === 'number' && v >= 0 && v <= 100;
  if (!duty(left) || !duty(right) || typeof reason !== 'string') return undefined;
  return {
    left,
    right,
    reason: reason as StateReason,
    ...(typeof seq === 'number' ? { seq } : {}),
    ...(typeof unchanged === 'number' ? { unchanged } : {}),
    ts: typeof ts === 'number' ? ts : Date.now(),
  };
}

/**
 * The gateway's generation: which gateway run sent a message (`run`, random, new at every start) and how many times
 * its occupancy had changed by then (`gen`). The gateway stamps it on the occupancy and on every gravity value it
 * publishes, so the led-driver can order the two topics itself: MQTT orders messages only within one topic (MQTT
 * 3.1.1 section 4.6, MQTT 5.0 section 4.6), and Aedes does deliver a QoS 1 occupancy after a QoS 0 gravity value
 * published just after it (moscajs/aedes#994). A message of an older generation than one already acted on is history:
 * a phone that has gone, or an occupancy since replaced. Messages of different runs are not comparable (a restarted
 * gateway starts again at 1, and a clock is no help on a Pi without one): the newer arrival wins, as without stamps.
 */
export interface Generation {
  readonly run: string;
  readonly gen: number;
}

/** Longest `run` accepted; the gateway's are 8 hex digits. */
const MAX_RUN_LENGTH = 32;

/** True when `candidate` is of the same gateway run as `current` and older: superseded, to be ignored. */
export function olderGeneration(candidate: Generation, current: Generation | undefined): boolean {
  return current !== undefined && candidate.run === current.run && candidate.gen < current.gen;
}

/** The generation's JSON fields, `,"run":"..","gen":n`, to append inside an object; empty without one. */
export function generationFields(generation: Generation | undefined): string {
  return generation === undefined ? '' : `,"run":"${generation.run}","gen":${generation.gen}`;
}

/**
 * The generation of a parsed message: undefined when it has none (a value injected by hand), null when the fields
 * are there but malformed (a payload to refuse, rather than one to apply out of order).
 */
export function readGeneration(data: Record<string, unknown>): Generation | undefined | null {
  const { run, gen } = data;
  if (run === undefined && gen === undefined) return undefined;
  const validRun = typeof run === 'string' && run.length > 0 && run.length <= MAX_RUN_LENGTH && /^[\w-]+$/.test(run);
  const validGen = typeof gen === 'number' && Number.isSafeInteger(gen) && gen >= 0;
  return validRun && validGen ? { run, gen } : null;
}

/** The gateway's retained occupancy message on `gateway/clients`. */
export interface GatewayClients {
  readonly clients: number;
  readonly maxClients: number;
  /** The generation this occupancy starts; absent from messages of older gateways and hand-made ones. */
  readonly generation?: Generation;
}

export function encodeGatewayClients(occupancy: GatewayClients): string {
  return `{"clients":${occupancy.clients},"maxClients":${occupancy.maxClients}${generationFields(occupancy.generation)}}`;
}

/** What the led-driver needs of an occupancy message: the number of controllers and its generation. */
export interface Occupancy {
  readonly clients: number;
  readonly generation?: Generation;
}

/** Reads an occupancy message; undefined for anything that is not one (a malformed generation included). */
export function decodeGatewayClients(payload: Uint8Array): Occupancy | undefined {
  let data: unknown;
  try {
    data = JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return undefined;
  const record = data as Record<string, unknown>;
  const { clients } = record;
  if (!(typeof clients === 'number' && Number.isSafeInteger(clients) && clients >= 0)) return undefined;
  const generation = readGeneration(record);
  if (generation === null) return undefined;
  return generation === undefined ? { clients } : { clients, generation };
}

/** A status payload: true for `online`, false for `offline`, undefined for anything else. */
export function decodeStatus(payload: Uint8Array): boolean | undefined {
  const status = Buffer.from(payload).toString();
  return status === ONLINE ? true : status === OFFLINE ? false : undefined;
}
