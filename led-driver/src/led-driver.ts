/**
 * The led-driver assembled: MQTT inputs (gravity, the gateway's availability and occupancy), the LED rule,
 * the output, and every fail-safe that turns both LEDs off when control is lost.
 */
import {
  type Account,
  connectService,
  decodeGatewayClients,
  decodeStatus,
  disconnectService,
  encodeLedState,
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

/** How the driver handles messages on one topic; `retained`: whether retained messages (the broker's replay) are handled too. */
interface Route {
  readonly handle: TopicHandler;
  readonly retained: boolean;
}

export interface RunningLedDriver {
  readonly output: LedOutput;
  readonly client: MqttClient;
  /** Refused payloads, by `topic kind`. */
  readonly rejections: RefusalLog;
  readonly manual: ManualControl;
  close(): Promise<void>;
}

export function startLedDriver(options: LedDriverOptions): RunningLedDriver {
  const { topics, log } = options;
  // Each kind of refusal is logged once per topic, then summed up at most once a minute.
  const rejections = new RefusalLog(log, { summary: { everyMs: SUMMARY_INTERVAL_MS, message: 'payloads ignored in the last minute' } });
  const refuse: Refuse = (topic, kind, message) => rejections.record(`${topic} ${kind}`, `ignored a payload: ${message}`, { topic, kind });
  let client: MqttClient | undefined;
  let unreported: LedState | undefined;
  let haState: HaState | undefined;

  const report = (state: LedState) => {
    options.onState?.(state);
    if (client?.connected) {
      client.publish(topics.ledsState, encodeLedState(state), { qos: 0, retain: true });
      unreported = undefined;
    } else {
      // Published once the broker is back, so the retained state tells why the LEDs went dark.
      unreported = state;
    }
    haState?.report(state);
  };
  const output = new LedOutput(options.backend, report, log);
  const presence = new GatewayPresence();
  const manual = new ManualControl({ output, presence, topics, refuse, failsafeTimeoutMs: options.failsafeTimeoutMs, log });
  // A manual setting expects no gravity stream, so the stale watchdog leaves it alone.
  const watchdog = new Watchdog(options.failsafeTimeoutMs, () => manual.holdsLeds || output.apply(OFF, 'stale'));

  const onGravity: TopicHandler = (payload) => {
    const result = parseGravityPayload(payload);
    if (!result.ok) return refuse(topics.gravity, result.reason, result.message);
    manual.noteGravity();
    output.apply(dutyFromGravity(result.value), 'gravity', result.value.seq);
    watchdog.feed();
  };
  const onGatewayStatus: TopicHandler = (payload) => {
    const online = decodeStatus(payload);
    if (online === undefined) return refuse(topics.gatewayStatus, 'bad-status', 'expected online or offline');
    presence.setOnline(online);
    if (!online) output.apply(OFF, 'gateway-offline');
  };
  const onGatewayClients: TopicHandler = (payload) => {
    const clients = decodeGatewayClients(payload);
    if (clients === undefined) return refuse(topics.gatewayClients, 'bad-shape', 'expected {"clients": n, ...}');
    // The last controller left: off now, rather than after the stale timeout.
    if (presence.setClients(clients) && !manual.holdsLeds) output.apply(OFF, 'controller-left');
  };
  /**
   * Every topic the driver acts on, and its handler. A retained gravity value or command is history, not a live
   * controller: it must not light the LEDs at start. The gateway's topics are retained by design: they are news.
   */
  const routes = new Map<string, Route>([
    [topics.gravity, { handle: onGravity, retained: false }],
    [topics.gatewayStatus, { handle: onGatewayStatus, retained: true }],
    [topics.gatewayClients, { handle: onGatewayClients, retained: true }],
    ...manual.routes.map(([topic, handle]): [string, Route] => [topic, { handle, retained: false }]),
  ]);

  client = connectService({
    url: options.mqttUrl,
    account: options.account,
    service: 'led-driver',
    statusTopic: topics.driverStatus,
    // Subscribed before `online` is announced, so the gateway never forwards values to a driver not yet listening.
    subscriptions: [...routes.keys()],
  });
  const mqtt = client;
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
  for (const [topic, handle] of discovery.routes) routes.set(topic, { handle, retained: true });
  mqtt.on('connect', () => {
    log.info({ url: options.mqttUrl }, 'connected to MQTT broker');
    wasConnected = true;
    // A restarted broker has forgotten every retained message: the state is published again on every connect.
    report(unreported ?? output.current);
    discovery.onConnect();
  });
  let wasConnected = false;
  let stopping = false;
  mqtt.on('close', () => {
    if (stopping) return;
    // Every failed reconnection attempt closes too: say it once per outage.
    if (wasConnected) log.warn('lost the MQTT broker: LEDs off until it is back');
    wasConnected = false;
    output.apply(OFF, 'broker-lost');
  });
  mqtt.on('error', (error) => log.warn({ err: error.message }, 'MQTT error'));
  mqtt.on('message', (topic, payload, packet) => {
    const route = routes.get(topic);
    if (route && (route.retained || !packet.retain)) route.handle(payload);
  });

  return {
    output,
    client: mqtt,
    rejections,
    manual,
    async close() {
      stopping = true;
      watchdog.stop();
      rejections.stop();
      discovery.stop();
      // The final `shutdown` state goes out through report() like every other change; disconnectService then
      // flushes it with the retained `offline`, bounded in time in case the broker is going down with us.
      await output.close();
      await disconnectService(mqtt, topics.driverStatus);
    },
  };
}
