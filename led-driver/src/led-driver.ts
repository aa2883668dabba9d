/**
 * The led-driver assembled: MQTT inputs (gravity, the gateway's availability and occupancy), the LED rule,
 * the output, and every fail-safe that turns both LEDs off when control is lost.
 *
 * Order and loss on MQTT (docs/safety.md, "What is guaranteed, and by whom"): gravity is read latest-value-wins
 * (LatestValueInput); the gateway's generation orders its occupancy against its gravity (GatewayPresence); the state
 * goes out through a LatestValuePublisher, and everything this driver publishes is QoS 1 (the rule is written down in
 * shared/src/latest-value-publisher.ts).
 */
import {
  type Account,
  connectService,
  decodeGatewayClients,
  decodeStatus,
  disconnectService,
  encodeLedState,
  type GravityMessage,
  LatestValuePublisher,
  type LedState,
  type Logger,
  OFF,
  parseGravityPayload,
  RefusalLog,
  type Topics,
  VARIABLES,
} from '@gravity-led/shared';
import type { MqttClient } from 'mqtt';
import type { LedBackend } from './backends/backend.js';
import { GatewayPresence } from './gateway-presence.js';
import { HaDiscovery } from './ha-discovery.js';
import { HaState } from './ha-state.js';
import { LatestValueInput } from './latest-value-input.js';
import { LedOutput } from './led-output.js';
import { dutyFromGravity } from './led-rule.js';
import { ManualControl, type Refuse, type TopicHandler } from './manual-control.js';
import { Watchdog } from './watchdog.js';

/** How often refused payloads are summed up in the log. */
export const SUMMARY_INTERVAL_MS = 60_000;

export interface LedDriverOptions {
  readonly backend: LedBackend;
  readonly mqttUrl: string;
  readonly account: Account;
  readonly topics: Topics;
  readonly failsafeTimeoutMs: number;
  readonly log: Logger;
  /** Home Assistant discovery (HA_DISCOVERY, HA_DISCOVERY_PREFIX); off and leftovers removed when not given. */
  readonly haDiscovery?: { readonly enabled: boolean; readonly prefix: string; readonly topicPrefix: string };
  /** Told of every applied state, for metrics. */
  readonly onState?: (state: LedState) => void;
}

/**
 * How the driver handles messages on one topic. `retained`: whether retained messages (the broker's replay) are
 * handled too. `qos`: of the subscription; 1 for what must not be lost, 0 for a stream whose next value supersedes it.
 */
interface Route {
  readonly handle: TopicHandler;
  readonly retained: boolean;
  readonly qos: 0 | 1;
}

export interface RunningLedDriver {
  readonly output: LedOutput;
  readonly client: MqttClient;
  /** Refused payloads, by `topic kind`. */
  readonly rejections: RefusalLog;
  /** Messages ignored as older than the gateway's generation already seen, by topic. */
  readonly superseded: ReadonlyMap<string, number>;
  readonly manual: ManualControl;
  /** The gravity input and the state output, for metrics: how much latest-value-wins left out. */
  readonly gravityInput: LatestValueInput<GravityMessage>;
  readonly statePublisher: LatestValuePublisher;
  close(): Promise<void>;
}

export function startLedDriver(options: LedDriverOptions): RunningLedDriver {
  const { topics, log } = options;
  // Each kind of refusal is logged once per topic, then summed up at most once a minute.
  const rejections = new RefusalLog(log, { summary: { everyMs: SUMMARY_INTERVAL_MS, message: 'payloads ignored in the last minute' } });
  const refuse: Refuse = (topic, kind, message) => rejections.record(`${topic} ${kind}`, `ignored a payload: ${message}`, { topic, kind });
  // Messages of an older generation than one already acted on: the protocol working as meant, counted, not warned of.
  const superseded = new Map<string, number>();
  const supersede = (topic: string, why: string) => {
    superseded.set(topic, (superseded.get(topic) ?? 0) + 1);
    log.debug({ topic }, `ignored a superseded message: ${why}`);
  };
  // Made once the client exists, before anything can change the LEDs.
  let statePublisher: LatestValuePublisher | undefined;
  let haState: HaState | undefined;
  const report = (state: LedState) => {
    options.onState?.(state);
    // While the broker is away the newest state waits, and goes out once it is back: the retained state then
    // tells why the LEDs went dark.
    statePublisher?.publish(encodeLedState(state));
    haState?.report(state);
  };
  const output = new LedOutput(options.backend, report, log);
  const presence = new GatewayPresence();
  const manual = new ManualControl({ output, presence, topics, refuse, failsafeTimeoutMs: options.failsafeTimeoutMs, log });
  // A manual setting expects no gravity stream, so the stale watchdog leaves it alone.
  const watchdog = new Watchdog(options.failsafeTimeoutMs, () => manual.holdsLeds || output.apply(OFF, 'stale'));

  // Only the newest value of a socket read reaches the LEDs; the watchdog counts from it.
  const gravityInput = new LatestValueInput<GravityMessage>((gravity) => {
    output.apply(dutyFromGravity(gravity), 'gravity', gravity.seq);
    watchdog.feed();
  });
  const onGravity: TopicHandler = (payload) => {
    const result = parseGravityPayload(payload);
    if (!result.ok) return refuse(topics.gravity, result.reason, result.message);
    if (!presence.gravity(result.value.generation)) {
      return supersede(topics.gravity, "sent before the gateway's occupancy changed: its controller has gone");
    }
    manual.noteGravity();
    gravityInput.push(result.value);
  };
  const onGatewayStatus: TopicHandler = (payload) => {
    const online = decodeStatus(payload);
    if (online === undefined) return refuse(topics.gatewayStatus, 'bad-status', 'expected online or offline');
    presence.setOnline(online);
    if (!online) output.apply(OFF, 'gateway-offline');
  };
  const onGatewayClients: TopicHandler = (payload) => {
    const occupancy = decodeGatewayClients(payload);
    if (occupancy === undefined) return refuse(topics.gatewayClients, 'bad-shape', 'expected {"clients": n, ...}');
    const change = presence.setClients(occupancy.clients, occupancy.generation);
    // Older than a gravity value already applied: the controller it counts has been replaced.
    if (change === 'superseded') {
      return supersede(topics.gatewayClients, 'older than a gravity value already applied: a newer controller drives');
    }
    // The last controller left: off now, rather than after the stale timeout.
    if (change === 'last-left' && !manual.holdsLeds) output.apply(OFF, 'controller-left');
  };
  /**
   * Every topic the driver acts on, and its handler. A retained gravity value or command is history, not a live
   * controller: it must not light the LEDs at start. The gateway's topics are retained by design: they are news.
   */
  const routes = new Map<string, Route>([
    [topics.gravity, { handle: onGravity, retained: false, qos: 0 }],
    [topics.gatewayStatus, { handle: onGatewayStatus, retained: true, qos: 1 }],
    [topics.gatewayClients, { handle: onGatewayClients, retained: true, qos: 1 }],
    ...manual.routes.map(([topic, handle]): [string, Route] => [topic, { handle, retained: false, qos: 1 }]),
  ]);

  const mqtt = connectService({
    url: options.mqttUrl,
    account: options.account,
    service: 'led-driver',
    statusTopic: topics.driverStatus,
    // Subscribed before `online` is announced, so the gateway never forwards values to a driver not yet listening.
    subscriptions: Object.fromEntries([...routes].map(([topic, route]) => [topic, route.qos])),
  });
  // Retained, and published again on every connect: a restarted broker has forgotten every retained message.
  statePublisher = new LatestValuePublisher(mqtt, topics.ledsState, { retain: true });
  statePublisher.publish(encodeLedState(output.current));
  const states = statePublisher;
  // The calm per-LED state Home Assistant reads (ha-state.ts).
  haState = new HaState(mqtt, topics, () => output.current);
  const discovery = new HaDiscovery(
    mqtt,
    {
      enabled: false,
      prefix: VARIABLES.HA_DISCOVERY_PREFIX.default,
      topicPrefix: VARIABLES.TOPIC_PREFIX.default,
      ...options.haDiscovery,
      topics,
    },
    log,
  );
  // Subscribed by discovery itself, on connect, only when there are leftovers to look for.
  for (const [topic, handle] of discovery.routes) routes.set(topic, { handle, retained: true, qos: 0 });
  mqtt.on('connect', () => {
    log.info({ url: options.mqttUrl }, 'connected to MQTT broker');
    wasConnected = true;
    discovery.onConnect();
  });
  let wasConnected = false;
  let stopping = false;
  mqtt.on('close', () => {
    if (stopping) return;
    gravityInput.flush();
    // Every failed reconnection attempt closes too: say it once per outage.
    if (wasConnected) log.warn('lost the MQTT broker: LEDs off until it is back');
    wasConnected = false;
    output.apply(OFF, 'broker-lost');
  });
  mqtt.on('error', (error) => log.warn({ err: error.message }, 'MQTT error'));
  mqtt.on('message', (topic, payload, packet) => {
    const route = routes.get(topic);
    if (!route || (packet.retain && !route.retained)) return;
    // A gravity value waiting for the end of the read takes effect before whatever came after it.
    if (route.handle !== onGravity) gravityInput.flush();
    route.handle(payload);
  });

  return {
    output,
    client: mqtt,
    rejections,
    manual,
    superseded,
    gravityInput,
    statePublisher: states,
    async close() {
      stopping = true;
      watchdog.stop();
      rejections.stop();
      gravityInput.cancel();
      discovery.stop();
      // The final `shutdown` state goes out through report() like every other change, sent at once rather than
      // after the previous acknowledgement; disconnectService then publishes the retained `offline` after it and
      // waits for its PUBACK (acknowledged in order, MQTT 4.6), bounded in time in case the broker goes down with us.
      await output.close();
      states.flush();
      states.stop();
      await disconnectService(mqtt, topics.driverStatus);
    },
  };
}
