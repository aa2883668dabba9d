/**
 * Manual LED control for MQTT tools and Home Assistant: `leds/set` takes JSON `{"left":..,"right":..}` (either key
 * alone changes that LED only), `leds/left/set` and `leds/right/set` take `ON`, `OFF` or a duty 0..100.
 *
 * The phone takes precedence: while a controller is connected to the gateway, or gravity arrived within
 * FAILSAFE_TIMEOUT_MS, manual commands are refused (counted, logged once per kind). A manual setting is an explicit
 * operator command, so the stale-stream watchdog leaves it alone (no stream is expected); losing the broker, the
 * gateway going offline and shutdown turn it off like everything else, and a phone that starts sending takes over.
 */
import { type Duty, type Logger, MAX_TEXT_LENGTH, type Topics } from '@gravity-led/shared';
import type { GatewayPresence } from './gateway-presence.js';
import type { LedOutput } from './led-output.js';
import { roundDuty } from './led-rule.js';

export type Led = 'left' | 'right';

export type ManualFailure = 'empty' | 'too-large' | 'bad-json' | 'bad-shape' | 'not-a-number' | 'out-of-range';

export type ManualResult<T> = { ok: true; value: T } | { ok: false; reason: ManualFailure; message: string };

/** What one LED's topic asks for: on (at its last manual duty), off, or a duty. */
export type LedCommand = { kind: 'on' } | { kind: 'off' } | { kind: 'duty'; duty: number };

const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

function fail<T>(reason: ManualFailure, message: string): ManualResult<T> {
  return { ok: false, reason, message };
}

function checkDuty(name: string, value: number): ManualResult<number> {
  if (!Number.isFinite(value)) return fail('not-a-number', `${name} is not a finite number`);
  if (value < 0 || value > 100) return fail('out-of-range', `${name} must be within 0..100`);
  return { ok: true, value: roundDuty(value) };
}

function text(payload: Uint8Array): ManualResult<string> {
  if (payload.byteLength > MAX_TEXT_LENGTH) return fail('too-large', `payload over ${MAX_TEXT_LENGTH} bytes`);
  const value = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8').trim();
  if (value === '') return fail('empty', 'empty payload');
  return { ok: true, value };
}

/** `leds/set`: a JSON object with `left` and/or `right`, each a number 0..100; other keys are ignored. */
export function parseManualSet(payload: Uint8Array): ManualResult<Partial<Duty>> {
  const raw = text(payload);
  if (!raw.ok) return raw;
  let data: unknown;
  try {
    data = JSON.parse(raw.value);
  } catch {
    return fail('bad-json', 'not valid JSON: expected {"left":0..100,"right":0..100}');
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return fail('bad-shape', 'expected a JSON object {"left":0..100,"right":0..100}');
  }
  const record = data as Record<string, unknown>;
  const duty: { left?: number; right?: number } = {};
  for (const led of ['left', 'right'] as const) {
    const value = record[led];
    if (value === undefined) continue;
    if (typeof value !== 'number') return fail('bad-shape', `${led} must be a number 0..100`);
    const checked = checkDuty(led, value);
    if (!checked.ok) return checked;
    duty[led] = checked.value;
  }
  if (duty.left === undefined && duty.right === undefined) return fail('bad-shape', 'expected "left" and/or "right"');
  return { ok: true, value: duty };
}

/** `leds/<led>/set`: `ON`, `OFF` (any case) or a decimal duty 0..100, as Home Assistant's command topics send. */
export function parseLedCommand(payload: Uint8Array): ManualResult<LedCommand> {
  const raw = text(payload);
  if (!raw.ok) return raw;
  const upper = raw.value.toUpperCase();
  if (upper === 'ON') return { ok: true, value: { kind: 'on' } };
  if (upper === 'OFF') return { ok: true, value: { kind: 'off' } };
  if (!DECIMAL.test(raw.value)) return fail('not-a-number', 'expected ON, OFF or a duty 0..100');
  const checked = checkDuty('duty', Number(raw.value));
  return checked.ok ? { ok: true, value: { kind: 'duty', duty: checked.value } } : checked;
}

export interface ManualControlOptions {
  readonly output: LedOutput;
  /** What the driver knows of the gateway: whether a controller is connected. */
  readonly presence: GatewayPresence;
  readonly topics: Topics;
  /** Told of every refused command (counted, logged once per kind). */
  readonly refuse: Refuse;
  readonly failsafeTimeoutMs: number;
  readonly log: Logger;
}

/** Records a refused payload on `topic`: `kind` names why (a metric label), `message` says it for the log. */
export type Refuse = (topic: string, kind: string, message: string) => void;

/** The handler of one topic in the driver's topic table (led-driver.ts). */
export type TopicHandler = (payload: Uint8Array) => void;

export class ManualControl {
  private lastGravityAt = Number.NEGATIVE_INFINITY;
  /** The last lit duty of each LED, restored by `ON`; full brightness until one was set. */
  private readonly lastLit: Record<Led, number> = { left: 100, right: 100 };
  /** Commands applied (whether or not they changed the duty), for metrics. */
  applied = 0;

  constructor(private readonly options: ManualControlOptions) {}

  /** The command topics and their handlers, for the driver's topic table. */
  get routes(): [string, TopicHandler][] {
    const { topics } = this.options;
    return [
      [topics.ledsSet, (payload) => this.onSet(topics.ledsSet, payload)],
      [topics.ledsLeftSet, (payload) => this.onLedSet(topics.ledsLeftSet, 'left', payload)],
      [topics.ledsRightSet, (payload) => this.onLedSet(topics.ledsRightSet, 'right', payload)],
    ];
  }

  /** True while the LEDs show a manual setting: the stale watchdog and controller-left leave it alone then. */
  get holdsLeds(): boolean {
    return this.options.output.current.reason === 'manual';
  }

  /** A phone is in control: a controller is connected, or gravity arrived within the fail-safe timeout. */
  get phoneActive(): boolean {
    return this.options.presence.controllerConnected || performance.now() - this.lastGravityAt < this.options.failsafeTimeoutMs;
  }

  noteGravity(): void {
    this.lastGravityAt = performance.now();
  }

  /** `leds/set`: either LED or both. */
  private onSet(topic: string, payload: Uint8Array): void {
    const { refuse, output } = this.options;
    const result = parseManualSet(payload);
    if (!result.ok) {
      refuse(topic, result.reason, result.message);
      return;
    }
    this.apply(topic, { left: result.value.left ?? output.current.left, right: result.value.right ?? output.current.right });
  }

  /** `leds/<led>/set`: one LED, the other as it is. */
  private onLedSet(topic: string, led: Led, payload: Uint8Array): void {
    const { refuse, output } = this.options;
    const result = parseLedCommand(payload);
    if (!result.ok) {
      refuse(topic, result.reason, result.message);
      return;
    }
    const command = result.value;
    const value = command.kind === 'on' ? this.lastLit[led] : command.kind === 'off' ? 0 : command.duty;
    this.apply(topic, led === 'left' ? { left: value, right: output.current.right } : { left: output.current.left, right: value });
  }

  private apply(topic: string, duty: Duty): void {
    const { refuse, output } = this.options;
    if (this.phoneActive) {
      refuse(topic, 'controller-active', 'a phone is in control: manual commands wait until it has gone');
      return;
    }
    if (duty.left > 0) this.lastLit.left = duty.left;
    if (duty.right > 0) this.lastLit.right = duty.right;
    this.applied++;
    if (output.apply(duty, 'manual')) this.options.log.info({ left: duty.left, right: duty.right, topic }, 'manual LED setting applied');
  }
}
