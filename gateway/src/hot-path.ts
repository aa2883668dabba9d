/**
 * The gateway's hot path to the broker: every gravity value out, every LED state in. One interface for the bridge
 * (mqtt-bridge.ts), two links behind it:
 *
 * - the MQTT client's (`mqttHotPath`): any broker, through MQTT_URL, or the in-process connection to a hosted one;
 * - the hosted broker's local client (`localHotPath`, made by hosted-broker.ts when GATEWAY_HOSTS_BROKER is on): no
 *   MQTT packet, stream or parser for either, and no PUBACK for the state (docs/performance.md).
 *
 * Everything else the bridge does (its status with the last will, the occupancy, the led-driver's status, the
 * capacity setting, and availability) stays on its MQTT client whichever link carries the hot path.
 */
import { errorMessage, type Logger, RefusalLog } from '@gravity-led/shared';
import type { MqttClient } from 'mqtt';

/** A message of a followed topic; `retained` when it is the broker's replay for a new subscription. */
export type HotPathDeliver = (payload: Buffer, retained: boolean) => void;

export interface HotPathLink {
  /**
   * Sends one gravity value at QoS 0, not retained, nothing queued: the bridge calls it only while its MQTT client is
   * connected. `onSent` runs once the value is handed on: written to the MQTT connection, or given to the broker.
   */
  publish(topic: string, payload: string, onSent?: () => void): void;
  /**
   * Follows `topic` (the LED state) from now on, giving each message to `deliver` in the broker's order. Returns
   * the topics the bridge's MQTT client must add to the subscriptions it makes at each connect: the MQTT client's
   * link follows through that subscription, the local link on its own, once, for the link's life.
   */
  follow(topic: string, deliver: HotPathDeliver): readonly string[];
  close(): Promise<void>;
}

/** The hot path over the bridge's own MQTT client. */
export function mqttHotPath(client: MqttClient): HotPathLink {
  return {
    publish(topic, payload, onSent) {
      // For QoS 0 the callback runs once the packet is written to the socket.
      client.publish(topic, payload, { qos: 0 }, onSent && (() => onSent()));
    },
    follow(topic, deliver) {
      client.on('message', (t, payload, packet) => {
        if (t === topic) deliver(payload, packet.retain);
      });
      return [topic];
    },
    async close() {},
  };
}

/**
 * What the local link needs of the hosted broker's local client (the broker package's LocalClient, which
 * hosted-broker.ts hands over: the gateway knows the broker package only there).
 */
export interface InProcessClient {
  /** Throws when the broker refuses the message (an account that may not write the topic, a payload too large). */
  publish(topic: string, payload: string): void;
  /** Gives the retained message (marked) first, then the live ones; rejects when the account may not read the topic. */
  subscribe(filter: string, handler: (topic: string, payload: Buffer, retained: boolean) => void): Promise<unknown>;
  close(): Promise<void>;
}

/**
 * The hot path through the hosted broker's local client. Its subscription does not depend on the MQTT client's
 * connection (both live in this process, with the broker): it is made once and lasts as long as the link, so no
 * state is missed while that connection is re-established, and none is replayed after it.
 */
export function localHotPath(local: InProcessClient, log: Logger): HotPathLink {
  // Over MQTT a refused publish is dropped by the broker, which logs it; here the refusal comes back to us. It can
  // only be a misconfigured account: said once, then counted.
  const refusals = new RefusalLog(log);
  let closed = false;
  return {
    publish(topic, payload, onSent) {
      try {
        local.publish(topic, payload);
      } catch (error) {
        refusals.record('publish-refused', 'the hosted broker refused a gravity value', { topic, err: errorMessage(error) });
        return;
      }
      onSent?.();
    },
    follow(topic, deliver) {
      local
        .subscribe(topic, (_topic, payload, retained) => deliver(payload, retained))
        .catch((error: unknown) => {
          if (!closed) log.error({ topic, err: errorMessage(error) }, 'could not subscribe through the hosted broker');
        });
      return [];
    },
    close() {
      closed = true;
      return local.close();
    },
  };
}
