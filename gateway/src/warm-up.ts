/**
 * The gateway's start-up warm-up (WARMUP_FRAMES), for the process that hosts the broker: before the real gateway
 * opens its ports, a rehearsal of this process's whole hot path drives frames through a private copy of it, so that
 * the first phone meets compiled code rather than the interpreter (the first second of a session was 3-4 times
 * slower than the rest: docs/performance.md).
 *
 * Why a private copy warms the real one: V8 keeps its type feedback and its optimised code per function literal,
 * shared by every closure made at the same site and by every instance of a class. So a second broker (the real
 * broker's code, startBroker, with its permissions, packet guard, local client and retained store), a second
 * gateway (startGateway: its WebSocket door, sessions, parsers, throttle, bridge and metrics) and a second hot path
 * between them (hosted-broker.ts builds it for both) compile exactly what the real ones will run, while sharing no
 * object, no port and no message with them.
 *
 * The rehearsal, all of it inside this process and gone once it returns, in WARMUP_ROUNDS rounds one after the other
 * (each with parts of its own, the frames shared out), so that what V8 compiles is not specialised to one instance:
 * - the private broker: loopback TCP on an ephemeral port, no other door, fresh random accounts, a silent log, nothing
 *   written to DATA_DIR (startPrivateBroker);
 * - the private gateway on it, on an ephemeral loopback port, no HTTPS, a random token, one controller, the highest
 *   GATEWAY_MAX_RATE (so that no closed-loop frame is ever coalesced), a silent log;
 * - an echo led-driver: an MQTT client connected as the real led-driver connects (connectService, its status topic
 *   and subscriptions, their QoS) over the private broker's TCP port, which answers each gravity value with the state
 *   the real led-driver would publish (seq copied, QoS 1, retained, through a LatestValuePublisher as the real one);
 *   so the broker's TCP side (the packet guard, Aedes' forwarding, retained storage, PUBACKs) is warm too;
 * - a phone: a WebSocket client that presents its token as the phone page does (a subprotocol), sends frames as the
 *   page builds them (JSON x, y, z, seq; y changing every frame), each once the state of the previous one came back
 *   (closed loop, as bench/controller-client.ts measures), with some seed text and 12-byte binary frames mixed in so
 *   that every parser the gateway accepts is warm.
 *
 * Each round ends after its frames, at the warm-up's deadline, on a stop request or on the first error, and closes,
 * in order, the phone, the echo led-driver, the private gateway and the private broker, leaving no port, timer or
 * listener behind. Nothing of it reaches the real broker, the LEDs, the real gateway's metrics or the log.
 */
import {
  type Account,
  connectService,
  createLogger,
  disconnectService,
  encodeGravityBinary,
  encodeLedState,
  errorMessage,
  LatestValuePublisher,
  type LedState,
  parseGravityPayload,
  randomSecret,
  type Topics,
  topicsFor,
  VARIABLES,
  WARMUP_DEADLINE_MS,
  WARMUP_PACING,
  WARMUP_ROUNDS,
  warmUpShare,
} from '@gravity-led/shared';
import type { MqttClient } from 'mqtt';
import WebSocket from 'ws';
import { type RunningGateway, startGateway } from './gateway.js';
import { type PrivateBroker, startPrivateBroker } from './hosted-broker.js';
import { tokenProtocols } from './protocol.js';

/** How long each private part may take to close before it is simply dropped. */
const CLOSE_PATIENCE_MS = 1000;

export interface WarmUpOptions {
  /** Frames to round-trip (WARMUP_FRAMES), shared out to the rounds. */
  readonly frames: number;
  /** TOPIC_PREFIX: the private broker's permissions and the private parts' topics are the real ones'. */
  readonly prefix: string;
  /** WARMUP_DEADLINE_MS unless given (tests). */
  readonly deadlineMs?: number;
  /** Ends the warm-up early: the service is asked to stop while it runs. */
  readonly signal?: AbortSignal;
  /** Tests only: the echo led-driver answers this many gravity values, then none, as a driver that hangs. */
  readonly echoAnswers?: number;
}

/** Why the warm-up ended: all frames done, its deadline, or a stop request. An error is thrown instead. */
export type WarmUpOutcome = 'done' | 'deadline' | 'stopped';

export interface WarmUpResult {
  /** Frames whose state came back to the phone, all rounds together. */
  readonly frames: number;
  /** From its start until everything it opened was closed. */
  readonly ms: number;
  readonly outcome: WarmUpOutcome;
  /** The ephemeral loopback ports each round used, all closed by now (0 for one it did not get to open). */
  readonly ports: readonly { readonly broker: number; readonly gateway: number }[];
}

/** The reason a rehearsal ends early: its deadline, a stop request, or an error of one of its parts. */
type Ending = 'deadline' | 'stopped' | Error;

/**
 * Runs the rehearsal, WARMUP_ROUNDS rounds in turn. Resolves once everything it opened is closed, with what it did;
 * rejects (also after closing everything) when one of its parts failed.
 */
export async function warmUp(options: WarmUpOptions): Promise<WarmUpResult> {
  const startedAt = performance.now();
  const ending = new AbortController();
  const end = (why: Ending) => {
    if (!ending.signal.aborted) ending.abort(why);
  };
  const deadline = setTimeout(() => end('deadline'), options.deadlineMs ?? WARMUP_DEADLINE_MS);
  const onStop = () => end('stopped');
  if (options.signal?.aborted) end('stopped');
  options.signal?.addEventListener('abort', onStop, { once: true });
  const ports: { broker: number; gateway: number }[] = [];
  let frames = 0;
  try {
    for (let round = 0; round < WARMUP_ROUNDS && !ending.signal.aborted; round++) {
      // The frames shared out as evenly as whole frames go; a round with none is left out.
      const share = warmUpShare(options.frames, round);
      if (share === 0) continue;
      const used = { broker: 0, gateway: 0 };
      ports.push(used);
      frames += await rehearse(options, share, round < WARMUP_PACING.rounds, used, ending.signal, end);
    }
  } finally {
    clearTimeout(deadline);
    options.signal?.removeEventListener('abort', onStop);
  }
  const why: unknown = ending.signal.reason;
  if (why instanceof Error) throw why;
  const outcome: WarmUpOutcome = frames >= options.frames ? 'done' : why === 'stopped' ? 'stopped' : 'deadline';
  return { frames, ms: Math.round(performance.now() - startedAt), outcome, ports };
}

/**
 * One round: a private broker, gateway, echo led-driver and phone, `frames` round trips (`paced`: see WARMUP_PACING)
 * or fewer if `signal` aborts first; all of them closed, in reverse order, before it returns. The ports it opens are written to `ports` as they
 * open. Rejects (after closing) when a step fails; a part that fails while the frames run ends the warm-up (`end`).
 */
async function rehearse(
  options: WarmUpOptions,
  frames: number,
  paced: boolean,
  ports: { broker: number; gateway: number },
  signal: AbortSignal,
  end: (why: Ending) => void,
): Promise<number> {
  // From when the round closes, what its parts report is their closing (a PUBACK the echo led-driver owes for an
  // occupancy the private gateway published as the phone left, written after its end), not a failure.
  let closing = false;
  const fail = (error: Error) => {
    if (!closing) end(error);
  };
  // What was opened, to close in reverse order whatever happens.
  const opened: (() => Promise<unknown>)[] = [];
  let done = 0;
  let failure: Error | undefined;
  try {
    const topics = topicsFor(options.prefix);
    // Accounts of the rehearsal's own, never the real ones: nothing that connects to the private broker could reach
    // the real one with them, nor the other way round.
    const accounts = {
      service: { username: 'warm-up-service', password: randomSecret(24) },
      operator: { username: 'warm-up-operator', password: randomSecret(18) },
    };
    const broker: PrivateBroker = await startPrivateBroker(options.prefix, accounts);
    opened.push(() => broker.stop());
    ports.broker = broker.port;
    if (!signal.aborted) {
      const token = randomSecret(18);
      const gateway = await startPrivateGateway(broker, accounts.service, topics, token);
      opened.push(() => gateway.close());
      ports.gateway = gateway.port;
      const echo = startEchoDriver(broker.port, accounts.service, topics, options.echoAnswers, fail);
      opened.push(() => echo.close());
      // The echo led-driver announces `online` once its subscriptions are made: from then on no value is lost.
      await until(signal, (ready) => {
        if (gateway.bridge.isAvailable) {
          ready();
          return undefined;
        }
        const onAvailability = (available: boolean) => available && ready();
        gateway.bridge.on('availability', onAvailability);
        return () => gateway.bridge.off('availability', onAvailability);
      });
      if (!signal.aborted) {
        const phone = await connectPhone(gateway.port, token, signal);
        if (phone) {
          opened.push(() => phone.close());
          done = await phone.drive(frames, paced, signal);
        }
      }
    }
  } catch (error) {
    failure = error instanceof Error ? error : new Error(errorMessage(error));
  } finally {
    closing = true;
    for (const close of opened.reverse()) {
      try {
        await close();
      } catch (error) {
        failure ??= new Error(`closing the warm-up failed: ${errorMessage(error)}`);
      }
    }
  }
  if (failure) throw failure;
  return done;
}

/**
 * Waits until `register`'s `ready` is called or `signal` aborts, whichever first; `register` returns how to undo what
 * it registered (or nothing, when it was ready at once).
 */
function until(signal: AbortSignal, register: (ready: () => void) => (() => void) | undefined): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    let undo: (() => void) | undefined;
    let settled = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', finish);
      undo?.();
      resolve();
    };
    signal.addEventListener('abort', finish, { once: true });
    undo = register(finish);
    if (settled) undo?.();
  });
}

/** A promise that settles within `ms` whatever `promise` does: a part that does not close in time is left to GC. */
function bounded(promise: Promise<unknown>, ms: number, onLate: () => void = () => {}): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      onLate();
      resolve();
    }, ms);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    promise.then(done, done);
  });
}

/** The real gateway's code on the private broker, reachable on loopback only, with nothing logged. */
function startPrivateGateway(broker: PrivateBroker, account: Account, topics: Topics, token: string): Promise<RunningGateway> {
  return startGateway({
    host: '127.0.0.1',
    port: 0,
    httpsPort: 0,
    auth: 'token',
    token,
    maxClients: 1,
    // The highest rate allowed: the rehearsal's closed loop sends the next frame as soon as a state comes back, and no
    // frame may be coalesced by the throttle (its state would never come).
    maxRate: VARIABLES.GATEWAY_MAX_RATE.max,
    mqttUrl: 'in-process',
    hostedBroker: broker,
    account,
    topics,
    log: createLogger('gateway', { LOG_LEVEL: 'silent', LOG_FORMAT: 'json' }),
  });
}

/** The seed's LED rule (led-driver/src/led-rule.ts, which the gateway does not import): it only shapes the states. */
function echoState(y: number, seq: number | undefined): LedState {
  const duty = (v: number) => (v >= 100 ? 100 : Math.round(v * 100) / 100);
  const left = y < 0 ? duty(-y) : 0;
  const right = y > 0 ? duty(y) : 0;
  return seq === undefined ? { left, right, reason: 'gravity', ts: Date.now() } : { left, right, reason: 'gravity', seq, ts: Date.now() };
}

/**
 * The led-driver's side of the rehearsal: connected as the real led-driver connects (led-driver/src/led-driver.ts:
 * connectService with its client name, status topic and subscriptions, each at the same QoS), it answers every
 * gravity value with a state, published as the real one publishes it (a LatestValuePublisher, QoS 1, retained).
 */
function startEchoDriver(
  port: number,
  account: Account,
  topics: Topics,
  answers: number | undefined,
  fail: (error: Error) => void,
): { close(): Promise<void> } {
  const client: MqttClient = connectService({
    url: `mqtt://127.0.0.1:${port}`,
    account,
    service: 'led-driver',
    statusTopic: topics.driverStatus,
    subscriptions: {
      [topics.gravity]: 0,
      [topics.gatewayStatus]: 1,
      [topics.gatewayClients]: 1,
      [topics.ledsSet]: 1,
      [topics.ledsLeftSet]: 1,
      [topics.ledsRightSet]: 1,
    },
  });
  const states = new LatestValuePublisher(client, topics.ledsState, { retain: true });
  // What the real led-driver publishes first: its LEDs off, at start.
  states.publish(encodeLedState({ left: 0, right: 0, reason: 'start', ts: Date.now() }));
  let left = answers ?? Number.POSITIVE_INFINITY;
  client.on('message', (topic, payload, packet) => {
    if (topic !== topics.gravity || packet.retain || left <= 0) return;
    const parsed = parseGravityPayload(payload);
    if (!parsed.ok) return fail(new Error(`the echo led-driver got a gravity value it cannot read: ${parsed.message}`));
    left--;
    states.publish(encodeLedState(echoState(parsed.value.y, parsed.value.seq)));
  });
  // A refused account or a broken connection: the rehearsal cannot work, say why rather than wait for its deadline.
  client.on('error', (error) => fail(new Error(`the echo led-driver's MQTT connection failed: ${error.message}`)));
  return {
    async close() {
      states.stop();
      await bounded(disconnectService(client, topics.driverStatus), CLOSE_PATIENCE_MS, () => client.end(true));
    },
  };
}

/** The rehearsal's phone page. */
interface Phone {
  /**
   * Sends frames in closed loop until `frames` states came back or `signal` aborts, `paced` or at full speed (see
   * WARMUP_PACING); resolves with how many came back.
   */
  drive(frames: number, paced: boolean, signal: AbortSignal): Promise<number>;
  close(): Promise<void>;
}

/**
 * Connects as the phone page does (gateway/public/link.js: the token as a subprotocol, at `/`) and waits for the
 * gateway's hello; undefined when `signal` aborts first. Rejects when the gateway refuses or closes the link.
 */
async function connectPhone(port: number, token: string, signal: AbortSignal): Promise<Phone | undefined> {
  const socket = new WebSocket(`ws://127.0.0.1:${port}/`, tokenProtocols(token));
  const close = async () => {
    if (socket.readyState === WebSocket.CLOSED) return;
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    if (socket.readyState === WebSocket.CONNECTING) socket.terminate();
    else socket.close(1000, 'warm-up done');
    await bounded(closed, CLOSE_PATIENCE_MS, () => socket.terminate());
  };
  // Any failure of the link before the rehearsal is over: the promise that waits on it gets it.
  let broken: ((error: Error) => void) | undefined;
  socket.on('error', (error) => broken?.(new Error(`the warm-up phone's link failed: ${error.message}`)));
  socket.on('close', (code, reason) =>
    broken?.(new Error(`the private gateway closed the warm-up phone's link: ${code} ${reason.toString() || '(no reason)'}`)),
  );
  let helloFailure: Error | undefined;
  await until(signal, (ready) => {
    broken = (error) => {
      helloFailure ??= error;
      ready();
    };
    const onHello = (data: WebSocket.RawData, isBinary: boolean) => {
      if (!isBinary && data.toString().startsWith('{"type":"hello"')) ready();
    };
    socket.on('message', onHello);
    return () => {
      socket.off('message', onHello);
      broken = undefined;
    };
  });
  if (helloFailure || signal.aborted) {
    await close();
    if (helloFailure) throw helloFailure;
    return undefined;
  }
  return {
    close,
    drive(frames, paced, driveSignal) {
      return new Promise<number>((resolve, reject) => {
        // The page starts its frame numbers at random (phone.js); so does this phone.
        const firstSeq = Math.floor(Math.random() * 2 ** 30);
        let sent = 0;
        let answered = 0;
        // The seq whose state is awaited; undefined for a seed text or binary frame, whose state has none. `null`
        // before the first frame: no state matches it (a replayed one after hello has no seq, or another's).
        let awaited: number | undefined | null = null;
        let pause: NodeJS.Timeout | undefined;
        const finish = (error?: Error) => {
          clearTimeout(pause);
          socket.off('message', onMessage);
          driveSignal.removeEventListener('abort', onAbort);
          broken = undefined;
          if (error) reject(error);
          else resolve(answered);
        };
        const onAbort = () => finish();
        broken = finish;
        const next = () => {
          pause = undefined;
          if (answered >= frames) return finish();
          const i = sent++;
          // A tilt sweeping from left to right and back, rounded as the page rounds it: y changes every frame.
          const sweep = (i * 0.37) % 360;
          const y = round2(sweep <= 180 ? sweep - 90 : 270 - sweep);
          const rest = Math.sqrt(100 * 100 - y * y);
          const x = round2(rest * 0.6);
          const z = round2(rest * 0.8);
          // Mostly the page's JSON and, from the fifth frame on, one frame in ten in each seed format.
          if (i % 10 === 4) {
            awaited = undefined;
            socket.send(`${x} ${y} ${z}`);
          } else if (i % 10 === 8) {
            awaited = undefined;
            socket.send(encodeGravityBinary(x, y, z));
          } else {
            const seq = firstSeq + i;
            awaited = seq;
            socket.send(JSON.stringify({ x, y, z, seq }));
          }
        };
        const onMessage = (data: WebSocket.RawData, isBinary: boolean) => {
          if (isBinary) return;
          const text = data.toString();
          if (!text.startsWith('{"type":"state"')) return;
          const state = JSON.parse(text) as { seq?: number };
          if (state.seq !== awaited) return;
          answered++;
          if (paced && answered % WARMUP_PACING.every === 0) pause = setTimeout(next, WARMUP_PACING.pauseMs);
          else next();
        };
        if (driveSignal.aborted) return finish();
        driveSignal.addEventListener('abort', onAbort, { once: true });
        socket.on('message', onMessage);
        next();
      });
    },
  };
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
