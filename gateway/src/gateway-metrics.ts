/**
 * What the gateway tells Prometheus on `/metrics`: frames by outcome, refusals at its door, connected clients, how long a frame waits in
 * the gateway before its publish is handed on (to the MQTT socket, or to a hosted broker), the LED state as the led-driver reports it, and the
 * loop's round trips that measurements.ts makes (to the LEDs and back, and the WebSocket ping to each controller).
 */
import { type LedState, type RefusalLog, Registry } from '@gravity-led/shared';

/** Latency buckets in seconds, from half a millisecond (a local hop) to a second (something is wrong). */
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1] as const;

export interface ClientCounts {
  readonly controllerCount: number;
  readonly viewerCount: number;
}

export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly accepted = this.registry.counter('gateway_frames_accepted_total', 'Valid gravity frames received from controllers');
  private readonly rejected = this.registry.counter(
    'gateway_frames_rejected_total',
    'Frames refused with an error frame, by reason (wrong-count, not-a-number, bad-json, ..., refused for viewers)',
  );
  private readonly latency = this.registry.histogram(
    'gateway_publish_latency_seconds',
    'From a frame arriving on the WebSocket to its publish handed on (to the MQTT socket, or to the broker hosted in this process), rate-cap wait included',
    LATENCY_BUCKETS,
  );
  private readonly roundTrips = this.registry.histogram(
    'gateway_led_round_trip_seconds',
    'From a gravity frame with seq arriving on the WebSocket to the leds/state that echoes its seq arriving back from the broker',
    LATENCY_BUCKETS,
  );
  private readonly linkRoundTrips = this.registry.histogram(
    'gateway_link_round_trip_seconds',
    'WebSocket ping to pong with each controller, once a second: the network legs between the phone and the gateway',
    LATENCY_BUCKETS,
  );
  private readonly duty = this.registry.gauge('led_duty_percent', 'Duty cycle the led-driver last reported, 0..100, by LED');
  private readonly states = this.registry.counter(
    'led_states_total',
    'LED state changes reported on leds/state, by reason: gravity, manual, or a fail-safe (stale, controller-left, ...)',
  );

  constructor(clients: () => ClientCounts | undefined, mqttConnected: () => boolean, refusals?: RefusalLog) {
    this.accepted.touch();
    this.registry.counter(
      'gateway_refused_total',
      'Requests and connections refused at the door (malformed requests, tokens, authentication, capacity), by reason',
      () => [...(refusals?.totals ?? [])].map(([reason, n]) => [{ reason }, n] as const),
    );
    this.registry.gauge('gateway_clients', 'Connected WebSocket clients, by role', () => {
      const counts = clients();
      return [
        [{ role: 'controller' }, counts?.controllerCount ?? 0],
        [{ role: 'viewer' }, counts?.viewerCount ?? 0],
      ];
    });
    this.registry.gauge('gateway_mqtt_connected', '1 while the gateway is connected to the MQTT broker', () => [
      [{}, mqttConnected() ? 1 : 0],
    ]);
  }

  frameAccepted(): void {
    this.accepted.inc();
  }

  frameRejected(reason: string): void {
    this.rejected.inc({ reason });
  }

  /** `receivedAt` is the frame's arrival in performance.now() milliseconds. */
  published(receivedAt: number): void {
    this.latency.observe((performance.now() - receivedAt) / 1000);
  }

  /** A measured round trip to the LEDs and back (Measurements). */
  roundTrip(seconds: number): void {
    this.roundTrips.observe(seconds);
  }

  /** A measured WebSocket ping round trip to a controller (Measurements). */
  linkRoundTrip(seconds: number): void {
    this.linkRoundTrips.observe(seconds);
  }

  /** A state from leds/state; a retained one replayed on (re)subscribing is not a new change and is not counted. */
  state(state: LedState, retained: boolean): void {
    this.duty.set({ led: 'left' }, state.left);
    this.duty.set({ led: 'right' }, state.right);
    if (!retained) this.states.inc({ reason: state.reason });
  }

  render(): string {
    return this.registry.render();
  }
}
