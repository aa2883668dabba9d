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
 *
 * The rounds, their one deadline, the stop and the first error, and the closing of each round's parts in reverse
 * order, are every warm-up's (shared/src/warm-up-rounds.ts: inRounds, withParts); what is here is what a round opens,
 * how its frames are driven, and what the led-driver says of how it went.
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
  inRounds,
  type Logger,
  ONLINE,
  type PeerScript,
  type Round,
  type RoundsResult,
  randomSecret,
  type ScriptedPeer,
  type ScriptedPeerOptions,
  startScriptedPeer,
  type Topics,
  until,
  WARMUP_DEADLINE_MS,
  WARMUP_PACING,
  WARMUP_ROUNDS,
  warmUpPauses,
  withParts,
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

/**
 * What the warm-up did (frames whose state came back; how long it took, everything closed) and why it ended; its
 * rounds' ports are a scripted peer's.
 */
export type WarmUpResult = RoundsResult<{ readonly peer: number }>;

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
 * Runs the rehearsal and resolves with what it did, having said how it went when it went otherwise than planned (a
 * warning at its deadline or on a failure, a note on a stop); never rejects. The caller has opened the real LEDs
 * before and starts the real driver after: the rehearsal is given neither.
 */
export async function warmUp(options: WarmUpOptions): Promise<WarmUpResult> {
  const { log } = options;
  const deadlineMs = options.deadlineMs ?? WARMUP_DEADLINE_MS;
  log.debug(
    { frames: options.frames, rounds: WARMUP_ROUNDS, deadlineMs },
    `warming up: ${options.frames} frames through ${WARMUP_ROUNDS} private drivers in turn`,
  );
  const result = await inRounds(
    options,
    () => ({ peer: 0 }),
    (round) => rehearse(options, round),
  );
  const { frames, outcome, error } = result;
  if (outcome === 'deadline') {
    log.warn(
      { frames, asked: options.frames, deadlineMs },
      `warm-up stopped at its deadline after ${frames} of ${options.frames} frames; starting as it is`,
    );
  } else if (outcome === 'failed') {
    log.warn({ err: errorMessage(error), frames }, `warm-up failed after ${frames} frames, starting without it: ${error.message}`);
  } else if (outcome === 'stopped') {
    log.info({ frames }, `warm-up cut short after ${frames} frames: the service is stopping`);
  }
  return result;
}

/**
 * One round: a private driver and its peer, the round's frames (seq numbered on from the rounds before) or fewer if
 * its signal aborts first; the driver closed before the peer, as a service stops, before it returns.
 */
function rehearse(options: WarmUpOptions, round: Round<{ peer: number }>): Promise<number> {
  const { topics, log } = options;
  const { signal } = round;
  return withParts(round, async (parts) => {
    // An account of its own, drawn now: the peer lets in whoever presents it, and nobody else knows it.
    const account: Account = { username: `warm-up-${randomSecret(6)}`, password: randomSecret(24) };
    // The generation the real gateway stamps: its run, and one occupancy announced.
    const generation: Generation = { run: randomBytes(4).toString('hex'), gen: 1 };
    let frames = 0;
    let peer: ScriptedPeer | undefined;
    /** The seq of the frame whose state is awaited; undefined before the first. */
    let inFlight: number | undefined;
    /** The first round's pause before a frame (WARMUP_PACING). */
    let pause: NodeJS.Timeout | undefined;
    /** Told when the round's last state came back. */
    let allBack = () => {};
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
        if (signal.aborted || frames >= round.frames) return;
        // The driver says `online` once it has subscribed: from then on it takes gravity, as the gateway waits for it.
        if (topic === topics.driverStatus) {
          if (inFlight === undefined && decodeStatus(payload) === true) sendFrame(round.firstFrame);
          return;
        }
        if (topic !== topics.ledsState || inFlight === undefined) return;
        if (decodeLedState(payload)?.seq !== inFlight) return;
        frames++;
        if (frames >= round.frames) return allBack();
        const next = inFlight + 1;
        // The first round leaves V8's compiler threads time to keep up (WARMUP_PACING).
        if (!warmUpPauses(round.index, frames)) return sendFrame(next);
        pause = setTimeout(() => {
          pause = undefined;
          if (!signal.aborted) sendFrame(next);
        }, WARMUP_PACING.pauseMs);
      },
      // A refused account or a connection broken or closed before the round is over: the rehearsal cannot go on.
      ended(error) {
        parts.fail(error ?? new Error('the private driver disconnected'));
      },
    };
    const opened = await (options.startPeer ?? startScriptedPeer)({ account, script });
    peer = opened;
    parts.opened(async () => {
      try {
        await opened.close();
      } catch (error) {
        log.warn({ err: errorMessage(error) }, 'warm-up: the scripted peer did not close cleanly');
      }
    });
    round.ports.peer = opened.port;
    // Asked to stop (or out of time) while the peer was opening: no driver.
    if (signal.aborted) return 0;
    const driver = (options.startDriver ?? startLedDriver)({
      // Its own simulated LEDs, without a file, shaped as the real ones are: the real backend is never given here.
      backend: shaped(new SimBackend(), options.shape),
      mqttUrl: opened.url,
      account,
      topics,
      failsafeTimeoutMs: options.failsafeTimeoutMs,
      log: createLogger('led-driver', { LOG_LEVEL: 'silent', LOG_FORMAT: 'json' }),
      // Home Assistant discovery off, no onState: no metric of the real driver hears of it.
    });
    // Closed first, as a service stops: its `shutdown` state and `offline` go to the peer, which acknowledges them
    // (disconnectService bounds the wait); then the peer, which closes whatever is left.
    parts.opened(async () => {
      try {
        await driver.close();
      } catch (error) {
        log.warn({ err: errorMessage(error) }, 'warm-up: the private driver did not close cleanly');
      }
    });
    await until(signal, (ready) => {
      allBack = ready;
      return () => clearTimeout(pause);
    });
    return frames;
  });
}
