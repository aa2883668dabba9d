/**
 * The state of each LED as Home Assistant reads it: `leds/left/state` and `leds/right/state`, JSON
 * `{"state":"ON"|"OFF","brightness":0..100}` (brightness is the duty in percent, HA's brightness_scale 100).
 *
 * Why not `leds/state`: it changes at the phone's rate, 30 to 200 times a second, and HA's recorder writes every state
 * change of an entity to its database (home-assistant.io/integrations/recorder: "constantly saves data", committed
 * every commit_interval, 5 s by default, kept purge_keep_days, 10 by default). These topics change at most once per
 * HA_STATE_INTERVAL_MS per LED while a phone tilts, so HA records at most two changes a second per light, and none
 * while the LED is still: a change that comes too soon replaces the waiting one and goes out at the next slot
 * (LatestValueThrottle, no queue), so the last message is always the value the driver applied. A fail-safe (the
 * LEDs going dark because control was lost) goes out at once.
 *
 * Retained, QoS 1, like everything the led-driver publishes: HA, after a restart, and any tool that subscribes later
 * gets the current value from the broker. The order matters on the embedded broker: Aedes 1.2 stores a retained or
 * QoS 1 publish before delivering it, while a QoS 0 one goes straight through, and its per-subscriber dedupe then
 * drops a message that was overtaken by a later one (moscajs/aedes#994, #955). The led-driver therefore follows one
 * rule for every topic it publishes, written down in shared/src/latest-value-publisher.ts: one QoS and one retain
 * flag per topic, and that QoS is 1.
 *
 * Published whether or not HA_DISCOVERY is on: a Home Assistant configured by hand (YAML), a Node-RED dashboard or
 * any other recorder wants the same calm state.
 */
import { type Duty, LatestValueThrottle, type LedState, type Topics } from '@gravity-led/shared';
import type { MqttClient } from 'mqtt';
import type { Led } from './manual-control.js';

/** At most one state message per LED in this many milliseconds while it changes. */
export const HA_STATE_INTERVAL_MS = 500;

/** What Home Assistant's value templates read from the state message (ha-discovery.ts). */
export const HA_STATE_TEMPLATES = {
  state: '{{ value_json.state }}',
  brightness: '{{ value_json.brightness }}',
} as const;

export function encodeHaState(duty: number): string {
  return JSON.stringify({ state: duty > 0 ? 'ON' : 'OFF', brightness: duty });
}

interface LedTopic {
  readonly topic: string;
  readonly throttle: LatestValueThrottle<string>;
  /** The last payload published: what subscribers have. */
  sent?: string;
  /** The newest payload, published or waiting for its slot. */
  latest?: string;
}

export class HaState {
  private readonly leds: Record<Led, LedTopic>;

  constructor(
    private readonly client: MqttClient,
    topics: Topics,
    /** The duty applied now: published on every connect. */
    private readonly current: () => Duty,
    intervalMs: number = HA_STATE_INTERVAL_MS,
  ) {
    const led = (topic: string): LedTopic => {
      const entry: LedTopic = { topic, throttle: new LatestValueThrottle(intervalMs, (payload) => this.send(entry, payload)) };
      return entry;
    };
    this.leds = { left: led(topics.ledsLeftState), right: led(topics.ledsRightState) };
    // A restarted broker has forgotten every retained message, so the current value goes out on every connect.
    client.on('connect', () => {
      const duty = this.current();
      for (const name of ['left', 'right'] as const) {
        const entry = this.leds[name];
        entry.throttle.cancel();
        entry.latest = encodeHaState(duty[name]);
        this.send(entry, entry.latest);
      }
    });
    client.on('close', () => {
      for (const entry of Object.values(this.leds)) entry.throttle.cancel();
    });
  }

  /** Every state the driver applied. */
  report(state: LedState): void {
    const urgent = state.reason !== 'gravity' && state.reason !== 'manual';
    for (const name of ['left', 'right'] as const) {
      const entry = this.leds[name];
      const payload = encodeHaState(state[name]);
      if (payload === entry.latest) continue;
      entry.latest = payload;
      if (urgent) {
        entry.throttle.cancel();
        this.send(entry, payload);
      } else if (payload === entry.sent) {
        // Back to what subscribers already have: nothing waiting needs to go out.
        entry.throttle.cancel();
      } else {
        entry.throttle.push(payload);
      }
    }
  }

  private send(entry: LedTopic, payload: string): void {
    // While disconnected nothing goes out; the connect handler publishes the value of that moment.
    if (!this.client.connected) return;
    entry.sent = payload;
    this.client.publish(entry.topic, payload, { qos: 1, retain: true });
  }
}
