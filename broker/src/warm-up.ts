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
 */
import {
  type Account,
  createLogger,
  encodeGravityJson,
  encodeLedState,
  errorMessage,
  randomSecret,
  topicsFor,
  WARMUP_DEADLINE_MS,
  WARMUP_PACING,
  WARMUP_ROUNDS,
  warmUpPauses,
  warmUpShare,
} from '@gravity-led/shared';
import { type RunningBroker, startBroker } from './broker.js';
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

export interface WarmUpResult {
  /** Frames that made the whole round trip. */
  readonly frames: number;
  readonly ms: number;
  /** Why it ended before `frames`: the deadline, a stop, or an error. */
  readonly cutShort?: string;
}

const account = (role: string): Account => ({ username: `warm-up-${role}`, password: randomSecret(24) });

export async function warmUpBroker(options: WarmUpOptions): Promise<WarmUpResult> {
  const started = performance.now();
  const deadline = started + (options.deadlineMs ?? WARMUP_DEADLINE_MS);
  let frames = 0;
  for (let round = 0; round < WARMUP_ROUNDS; round++) {
    // The frames shared out as evenly as whole frames go; a round with none is left out.
    const share = warmUpShare(options.frames, round);
    if (share === 0) continue;
    const result = await rehearse(options, round, share, frames, deadline - performance.now());
    frames += result.frames;
    if (result.cutShort) return { frames, ms: Math.round(performance.now() - started), cutShort: result.cutShort };
  }
  return { frames, ms: Math.round(performance.now() - started) };
}

/** Round `round`: one private broker and its two clients, `frames` round trips (seq from `firstSeq`), within `remainingMs`. */
async function rehearse(
  options: WarmUpOptions,
  round: number,
  frames: number,
  firstSeq: number,
  remainingMs: number,
): Promise<{ frames: number; cutShort?: string }> {
  const topics = topicsFor(options.prefix);
  const service = account('service');
  let broker: RunningBroker | undefined;
  const clients: WarmUpClient[] = [];
  let done = 0;
  let timer: NodeJS.Timeout | undefined;
  let pause: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  try {
    if (options.signal?.aborted) return { frames: 0, cutShort: 'stopped' };
    if (remainingMs <= 0) return { frames: 0, cutShort: 'deadline' };
    broker = await startBroker({
      host: '127.0.0.1',
      port: 0,
      wsPort: 0,
      tlsPort: 0,
      secrets: { service, operator: account('operator') },
      prefix: options.prefix,
      topics,
      log: createLogger('broker', { LOG_LEVEL: 'silent', LOG_FORMAT: 'json' }),
    });
    const port = broker.listeners[0]?.port ?? 0;
    const gateway = await WarmUpClient.open(port, service, 'warm-up-gateway');
    clients.push(gateway);
    const driver = await WarmUpClient.open(port, service, 'warm-up-led-driver');
    clients.push(driver);
    // The subscriptions the real services make for the hot path, with their QoS (docs/safety.md).
    await driver.subscribe(topics.gravity, 0);
    await gateway.subscribe(topics.ledsState, 1);
    const generation = { run: 'warm-up', gen: 1 };
    await new Promise<void>((resolve, reject) => {
      const send = () => {
        if (done >= frames) return resolve();
        const seq = firstSeq + done;
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
        if (seq !== firstSeq + done) return; // an older state
        done++;
        // The first round leaves V8's compiler threads time to keep up (WARMUP_PACING).
        if (!warmUpPauses(round, done)) return send();
        pause = setTimeout(send, WARMUP_PACING.pauseMs);
      };
      for (const client of clients) client.onFailure(reject);
      timer = setTimeout(() => reject(new Error('deadline')), remainingMs);
      onAbort = () => reject(new Error('stopped'));
      // A stop asked for while the broker and its clients were still opening is seen now.
      if (options.signal?.aborted) return onAbort();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      send();
    });
    return { frames: done };
  } catch (error) {
    return { frames: done, cutShort: errorMessage(error) };
  } finally {
    clearTimeout(timer);
    clearTimeout(pause);
    if (onAbort) options.signal?.removeEventListener('abort', onAbort);
    for (const client of clients) client.close();
    await broker?.close();
  }
}
