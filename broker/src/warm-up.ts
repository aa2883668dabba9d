/**
 * The broker's warm-up (WARMUP_FRAMES), when it runs as a service of its own (`npm start -w broker`, its container):
 * before its doors open, a private broker carries frames between two scripted clients exactly as the gateway and the
 * led-driver exchange them (a gravity value at QoS 0 one way, the retained LED state at QoS 1 back, acknowledged), one
 * frame after the other as a phone drives them. V8 keeps what it learns and compiles per function, not per instance,
 * so the real broker's first frames then run compiled code instead of the interpreter's (docs/performance.md).
 *
 * Nothing of it reaches the real broker: it is another Aedes instance with accounts of its own, drawn at random, on a
 * port of the OS's choice on 127.0.0.1, closed when the rehearsal ends; its log is silenced. When the gateway hosts
 * the broker, the gateway's warm-up rehearses it (gateway/src/warm-up.ts).
 *
 * In WARMUP_ROUNDS rounds, each with a private broker and clients of its own, within one deadline, cut short at once
 * by a stop and ended by the first error: the rounds of every warm-up, shared/src/warm-up-rounds.ts (inRounds,
 * withParts); what is here is what a round opens and how it drives its frames.
 */
import {
  type Account,
  createLogger,
  encodeGravityJson,
  encodeLedState,
  inRounds,
  type Round,
  type RoundsResult,
  randomSecret,
  topicsFor,
  until,
  WARMUP_PACING,
  warmUpPauses,
  withParts,
} from '@gravity-led/shared';
import { startBroker } from './broker.js';
import { WarmUpClient } from './warm-up-client.js';

export interface WarmUpOptions {
  readonly frames: number;
  /** TOPIC_PREFIX: the private broker's permissions are built from the same rules for the same topics. */
  readonly prefix: string;
  /** A stop asked for meanwhile ends it at once. */
  readonly signal?: AbortSignal;
  /** For tests; WARMUP_DEADLINE_MS otherwise. */
  readonly deadlineMs?: number;
}

/** What the broker's warm-up did (frames that made the whole round trip) and why it ended; its rounds' ports are a private broker's. */
export type WarmUpResult = RoundsResult<{ readonly broker: number }>;

const account = (role: string): Account => ({ username: `warm-up-${role}`, password: randomSecret(24) });

/**
 * Runs the rehearsal, WARMUP_ROUNDS rounds in turn. Resolves once everything it opened is closed, with what it did
 * and why it ended (outcome 'failed' and the error when one of its parts failed); never rejects.
 */
export function warmUpBroker(options: WarmUpOptions): Promise<WarmUpResult> {
  return inRounds(
    options,
    () => ({ broker: 0 }),
    (round) => rehearse(options, round),
  );
}

/**
 * One round: a private broker and its two clients, the round's frames (seq numbered on from the rounds before) or
 * fewer if its signal aborts first; all of them closed, in reverse order, before it returns.
 */
function rehearse(options: WarmUpOptions, round: Round<{ broker: number }>): Promise<number> {
  const { signal } = round;
  return withParts(round, async (parts) => {
    const topics = topicsFor(options.prefix);
    const service = account('service');
    const broker = await startBroker({
      host: '127.0.0.1',
      port: 0,
      wsPort: 0,
      tlsPort: 0,
      secrets: { service, operator: account('operator') },
      prefix: options.prefix,
      topics,
      log: createLogger('broker', { LOG_LEVEL: 'silent', LOG_FORMAT: 'json' }),
    });
    parts.opened(() => broker.close());
    const port = broker.listeners[0]?.port ?? 0;
    round.ports.broker = port;
    // A stop asked for while the broker was still opening is seen now.
    if (signal.aborted) return 0;
    const gateway = await WarmUpClient.open(port, service, 'warm-up-gateway');
    parts.opened(async () => gateway.close());
    const driver = await WarmUpClient.open(port, service, 'warm-up-led-driver');
    parts.opened(async () => driver.close());
    // The subscriptions the real services make for the hot path, with their QoS (docs/safety.md).
    await driver.subscribe(topics.gravity, 0);
    await gateway.subscribe(topics.ledsState, 1);
    const generation = { run: 'warm-up', gen: 1 };
    let done = 0;
    await until(signal, (ready) => {
      let pause: NodeJS.Timeout | undefined;
      const send = () => {
        pause = undefined;
        if (done >= round.frames) return ready();
        const seq = round.firstFrame + done;
        // y changes every frame, as a tilting phone's does, so that every frame makes a new state.
        const y = ((seq % 19) - 9) / 10;
        gateway.publish(topics.gravity, encodeGravityJson({ x: 0.1, y, z: 9.7, seq }, generation), 0, false);
      };
      driver.onMessage = (_topic, payload) => {
        const { y, seq } = JSON.parse(payload.toString()) as { y: number; seq: number };
        const duty = Math.round(Math.abs(y) * 100);
        const state = { left: y < 0 ? duty : 0, right: y > 0 ? duty : 0, reason: 'gravity' as const, seq, ts: Date.now() };
        driver.publish(topics.ledsState, encodeLedState(state), 1, true);
      };
      gateway.onMessage = (_topic, payload) => {
        const { seq } = JSON.parse(payload.toString()) as { seq?: number };
        if (signal.aborted || seq !== round.firstFrame + done) return; // ended, or an older state
        done++;
        // The first round leaves V8's compiler threads time to keep up (WARMUP_PACING).
        if (!warmUpPauses(round.index, done)) return send();
        pause = setTimeout(send, WARMUP_PACING.pauseMs);
      };
      for (const client of [gateway, driver]) client.onFailure(parts.fail);
      send();
      return () => clearTimeout(pause);
    });
    return done;
  });
}
