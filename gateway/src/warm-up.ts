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
 * (shared/src/warm-up-rounds.ts: each with parts of its own, the frames shared out), so that what V8 compiles is not
 * specialised to one instance:
 * - the private broker: loopback TCP on an ephemeral port, no other door, fresh random accounts, a silent log, nothing
 *   written to DATA_DIR (startPrivateBroker);
 * - the private gateway on it (warm-up-parts.ts), on an ephemeral loopback port, no HTTPS, a random token, one
 *   controller, the highest GATEWAY_MAX_RATE (so that no closed-loop frame is ever coalesced), a silent log;
 * - an echo led-driver: an MQTT client connected as the real led-driver connects (connectService, its status topic
 *   and subscriptions, their QoS) over the private broker's TCP port, which answers each gravity value with the state
 *   the real led-driver would publish (seq copied, QoS 1, retained, through a LatestValuePublisher as the real one);
 *   so the broker's TCP side (the packet guard, Aedes' forwarding, retained storage, PUBACKs) is warm too;
 * - a phone (warm-up-phone.ts): a WebSocket client that presents its token as the phone page does, sends frames as
 *   the page builds them, each once the state of the previous one came back (closed loop), the seed's text and
 *   binary frames mixed in.
 *
 * Each round ends after its frames, at the warm-up's deadline, on a stop request or on the first error, and closes,
 * in order, the phone, the echo led-driver, the private gateway and the private broker, leaving no port, timer or
 * listener behind. Nothing of it reaches the real broker, the LEDs, the real gateway's metrics or the log.
 *
 * When the broker is another process's, the gateway rehearses against a scripted peer instead (warm-up-standalone.ts).
 */
import {
  type Account,
  bounded,
  CLOSE_PATIENCE_MS,
  connectService,
  disconnectService,
  encodeLedState,
  inRounds,
  LatestValuePublisher,
  parseGravityPayload,
  type Round,
  type RoundsResult,
  randomSecret,
  type Topics,
  topicsFor,
  withParts,
} from '@gravity-led/shared';
import type { MqttClient } from 'mqtt';
import { type PrivateBroker, startPrivateBroker } from './hosted-broker.js';
import { echoState, startPrivateGateway, startState } from './warm-up-parts.js';
import { drivePrivateGateway } from './warm-up-phone.js';

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

/** What the hosted warm-up did; its rounds' ports are a private broker's and a private gateway's. */
export type WarmUpResult = RoundsResult<{ readonly broker: number; readonly gateway: number }>;

/**
 * Runs the rehearsal, WARMUP_ROUNDS rounds in turn. Resolves once everything it opened is closed, with what it did
 * and why it ended (outcome 'failed' and the error when one of its parts failed); never rejects.
 */
export function warmUp(options: WarmUpOptions): Promise<WarmUpResult> {
  return inRounds(
    options,
    () => ({ broker: 0, gateway: 0 }),
    (round) => rehearse(options, round),
  );
}

/**
 * One round: a private broker, gateway, echo led-driver and phone, the round's frames or fewer if its signal aborts
 * first; all of them closed, in reverse order, before it returns. The ports it opens are written to the round's as
 * they open. A step that fails, a part that fails while the frames run, or a closing that fails ends the warm-up
 * (withParts).
 */
function rehearse(options: WarmUpOptions, round: Round<{ broker: number; gateway: number }>): Promise<number> {
  const { signal } = round;
  return withParts(round, async (parts) => {
    const topics = topicsFor(options.prefix);
    // Accounts of the rehearsal's own, never the real ones: nothing that connects to the private broker could reach
    // the real one with them, nor the other way round.
    const accounts = {
      service: { username: 'warm-up-service', password: randomSecret(24) },
      operator: { username: 'warm-up-operator', password: randomSecret(18) },
    };
    const broker: PrivateBroker = await startPrivateBroker(options.prefix, accounts);
    parts.opened(() => broker.stop());
    round.ports.broker = broker.port;
    if (signal.aborted) return 0;
    const { gateway, token } = await startPrivateGateway({ url: 'in-process', hosted: broker }, accounts.service, topics);
    parts.opened(() => gateway.close());
    round.ports.gateway = gateway.port;
    const echo = startEchoDriver(broker.port, accounts.service, topics, options.echoAnswers, parts.fail);
    parts.opened(() => echo.close());
    // The echo led-driver announces `online` once its subscriptions are made: from then on no value is lost.
    return drivePrivateGateway(gateway, token, round, parts);
  });
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
  states.publish(encodeLedState(startState()));
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
