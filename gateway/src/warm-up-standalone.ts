/**
 * The gateway's start-up warm-up (WARMUP_FRAMES) when the broker is another process's (GATEWAY_HOSTS_BROKER=false:
 * the docker-compose layout, broker, gateway and led-driver in containers of their own). The gateway's hot path is
 * then its mqtt.js client to that broker (mqtt-bridge.ts, mqttHotPath in hot-path.ts): each gravity value an MQTT
 * PUBLISH over TCP, each LED state one back, through mqtt.js, mqtt-packet and Node's net and stream code. Before the
 * real gateway connects to the real broker or opens its ports, a private copy of that path drives frames, so that the
 * first phone meets compiled code, as the hosted warm-up (warm-up.ts) does for the process that hosts the broker.
 *
 * The rehearsal, all inside this process and gone once it returns, in WARMUP_ROUNDS rounds one after the other
 * (shared/src/warm-up-rounds.ts), each with parts of its own:
 * - a scripted MQTT peer (shared/src/scripted-peer.ts) that plays the broker and the led-driver behind it: on
 *   loopback, on an ephemeral port, for one connection with an account drawn for the round. When the gateway
 *   subscribes, it sends what a broker holds retained for it while a led-driver runs (its status `online`, its last
 *   state); each gravity value the gateway publishes it answers with the state the real led-driver would publish
 *   for it (encodeLedState, its seq copied), delivered as a broker delivers it on the gateway's QoS 1 subscription
 *   (QoS 1, RETAIN 0: a live message, not a replay, MQTT 3.1.1 section 3.3.1.3);
 * - the private gateway (warm-up-parts.ts: the real startGateway, its MQTT client to the peer's url with that
 *   account, loopback, a random token, a silent log, metrics of its own);
 * - the phone (warm-up-phone.ts), once the private gateway can drive the LEDs.
 *
 * Each round ends after its frames, at the warm-up's deadline, on a stop request or on the first error, and closes,
 * in order, the phone, the private gateway (its `offline` and DISCONNECT go to the peer) and the peer. Nothing of it
 * reaches the real broker (no connection to it exists yet), the LEDs, the real gateway's metrics or the log.
 */
import {
  type Account,
  encodeLedState,
  inRounds,
  ONLINE,
  type PeerScript,
  parseGravityPayload,
  type Round,
  type RoundsResult,
  randomSecret,
  type ScriptedPeer,
  type ScriptedPeerOptions,
  startScriptedPeer,
  topicsFor,
  withParts,
} from '@gravity-led/shared';
import { echoState, startPrivateGateway, startState } from './warm-up-parts.js';
import { drivePrivateGateway } from './warm-up-phone.js';

export interface StandaloneWarmUpOptions {
  /** Frames to round-trip (WARMUP_FRAMES), shared out to the rounds. */
  readonly frames: number;
  /** TOPIC_PREFIX: the private parts' topics are the real ones'. */
  readonly prefix: string;
  /** WARMUP_DEADLINE_MS unless given (tests). */
  readonly deadlineMs?: number;
  /** Ends the warm-up early: the service is asked to stop while it runs. */
  readonly signal?: AbortSignal;
  /** Tests only: the peer answers this many gravity values, then none, as a led-driver that hangs. */
  readonly peerAnswers?: number;
  /** startScriptedPeer, unless a test wraps it (to see each peer, or to hold one up while it opens). */
  readonly startPeer?: (options: ScriptedPeerOptions) => Promise<ScriptedPeer>;
}

/** What the standalone warm-up did; its rounds' ports are a scripted peer's and a private gateway's. */
export type StandaloneWarmUpResult = RoundsResult<{ readonly peer: number; readonly gateway: number }>;

/**
 * Runs the rehearsal, WARMUP_ROUNDS rounds in turn. Resolves once everything it opened is closed, with what it did
 * and why it ended (outcome 'failed' and the error when one of its parts failed); never rejects.
 */
export function warmUpStandalone(options: StandaloneWarmUpOptions): Promise<StandaloneWarmUpResult> {
  return inRounds(
    options,
    () => ({ peer: 0, gateway: 0 }),
    (round) => rehearse(options, round),
  );
}

/**
 * One round: a scripted peer, a private gateway on it and a phone, the round's frames or fewer if its signal aborts
 * first; all of them closed, in reverse order, before it returns. A step that fails, a part that fails while the
 * frames run, or a closing that fails ends the warm-up (withParts).
 */
function rehearse(options: StandaloneWarmUpOptions, round: Round<{ peer: number; gateway: number }>): Promise<number> {
  return withParts(round, async (parts) => {
    const topics = topicsFor(options.prefix);
    // An account of the round's own, drawn now: the peer lets in whoever presents it, and nobody else knows it.
    const account: Account = { username: `warm-up-${randomSecret(6)}`, password: randomSecret(24) };
    let answers = options.peerAnswers ?? Number.POSITIVE_INFINITY;
    let peer: ScriptedPeer | undefined;
    const script: PeerScript = {
      subscribed(filters) {
        // A broker sends the retained messages matching a new subscription after its SUBACK, marked retained
        // [MQTT-3.3.1-6, MQTT-3.3.1-8]: here, what a running led-driver has left on its topics.
        if (filters.includes(topics.driverStatus)) peer?.publish(topics.driverStatus, ONLINE, { qos: 1, retain: true });
        if (filters.includes(topics.ledsState)) peer?.publish(topics.ledsState, encodeLedState(startState()), { qos: 1, retain: true });
      },
      published(topic, payload) {
        if (topic !== topics.gravity || answers <= 0) return;
        const parsed = parseGravityPayload(payload);
        if (!parsed.ok) return parts.fail(new Error(`the scripted peer got a gravity value it cannot read: ${parsed.message}`));
        answers--;
        peer?.publish(topics.ledsState, encodeLedState(echoState(parsed.value.y, parsed.value.seq)), { qos: 1 });
      },
      // A refused account or a connection broken or closed: the rehearsal cannot go on, say why rather than wait
      // for its deadline.
      ended(error) {
        parts.fail(error ?? new Error('the private gateway disconnected from the scripted peer'));
      },
    };
    peer = await (options.startPeer ?? startScriptedPeer)({ account, script });
    const opened = peer;
    parts.opened(() => opened.close());
    round.ports.peer = peer.port;
    if (round.signal.aborted) return 0;
    const { gateway, token } = await startPrivateGateway({ url: peer.url }, account, topics);
    parts.opened(() => gateway.close());
    round.ports.gateway = gateway.port;
    return drivePrivateGateway(gateway, token, round, parts);
  });
}
