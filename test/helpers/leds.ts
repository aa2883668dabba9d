/** Reading the LED state as an MQTT tool would: the retained `leds/state` message. */
import type { MqttClient } from 'mqtt';
import { waitFor } from './wait.js';

export interface StateMessage {
  left: number;
  right: number;
  reason: string;
  seq?: number;
  unchanged?: number;
  ts: number;
}

export class StateWatcher {
  readonly states: StateMessage[] = [];

  constructor(
    client: MqttClient,
    readonly topic = 'gravity-led/leds/state',
  ) {
    client.on('message', (t, payload) => {
      if (t === this.topic) this.states.push(JSON.parse(payload.toString()) as StateMessage);
    });
    client.subscribe(topic);
  }

  get last(): StateMessage | undefined {
    return this.states.at(-1);
  }

  /** Waits until the latest state satisfies `match`. */
  until(what: string, match: (s: StateMessage) => boolean, timeoutMs = 5000): Promise<StateMessage> {
    return waitFor(
      what,
      () => {
        const last = this.last;
        return last && match(last) ? last : undefined;
      },
      timeoutMs,
    );
  }

  /** Waits until a state received since index `from` satisfies `match`, even if later ones have replaced it. */
  seen(what: string, match: (s: StateMessage) => boolean, from = 0, timeoutMs = 5000): Promise<StateMessage> {
    return waitFor(what, () => this.states.slice(from).find(match), timeoutMs);
  }
}
