/**
 * Publishes the newest value of one topic, never a backlog, and always ends on the true last value.
 *
 * The publish-sequence rule, which this class applies to a topic and which every topic a service publishes next to
 * it must follow too:
 *
 * 1. One topic, one QoS, one retain flag, for good. MQTT orders messages only "for the same Topic and QoS" from one
 *    client (MQTT 3.1.1 and 5.0, section 4.6, [MQTT-4.6.0-6]); across topics, or between QoS levels on one topic, any
 *    broker may deliver in another order. Whatever must be ordered across topics carries its own order (the gateway's
 *    generation, messages.ts).
 * 2. QoS 1, so that the broker acknowledges each message: Aedes 1.2 runs every packet of one socket read at once and
 *    hands a QoS 0 publish to subscribers straight away, but a retained or QoS 1 one only after storing it. A QoS 0
 *    message written just after a retained QoS 0 one is therefore delivered first, and Aedes' per-subscriber
 *    `dedupe` then drops the retained one as older, for every subscriber of both (moscajs/aedes#994, #955); after a
 *    QoS 1 message it overtakes it. A connection whose publishes are all QoS 1 (retained or not) keeps its order on
 *    Aedes, and QoS 1 is never dropped toward a QoS 1 subscription on any broker. The led-driver publishes nothing
 *    at QoS 0. The gateway's QoS 0 gravity may overtake its QoS 1 occupancy, and the generation puts that right.
 * 3. At most MAX_IN_FLIGHT messages awaiting their acknowledgement (PUBACK): a value given meanwhile replaces any
 *    waiting one and goes out once the broker has taken an earlier one. The rate on the topic is then what the broker
 *    can take, a flood of changes becomes a few messages rather than a queue in front of every subscriber, and the
 *    newest value always goes out last. `minIntervalMs` spaces the messages further (a topic for Home Assistant that
 *    needs no more than a few a second); the last value still goes out, at the end of the interval.
 * 4. The newest value is published again after every reconnect: the connection is a fresh session, and a restarted
 *    broker has forgotten every retained message.
 *
 * A subscriber that falls behind so far that its broker drops messages toward it (Mosquitto's max_queued_messages)
 * may still miss the newest one; it gets it with the next change, or the retained one when it subscribes again.
 */
import type { MqttClient } from 'mqtt';

/**
 * Messages awaiting their PUBACK before the next value waits. More than one, because some brokers are slow to
 * acknowledge without being overloaded: Mosquitto without `set_tcp_nodelay` holds a PUBACK back by up to ~40 ms
 * (Nagle's algorithm against delayed ACKs, measured on loopback), and a window of one would then pass only ~25
 * values a second. Four pass a phone's 30-60 a second one by one there, while a flood still becomes a trickle.
 */
export const MAX_IN_FLIGHT = 4;

export interface LatestValuePublisherOptions {
  readonly retain: boolean;
  /** The least time between two messages; 0 (default): only the acknowledgement paces them. */
  readonly minIntervalMs?: number;
}

export class LatestValuePublisher {
  /** The newest value given; undefined until the first. */
  private latest: string | undefined;
  /** Whether `latest` still has to go out. */
  private unsent = false;
  /** Messages published and not yet acknowledged. */
  private inFlight = 0;
  private lastSentAt = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | undefined;
  /** Values that were replaced before they went out, for metrics. */
  superseded = 0;

  constructor(
    private readonly client: MqttClient,
    readonly topic: string,
    private readonly options: LatestValuePublisherOptions,
  ) {
    client.on('connect', () => {
      if (this.latest === undefined) return;
      // A message left in flight by the lost connection is re-sent by mqtt.js before this event, or never
      // acknowledged: either way the newest goes out now, after it, on the same topic and QoS.
      this.inFlight = 0;
      this.unsent = true;
      this.send();
    });
  }

  /** The newest value of the topic: sent now unless MAX_IN_FLIGHT await their PUBACK, else as soon as one has it. */
  publish(payload: string): void {
    if (this.unsent) this.superseded++;
    this.latest = payload;
    this.unsent = true;
    this.trySend();
  }

  /** Sends the waiting value now, without waiting for an acknowledgement: before a deliberate disconnect. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.unsent && this.client.connected) this.send();
  }

  /** True while a value waits to go out (for tests and metrics). */
  get waiting(): boolean {
    return this.unsent;
  }

  /** Stops the interval timer, for a shutdown. */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private trySend(): void {
    if (!this.unsent || this.inFlight >= MAX_IN_FLIGHT || this.timer || !this.client.connected) return;
    const wait = (this.options.minIntervalMs ?? 0) - (performance.now() - this.lastSentAt);
    if (wait > 0) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.trySend();
      }, wait);
      return;
    }
    this.send();
  }

  private send(): void {
    const payload = this.latest;
    if (payload === undefined) return;
    this.unsent = false;
    this.inFlight++;
    this.lastSentAt = performance.now();
    this.client.publish(this.topic, payload, { qos: 1, retain: this.options.retain }, () => {
      // Acknowledged, or failed with the connection (the next connect sends the newest again).
      this.inFlight = Math.max(0, this.inFlight - 1);
      this.trySend();
    });
  }
}
