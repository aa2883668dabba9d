/**
 * Home Assistant MQTT discovery: the two LEDs as `light` entities of one device, announced by the led-driver
 * (it owns the LEDs) in retained config messages under HA_DISCOVERY_PREFIX.
 *
 * Each light uses HA's default ("basic") schema. It reads its LED's calm state topic `leds/<led>/state`
 * (ha-state.ts: at most a few changes a second, not the phone's 30-200) through value templates, and commands its LED
 * on `leds/<led>/set`: `OFF` to turn off, and a brightness 1..100 (brightness_scale 100, which is our duty in percent)
 * to turn on or dim; on_command_type `brightness` makes HA send only the number when turning on.
 * Availability follows the led-driver's status topic: the gateway is only needed for phones.
 *
 * HA announces itself with its birth message `online` on `HA_DISCOVERY_PREFIX/status` whenever it (re)connects, and
 * asks integrations to publish their discovery configs again then (home-assistant.io/integrations/mqtt, "Birth and
 * last will messages" and "Discovery"): the led-driver does, at most once a second.
 *
 * With HA_DISCOVERY=false any config left from an earlier run is removed (an empty retained message each), so
 * turning discovery off and restarting the led-driver removes the entities from Home Assistant.
 */
import { readFileSync } from 'node:fs';
import { decodeStatus, haStatusTopic, LatestValueThrottle, type Logger, type Topics, VARIABLES } from '@gravity-led/shared';
import type { MqttClient } from 'mqtt';
import { HA_STATE_TEMPLATES } from './ha-state.js';
import type { Led, TopicHandler } from './manual-control.js';

/** Announcements asked for by Home Assistant's birth message: at most one in this many milliseconds. */
export const REANNOUNCE_INTERVAL_MS = 1000;

export interface DiscoveryOptions {
  readonly enabled: boolean;
  /** HA_DISCOVERY_PREFIX, `homeassistant` by default. */
  readonly prefix: string;
  /** TOPIC_PREFIX: it names the device, so two installations on one broker stay apart. */
  readonly topicPrefix: string;
  readonly topics: Topics;
}

export interface DiscoveryMessage {
  readonly topic: string;
  readonly config: Record<string, unknown>;
}

const NAMES: Record<Led, string> = { left: 'Red LED (left)', right: 'Green LED (right)' };

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** HA's node id allows letters, digits, `_` and `-`; a multi-level TOPIC_PREFIX has its `/` turned into `_`. */
export function nodeId(topicPrefix: string): string {
  return topicPrefix.replace(/[^\w-]/g, '_');
}

/** The two config messages, in the order left, right. */
export function discoveryMessages(options: Pick<DiscoveryOptions, 'prefix' | 'topicPrefix' | 'topics'>): DiscoveryMessage[] {
  const node = nodeId(options.topicPrefix);
  const { topics } = options;
  const device = {
    identifiers: [node],
    // The default installation is plain `gravity-led`; another TOPIC_PREFIX names its own device.
    name: options.topicPrefix === VARIABLES.TOPIC_PREFIX.default ? 'gravity-led' : `gravity-led ${options.topicPrefix}`,
    model: 'Tilt-controlled LED pair (Raspberry Pi)',
    manufacturer: 'gravity-led',
    sw_version: version(),
  };
  return (['left', 'right'] as const).map((led) => {
    const command = led === 'left' ? topics.ledsLeftSet : topics.ledsRightSet;
    const state = led === 'left' ? topics.ledsLeftState : topics.ledsRightState;
    return {
      topic: `${options.prefix}/light/${node}/${led}/config`,
      config: {
        name: NAMES[led],
        unique_id: `${node}_${led}`,
        device,
        origin: { name: 'gravity-led', sw_version: device.sw_version },
        availability: [{ topic: topics.driverStatus, payload_available: 'online', payload_not_available: 'offline' }],
        command_topic: command,
        payload_on: 'ON',
        payload_off: 'OFF',
        on_command_type: 'brightness',
        brightness_command_topic: command,
        brightness_scale: 100,
        state_topic: state,
        state_value_template: HA_STATE_TEMPLATES.state,
        brightness_state_topic: state,
        brightness_value_template: HA_STATE_TEMPLATES.brightness,
        qos: 0,
        retain: false,
        icon: 'mdi:led-on',
      },
    };
  });
}

export class HaDiscovery {
  private readonly messages: DiscoveryMessage[];
  private readonly statusTopic: string;
  private readonly reannounce: LatestValueThrottle<true>;

  constructor(
    private readonly client: MqttClient,
    private readonly options: DiscoveryOptions,
    private readonly log: Logger,
  ) {
    this.messages = discoveryMessages(options);
    this.statusTopic = haStatusTopic(options.prefix);
    this.reannounce = new LatestValueThrottle(REANNOUNCE_INTERVAL_MS, () => this.announce('Home Assistant came online'));
  }

  get configTopics(): string[] {
    return this.messages.map((m) => m.topic);
  }

  /** Announces the lights (retained) and listens for Home Assistant's birth message, or looks for leftovers to remove. Called on every connect. */
  onConnect(): void {
    if (this.options.enabled) {
      this.announce('connected');
      this.client.subscribe(this.statusTopic, { qos: 0 });
    } else {
      // A retained config from an earlier run comes back on subscribing; removeLeftover removes it.
      this.client.subscribe(this.configTopics, { qos: 0 });
    }
  }

  /**
   * With discovery on, Home Assistant's status topic (its birth message asks for the configs again); with it off,
   * the config topics (a retained leftover is removed). For the driver's topic table.
   */
  get routes(): [string, TopicHandler][] {
    if (this.options.enabled) return [[this.statusTopic, (payload) => this.onHaStatus(payload)]];
    return this.configTopics.map((topic) => [topic, (payload) => this.removeLeftover(topic, payload)]);
  }

  /** Drops a pending announcement: for a clean shutdown. */
  stop(): void {
    this.reannounce.cancel();
  }

  private announce(why: string): void {
    if (!this.client.connected) return;
    for (const { topic, config } of this.messages) {
      this.client.publish(topic, JSON.stringify(config), { qos: 1, retain: true }, (error) => {
        if (error) this.log.warn({ topic, err: error.message }, 'could not publish the Home Assistant discovery config');
      });
    }
    this.log.info({ topics: this.configTopics, why }, 'announced the LEDs to Home Assistant (MQTT discovery)');
  }

  /** HA's birth message `online` (its will says `offline`, which needs nothing from us). */
  private onHaStatus(payload: Uint8Array): void {
    if (decodeStatus(payload) === true) this.reannounce.push(true);
  }

  private removeLeftover(topic: string, payload: Uint8Array): void {
    if (payload.byteLength === 0) return;
    this.client.publish(topic, '', { qos: 1, retain: true });
    this.log.info({ topic }, 'HA_DISCOVERY=false: removed a Home Assistant discovery config left from an earlier run');
  }
}
