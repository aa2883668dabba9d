/**
 * The led-driver's warm-up (WARMUP_FRAMES): before the real driver starts, a rehearsal drives a private copy of it
 * through the same code a phone's frames will run, so that the first second of the first session meets compiled
 * code rather than a cold JIT (docs/performance.md, issue 16). V8 keeps its type feedback and optimised code per
 * function literal, shared by every closure made at the same place and every instance of a class: frames through a
 * private startLedDriver() warm exactly the functions the real one calls. Three of them in turn (WARMUP_ROUNDS), so
 * that the code is not specialised to one instance.
 *
 * The rehearsal is the real path end to end, over a real loopback TCP socket: mqtt.js, mqtt-packet and Node's net
 * and stream code in the driver's connection, parseGravityPayload, GatewayPresence, LatestValueInput, the LED rule,
 * LedOutput with the configured shaping, the watchdog, LatestValuePublisher and HaState. On the other end of the
 * socket is a scripted MQTT peer (shared/src/scripted-peer.ts) that plays the gateway: retained `online` and an
 * occupancy of one controller, then one gravity value at a time, each after the state of the one before has come
 * back (a closed loop, as a phone drives it).
 *
 * Nothing of it is visible outside the process: the private driver writes to its own simulated LEDs (no file), never
 * to the real ones, which stay off, opened but untouched; it logs nothing and feeds no metric; its only connection is
 * to the peer, which listens on loopback for one connection with an account drawn for it and then stops listening.
 * Whatever goes wrong, and at the deadline, it ends with a warning and everything it opened closed: a warm-up must
 * never stop the service, nor delay it beyond its deadline.
 */
import { randomBytes } from 'node:crypto';
import {
  type Account,
  createLogger,
  decodeLedState,
  decodeStatus,
  encodeGatewayClients,
  encodeGravityJson,
  errorMessage,
  type Generation,
  type Gravity,
  type Logger,
  ONLINE,
  type PeerScript,
  randomSecret,
  type ScriptedPeer,
  type ScriptedPeerOptions,
  startScriptedPeer,
  type Topics,
  WARMUP_DEADLINE_MS,
  WARMUP_PACING,
  WARMUP_ROUNDS,
  warmUpPauses,
  warmUpShare,
} from '@gravity-led/shared';
import { type Shape, shaped } from './backends/shaping.js';
import { SimBackend } from './backends/sim.js';
import { type LedDriverOptions, type RunningLedDriver, startLedDriver } from './led-driver.js';

export interface WarmUpOptions {
  /** Frames to drive through the private driver (WARMUP_FRAMES, > 0). */
  readonly frames: number;
  /** The real driver's topics, so that the private one routes by the same table. */
  readonly topics: Topics;
  /** The real LEDs' shaping (LED_GAMMA, LED_DEADBAND), put on the private simulated LEDs: the same write path. */
  readonly shape: Shape;
  readonly failsafeTimeoutMs: number;
  /** The service's log: the warm-up's own warnings only. The private driver logs nowhere. */
  readonly log: Logger;
  /** Aborted when the service is asked to stop: the warm-up ends at once, and the stop goes ahead. */
  readonly signal?: AbortSignal;
  /** WARMUP_DEADLINE_MS, unless a test gives a shorter one. */
  readonly deadlineMs?: number;
  /** startScriptedPeer, unless a test wraps it (a peer that stops answering, expects another password, ...). */
  readonly startPeer?: (options: ScriptedPeerOptions) => Promise<ScriptedPeer>;
  /** startLedDriver, unless a test wraps it (to see what the private driver is given, and that it is let go). */
  readonly startDriver?: (options: LedDriverOptions) => RunningLedDriver;
}

export interface WarmUpResult {
  /** Frames whose state came back. */
  readonly frames: number;
  /** How long the warm-up took, everything closed. */
  readonly ms: number;
}

/** How a rehearsal ended. */
type Ending = { readonly kind: 'done' | 'deadline' | 'stopped' } | { readonly kind: 'failed'; readonly error: Error };

/**
 * The frame `seq`'s gravity: tilted right and left in turn, by 1 to 95 % in steps that are not whole numbers, so that
 * every frame changes the duty (and so produces a state), and both branches of the LED rule run, as a tilting phone
 * makes them run.
 */
export function rehearsalGravity(seq: number): Gravity {
  const y = round((seq % 2 === 0 ? 1 : -1) * (1 + ((seq * 7.37) % 94)));
  return { x: 2.5, y, z: round(Math.sqrt(10_000 - 2.5 * 2.5 - y * y)), seq };
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

/**
 * Runs the rehearsal and resolves with what it did; never rejects. The caller has opened the real LEDs before and
 * starts the real driver after: the rehearsal is given neither.
 */
export async function warmUp(options: WarmUpOptions): Promise<WarmUpResult> {
  const { log } = options;
  const started = performance.now();
  const deadlineMs = options.deadlineMs ?? WARMUP_DEADLINE_MS;
  log.debug(
    { frames: options.frames, rounds: WARMUP_ROUNDS, deadlineMs },
    `warming up: ${options.frames} frames through ${WARMUP_ROUNDS} private drivers in turn`,
  );
  let frames = 0;
  let how: Ending = { kind: 'done' };
  for (let round = 0; round < WARMUP_ROUNDS && how.kind === 'done'; round++) {
    // The frames shared out as evenly as whole frames go; a round with none (WARMUP_FRAMES < rounds) is left out.
    const share = warmUpShare(options.frames, round);
    if (share === 0) continue;
    const remainingMs = started + deadlineMs - performance.now();
    const result = await rehearse(options, { round, firstSeq: frames, frames: share, remainingMs });
    frames += result.frames;
    how = result.how;
  }
  const ms = Math.round(performance.now() - started);
  if (how.kind === 'deadline') {
    log.warn(
      { frames, asked: options.frames, deadlineMs },
      `warm-up stopped at its deadline after ${frames} of ${options.frames} frames; starting as it is`,
    );
  } else if (how.kind === 'failed') {
    log.warn({ err: errorMessage(how.error), frames }, `warm-up failed after ${frames} frames, starting without it: ${how.error.message}`);
  } else if (how.kind === 'stopped') {
    log.info({ frames }, `warm-up cut short after ${frames} frames: the service is stopping`);
  }
  return { frames, ms };
}

/** One round: a private driver and its peer, `frames` frames from seq `firstSeq`, within `remainingMs`. */
async function rehearse(
  options: WarmUpOptions,
  round: { readonly round: number; readonly firstSeq: number; readonly frames: number; readonly remainingMs: number },
): Promise<{ frames: number; how: Ending }> {
  const { topics, log } = options;
  let frames = 0;
  let ending: Ending | undefined;
  let settle: (ending: Ending) => void = () => {};
  const ended = new Promise<Ending>((resolve) => {
    settle = resolve;
  });
  const finish = (how: Ending) => {
    if (ending) return;
    ending = how;
    settle(how);
  };
  const deadline = setTimeout(() => finish({ kind: 'deadline' }), Math.max(0, round.remainingMs));
  const onAbort = () => finish({ kind: 'stopped' });
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) onAbort();

  // An account of its own, drawn now: the peer lets in whoever presents it, and nobody else knows it.
  const account: Account = { username: `warm-up-${randomSecret(6)}`, password: randomSecret(24) };
  // The generation the real gateway stamps: its run, and one occupancy announced.
  const generation: Generation = { run: randomBytes(4).toString('hex'), gen: 1 };
  let peer: ScriptedPeer | undefined;
  let driver: RunningLedDriver | undefined;
  /** The seq of the frame whose state is awaited; undefined before the first. */
  let inFlight: number | undefined;
  /** The first round's pause before a frame (WARMUP_PACING). */
  let pause: NodeJS.Timeout | undefined;
  const sendFrame = (seq: number) => {
    inFlight = seq;
    // QoS 0 and not retained, the exact payload the gateway publishes for a phone's JSON frame.
    peer?.publish(topics.gravity, encodeGravityJson(rehearsalGravity(seq), generation));
  };
  const script: PeerScript = {
    subscribed(filters) {
      // A broker sends the retained messages matching a new subscription after its SUBACK [MQTT-3.3.1-6], marked
      // retained [MQTT-3.3.1-8]: here, what a running gateway has left on its topics.
      if (filters.includes(topics.gatewayStatus)) peer?.publish(topics.gatewayStatus, ONLINE, { qos: 1, retain: true });
      if (filters.includes(topics.gatewayClients)) {
        peer?.publish(topics.gatewayClients, encodeGatewayClients({ clients: 1, maxClients: 1, generation }), { qos: 1, retain: true });
      }
    },
    published(topic, payload) {
      if (ending) return;
      // The driver says `online` once it has subscribed: from then on it takes gravity, as the gateway waits for it.
      if (topic === topics.driverStatus) {
        if (inFlight === undefined && decodeStatus(payload) === true) sendFrame(round.firstSeq);
        return;
      }
      if (topic !== topics.ledsState || inFlight === undefined) return;
      if (decodeLedState(payload)?.seq !== inFlight) return;
      frames++;
      if (frames >= round.frames) return finish({ kind: 'done' });
      const next = inFlight + 1;
      // The first round leaves V8's compiler threads time to keep up (WARMUP_PACING).
      if (!warmUpPauses(round.round, frames)) return sendFrame(next);
      pause = setTimeout(() => {
        pause = undefined;
        if (!ending) sendFrame(next);
      }, WARMUP_PACING.pauseMs);
    },
    ended(error) {
      finish({ kind: 'failed', error: error ?? new Error('the private driver disconnected') });
    },
  };

  try {
    // Asked to stop (or out of time) before it began: nothing is opened.
    if (!ending) peer = await (options.startPeer ?? startScriptedPeer)({ account, script });
    if (peer && !ending) {
      driver = (options.startDriver ?? startLedDriver)({
        // Its own simulated LEDs, without a file, shaped as the real ones are: the real backend is never given here.
        backend: shaped(new SimBackend(), options.shape),
        mqttUrl: peer.url,
        account,
        topics,
        failsafeTimeoutMs: options.failsafeTimeoutMs,
        log: createLogger('led-driver', { LOG_LEVEL: 'silent', LOG_FORMAT: 'json' }),
        // Home Assistant discovery off, no onState: no metric of the real driver hears of it.
      });
    }
  } catch (error) {
    finish({ kind: 'failed', error: error instanceof Error ? error : new Error(errorMessage(error)) });
  }
  const how = await ended;
  clearTimeout(deadline);
  clearTimeout(pause);
  options.signal?.removeEventListener('abort', onAbort);
  try {
    // The driver first, as a service stops: its `shutdown` state and `offline` go to the peer, which acknowledges
    // them (disconnectService bounds the wait); then the peer, which closes whatever is left.
    await driver?.close();
  } catch (error) {
    log.warn({ err: errorMessage(error) }, 'warm-up: the private driver did not close cleanly');
  }
  try {
    await peer?.close();
  } catch (error) {
    log.warn({ err: errorMessage(error) }, 'warm-up: the scripted peer did not close cleanly');
  }
  return { frames, how };
}
