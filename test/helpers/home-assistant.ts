/**
 * Home Assistant's MQTT integration as it really connects and behaves, modelled on its source (home-assistant/core,
 * homeassistant/components/mqtt) and documentation (home-assistant.io/integrations/mqtt, /integrations/light.mqtt):
 *
 * - client.py MqttClientSetup: a paho client with a client id of its own, 22 base62 characters of a uuid4 ("PAHO MQTT
 *   relies on the MQTT server to generate random client IDs. However, that feature is not mandatory so we generate
 *   our own"), protocol MQTTv311 (DEFAULT_PROTOCOL, "3.1.1") or MQTTv5 as the user picks, paho's clean session, and
 *   keepalive 60 s (DEFAULT_KEEPALIVE);
 * - const.py DEFAULT_WILL and DEFAULT_BIRTH: last will `offline` and birth `online` on `homeassistant/status`, QoS 0,
 *   not retained (docs, "Birth and last will messages": "By default, Home Assistant sends online and offline to
 *   homeassistant/status");
 * - discovery.py: subscribes `<prefix>/+/+/config` and `<prefix>/+/+/+/config` at QoS 0 (before 2022: `<prefix>/#`),
 *   topics matching `<component>/[<node_id>/]<object_id>/config`;
 * - client.py _mqtt_on_connect: on every (re)connect it subscribes again, then publishes the birth message once
 *   discovery has been quiet for DISCOVERY_COOLDOWN (2 s); paho reconnects by itself after a lost connection;
 *   async_disconnect: "Do not disconnect, we want the broker to always publish will";
 * - client.py _mqtt_handle_message: a subscription takes one retained message per topic;
 * - light/schema_basic.py: state through state_value_template compared with payload_on/payload_off; brightness through
 *   brightness_value_template, HA brightness = min(round(value / brightness_scale * 255), 255), a zero brightness
 *   ignored; turning on with a brightness publishes min(round(b / 255 * brightness_scale), brightness_scale), at
 *   least 1, to brightness_command_topic (on_command_type `brightness`: only that; `first`/`last`: payload_on before
 *   or after), turning off publishes payload_off to command_topic, with the config's qos and retain; light/__init__.py
 *   turns brightness_pct into round(pct * 255 / 100);
 * - the recorder (home-assistant.io/integrations/recorder) stores every state change of an entity: a change of its
 *   state or of its attributes (for a light that is on, its brightness); a message that changes neither is no change.
 *
 * The model evaluates only the value templates it can evaluate exactly, `{{ value_json.<key> }}` and `{{ value }}`,
 * and refuses any other, so a config that needs more of Jinja than that fails here rather than in a real HA.
 */
import { randomBytes } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { waitFor, within } from './wait.js';

/** discovery.py TOPIC_MATCHER, after the prefix. */
const TOPIC_MATCHER = /^(\w+)\/(?:([a-zA-Z0-9_-]+)\/)?([a-zA-Z0-9_-]+)\/config$/;
/** client.py DISCOVERY_COOLDOWN, seconds. */
export const DISCOVERY_COOLDOWN_MS = 2000;
/** client.py TIMEOUT_ACK: HA gives up on a publish not acknowledged within 10 s ("No ACK from MQTT server"). */
const TIMEOUT_ACK_MS = 10_000;

/** paho's base62 alphabet (string.digits + string.ascii_letters), and base62(uuid4().int, padding=22). */
const BASE62 = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
export function haClientId(): string {
  let n = BigInt(`0x${randomBytes(16).toString('hex')}`);
  let id = '';
  while (n > 0n) {
    id = BASE62[Number(n % 62n)] + id;
    n /= 62n;
  }
  return id.padStart(22, '0');
}

/** Python's round(): halves to even. */
export function pyRound(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

function render(template: unknown, payload: string): string {
  if (template === undefined) return payload;
  if (typeof template !== 'string') throw new Error(`a template must be a string, not ${JSON.stringify(template)}`);
  if (/^\{\{\s*value\s*\}\}$/.test(template)) return payload;
  const key = /^\{\{\s*value_json\.(\w+)\s*\}\}$/.exec(template)?.[1];
  if (key === undefined) throw new Error(`the Home Assistant model cannot evaluate the template ${template}`);
  const value = (JSON.parse(payload) as Record<string, unknown>)[key];
  return value === undefined || value === null ? '' : String(value);
}

/** The brightness 0..255 HA shows for a device value (light/schema_basic.py, _brightness_received). */
export function haBrightness(value: number, scale = 255): number {
  return Math.min(pyRound((value / scale) * 255), 255);
}

export interface HaLight {
  readonly discoveryTopic: string;
  config: Record<string, unknown>;
  available: boolean | undefined;
  isOn: boolean | undefined;
  /** HA's brightness, 0..255. */
  brightness: number | undefined;
  /** What HA's recorder writes: every change of state (`on <brightness>`, `off`, `unavailable`, `unknown`). */
  readonly recorded: string[];
}

export interface HomeAssistantOptions {
  readonly url: string;
  readonly username: string;
  readonly password: string;
  /** 4 = MQTT 3.1.1 (HA's default), 5 = MQTT 5. */
  readonly protocolVersion?: 4 | 5;
  readonly discoveryPrefix?: string;
  /** Subscribe `<prefix>/#` for discovery, as HA did before 2022, instead of the two config filters. */
  readonly legacyDiscovery?: boolean;
}

interface Received {
  readonly topic: string;
  readonly payload: string;
  readonly retain: boolean;
  readonly at: number;
}

export class HomeAssistant {
  readonly client: MqttClient;
  readonly clientId = haClientId();
  readonly lights = new Map<string, HaLight>();
  /** Every discovery message, as it arrived. */
  readonly discovery: Received[] = [];
  /** When the birth message went out (each connection has its own). */
  readonly births: number[] = [];
  connects = 0;
  closes = 0;
  /** The last connection error (a refused CONNACK, for one). */
  lastError: (Error & { code?: number }) | undefined;
  private lastDiscovery = 0;
  private birthTimer: NodeJS.Timeout | undefined;
  private readonly handlers = new Map<string, ((payload: string) => void)[]>();
  private readonly retainedSeen = new Set<string>();
  readonly prefix: string;
  readonly statusTopic: string;

  constructor(readonly options: HomeAssistantOptions) {
    this.prefix = options.discoveryPrefix ?? 'homeassistant';
    this.statusTopic = `${this.prefix}/status`;
    this.client = mqtt.connect(options.url, {
      clientId: this.clientId,
      username: options.username,
      password: options.password,
      protocolVersion: options.protocolVersion ?? 4,
      clean: true,
      keepalive: 60,
      reconnectPeriod: 1000,
      will: { topic: this.statusTopic, payload: Buffer.from('offline'), qos: 0, retain: false },
    });
    this.client.on('connect', () => this.onConnect());
    this.client.on('close', () => {
      this.closes++;
      clearInterval(this.birthTimer);
    });
    this.client.on('error', (error) => {
      this.lastError = error;
    });
    this.client.on('message', (topic, payload, packet) => this.onMessage(topic, payload.toString(), packet.retain));
  }

  /** Connects and resolves once the broker accepted the connection, or rejects with its refusal. */
  static async connect(options: HomeAssistantOptions): Promise<HomeAssistant> {
    const ha = new HomeAssistant(options);
    await new Promise<void>((resolve, reject) => {
      ha.client.once('connect', () => resolve());
      ha.client.once('error', (error) => {
        ha.stop();
        reject(error);
      });
    });
    return ha;
  }

  get connected(): boolean {
    return this.client.connected;
  }

  private onConnect(): void {
    this.connects++;
    this.lastDiscovery = Date.now();
    this.retainedSeen.clear();
    const discovery = this.options.legacyDiscovery ? [`${this.prefix}/#`] : [`${this.prefix}/+/+/config`, `${this.prefix}/+/+/+/config`];
    const entityTopics = [...this.handlers.keys()];
    this.client.subscribe([...discovery, ...entityTopics], { qos: 0 });
    clearInterval(this.birthTimer);
    this.birthTimer = setInterval(() => {
      if (Date.now() - this.lastDiscovery < DISCOVERY_COOLDOWN_MS) return;
      clearInterval(this.birthTimer);
      this.births.push(Date.now());
      this.client.publish(this.statusTopic, 'online', { qos: 0, retain: false });
    }, 100);
  }

  private onMessage(topic: string, payload: string, retain: boolean): void {
    if (retain) {
      // client.py: "Skip if the subscription already received a retained message".
      if (this.retainedSeen.has(topic)) return;
      this.retainedSeen.add(topic);
    }
    if (topic.startsWith(`${this.prefix}/`) && TOPIC_MATCHER.test(topic.slice(this.prefix.length + 1))) {
      this.lastDiscovery = Date.now();
      this.discovery.push({ topic, payload, retain, at: Date.now() });
      this.discovered(topic, payload);
    }
    for (const handle of this.handlers.get(topic) ?? []) handle(payload);
  }

  private discovered(topic: string, payload: string): void {
    const [, component] = TOPIC_MATCHER.exec(topic.slice(this.prefix.length + 1)) ?? [];
    if (payload === '') {
      this.lights.delete(topic);
      return;
    }
    if (component !== 'light') return;
    const config = JSON.parse(payload) as Record<string, unknown>;
    const existing = this.lights.get(topic);
    if (existing) {
      existing.config = config;
      return;
    }
    const light: HaLight = { discoveryTopic: topic, config, available: undefined, isOn: undefined, brightness: undefined, recorded: [] };
    this.lights.set(topic, light);
    const qos = (config.qos as 0 | 1 | 2 | undefined) ?? 0;
    const on = (t: unknown, handle: (payload: string) => void) => {
      if (typeof t !== 'string') return;
      const list = this.handlers.get(t) ?? [];
      if (list.length === 0) this.client.subscribe(t, { qos });
      list.push(handle);
      this.handlers.set(t, list);
    };
    on(config.state_topic, (p) => {
      const value = render(config.state_value_template, p);
      if (value === (config.payload_on ?? 'ON')) light.isOn = true;
      else if (value === (config.payload_off ?? 'OFF')) light.isOn = false;
      else if (value === 'None') light.isOn = undefined;
      this.record(light);
    });
    on(config.brightness_state_topic, (p) => {
      const value = render(config.brightness_value_template, p);
      if (value === '') return;
      const device = Number.parseFloat(value);
      if (device === 0) return;
      light.brightness = haBrightness(device, (config.brightness_scale as number | undefined) ?? 255);
      this.record(light);
    });
    for (const availability of (config.availability as Record<string, string>[] | undefined) ?? []) {
      on(availability.topic, (p) => {
        if (p === (availability.payload_available ?? 'online')) light.available = true;
        else if (p === (availability.payload_not_available ?? 'offline')) light.available = false;
        this.record(light);
      });
    }
  }

  private record(light: HaLight): void {
    const state =
      light.available === false ? 'unavailable' : light.isOn === undefined ? 'unknown' : light.isOn ? `on ${light.brightness}` : 'off';
    if (light.recorded.at(-1) !== state) light.recorded.push(state);
  }

  /** The light whose config has this name. */
  light(name: string): HaLight {
    const light = [...this.lights.values()].find((l) => l.config.name === name);
    if (!light)
      throw new Error(
        `Home Assistant has no light named ${name}; it has ${[...this.lights.values()].map((l) => l.config.name).join(', ')}`,
      );
    return light;
  }

  /** Waits until a light of this name is discovered and available. */
  async available(name: string, timeoutMs = 15_000): Promise<HaLight> {
    return waitFor(
      `Home Assistant to see "${name}" available`,
      () => [...this.lights.values()].find((l) => l.config.name === name && l.available),
      timeoutMs,
    );
  }

  /** Waits for this connection's birth message to have gone out. */
  async born(timeoutMs = 15_000): Promise<number> {
    const connects = this.connects;
    return waitFor('the birth message', () => this.births.length >= connects && this.births.at(-1), timeoutMs);
  }

  /** light.turn_on with brightness_pct, as schema_basic.py publishes it. */
  async turnOn(light: HaLight, brightnessPct?: number): Promise<void> {
    const { config } = light;
    const scale = (config.brightness_scale as number | undefined) ?? 255;
    const onType = (config.on_command_type as string | undefined) ?? 'last';
    const brightness =
      brightnessPct === undefined
        ? onType === 'brightness'
          ? (light.brightness ?? 255)
          : undefined
        : pyRound((brightnessPct * 255) / 100);
    if (onType === 'first') await this.command(light, config.command_topic, config.payload_on ?? 'ON');
    if (brightness !== undefined && typeof config.brightness_command_topic === 'string') {
      const device = Math.max(Math.min(pyRound((brightness / 255) * scale), scale), 1);
      await this.command(light, config.brightness_command_topic, String(device));
    }
    if (onType === 'last') await this.command(light, config.command_topic, config.payload_on ?? 'ON');
  }

  /** light.turn_off: payload_off on the command topic. */
  async turnOff(light: HaLight): Promise<void> {
    await this.command(light, light.config.command_topic, light.config.payload_off ?? 'OFF');
  }

  private async command(light: HaLight, topic: unknown, payload: unknown): Promise<void> {
    if (typeof topic !== 'string') throw new Error(`${light.config.name}: no command topic`);
    const qos = (light.config.qos as 0 | 1 | 2 | undefined) ?? 0;
    await within(
      this.client.publishAsync(topic, String(payload), { qos, retain: Boolean(light.config.retain) }),
      TIMEOUT_ACK_MS,
      `the ACK of ${topic}`,
    );
  }

  /** Home Assistant stopping: no DISCONNECT, so the broker publishes its will. */
  stop(): void {
    clearInterval(this.birthTimer);
    this.client.end(true);
  }
}
