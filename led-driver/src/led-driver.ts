/**
 * The led-driver assembled: MQTT inputs (gravity, the gateway's availability and occupancy), the LED rule,
 * the output, and every fail-safe that turns both LEDs off when control is lost.
 */
import {
  type Account,
  connectService,
  disconnectService,
  dutyFromGravity,
  encodeLedState,
  type LedState,
  type Logger,
  OFF,
  OFFLINE,
  ONLINE,
  parseGravityPayload,
  type Topics,
} from '@gravity-led/shared';
import type { MqttClient } from 'mqtt';
import type { LedBackend } from './backends/backend.js';
import { HaDiscovery } from './ha-discovery.js';
import { LedOutput } from './led-output.js';
import { ManualControl } from './manual-control.js';
import { RejectionLog } from './rejection-log.js';
import { Watchdog } from './watchdog.js';

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

export interface RunningLedDriver {
  readonly output: LedOutput;
  readonly client: MqttClient;
  readonly rejections: RejectionLog;
  readonly manual: ManualControl;
  close(): Promise<void>;
}

export function startLedDriver(options: LedDriverOptions): RunningLedDriver {
  const { topics, log } = options;
  const rejections = new RejectionLog(log);
  let client: MqttClient | undefined;
  let unreported: LedState | undefined;

  const report = (state: LedState) => {
    options.onState?.(state);
    if (client?.connected) {
      client.publish(topics.ledsState, encodeLedState(state), { qos: 0, retain: true });
      unreported = undefined;
    } else {
      // Published once the broker is back, so the retained state tells why the LEDs went dark.
      unreported = state;
    }
  };
  const output = new LedOutput(options.backend, report, log);
  const manual = new ManualControl({ output, topics, rejections, failsafeTimeoutMs: options.failsafeTimeoutMs, log });
  // A manual setting expects no gravity stream, so the stale watchdog leaves it alone.
  const watchdog = new Watchdog(options.failsafeTimeoutMs, () => manual.holdsLeds || output.apply(OFF, 'stale'));
  let gatewayClients: number | undefined;

  client = connectService({
    url: options.mqttUrl,
    account: options.account,
    service: 'led-driver',
    statusTopic: topics.driverStatus,
    // Subscribed before `online` is announced, so the gateway never forwards values to a driver not yet listening.
    subscriptions: [topics.gravity, topics.gatewayStatus, topics.gatewayClients, ...manual.subscriptions],
  });
  const mqtt = client;
  const discovery = new HaDiscovery(
    mqtt,
    { enabled: false, prefix: 'homeassistant', topicPrefix: 'gravity-led', ...options.haDiscovery, topics },
    log,
  );
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
    if (discovery.handles(topic)) return discovery.onMessage(topic, payload);
    // A retained command is history, like a retained gravity value: it must not light the LEDs at start.
    if (manual.handles(topic)) return packet.retain ? undefined : manual.onMessage(topic, payload);
    if (topic === topics.gravity) {
      // A retained gravity value is history, not a live controller: it must not light the LEDs at start.
      if (packet.retain) return;
      const result = parseGravityPayload(payload);
      if (!result.ok) return rejections.record(topic, result.reason, result.message);
      manual.noteGravity();
      output.apply(dutyFromGravity(result.value), 'gravity', result.value.seq);
      watchdog.feed();
    } else if (topic === topics.gatewayStatus) {
      const status = payload.toString();
      if (status !== ONLINE && status !== OFFLINE) return rejections.record(topic, 'bad-status', 'expected online or offline');
      manual.noteGatewayStatus(status !== OFFLINE);
      if (status === OFFLINE) output.apply(OFF, 'gateway-offline');
    } else if (topic === topics.gatewayClients) {
      const clients = parseClients(payload);
      if (clients === undefined) return rejections.record(topic, 'bad-shape', 'expected {"clients": n, ...}');
      // The last controller left: off now, rather than after the stale timeout.
      if (clients === 0 && gatewayClients !== undefined && gatewayClients > 0 && !manual.holdsLeds) output.apply(OFF, 'controller-left');
      gatewayClients = clients;
      manual.noteGatewayClients(clients);
    }
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
      // The final `shutdown` state goes out through report() like every other change; disconnectService then
      // flushes it with the retained `offline`, bounded in time in case the broker is going down with us.
      await output.close();
      await disconnectService(mqtt, topics.driverStatus);
    },
  };
}

function parseClients(payload: Buffer): number | undefined {
  try {
    const { clients } = JSON.parse(payload.toString('utf8')) as { clients?: unknown };
    return typeof clients === 'number' && Number.isSafeInteger(clients) && clients >= 0 ? clients : undefined;
  } catch {
    return undefined;
  }
}
