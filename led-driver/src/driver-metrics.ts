/**
 * What the led-driver tells Prometheus: the duty it applied, every state change by reason (fail-safes included),
 * refused inputs by topic and kind, manual commands, and whether it is connected to the broker.
 */
import { type Labels, type LedState, Registry } from '@gravity-led/shared';
import type { RunningLedDriver } from './led-driver.js';

export class DriverMetrics {
  readonly registry = new Registry();
  /** Set once the driver runs; the scrape-time values read it. */
  driver: RunningLedDriver | undefined;
  private readonly duty = this.registry.gauge('led_duty_percent', 'Duty cycle applied, 0..100, by LED (left = red, right = green)');
  private readonly states = this.registry.counter(
    'led_states_total',
    'LED state changes applied, by reason: gravity, manual, or a fail-safe (stale, controller-left, gateway-offline, broker-lost, shutdown)',
  );

  constructor() {
    this.duty.set({ led: 'left' }, 0);
    this.duty.set({ led: 'right' }, 0);
    this.registry.counter('driver_rejected_total', 'MQTT payloads the led-driver refused, by topic and kind', () =>
      [...(this.driver?.rejections.totals ?? [])].map(([key, n]): [Labels, number] => {
        const [topic = '', kind = ''] = key.split(' ');
        return [{ topic, kind }, n];
      }),
    );
    this.registry.counter(
      'driver_superseded_total',
      "Messages ignored because the gateway had already sent a newer generation (a phone's last value, an occupancy since replaced), by topic",
      () => [...(this.driver?.superseded ?? [])].map(([topic, n]): [Labels, number] => [{ topic }, n]),
    );
    this.registry.counter(
      'driver_coalesced_total',
      'Values left out by latest-value-wins: gravity values replaced by a newer one of the same socket read (input), states replaced before the broker had acknowledged enough of the earlier ones (state)',
      () => [
        [{ stage: 'input' }, this.driver?.gravityInput.superseded ?? 0],
        [{ stage: 'state' }, this.driver?.statePublisher.superseded ?? 0],
      ],
    );
    this.registry.counter('driver_manual_commands_total', 'Manual commands (leds/set topics) applied', () => [
      [{}, this.driver?.manual.applied ?? 0],
    ]);
    this.registry.gauge('driver_mqtt_connected', '1 while the led-driver is connected to the MQTT broker', () => [
      [{}, this.driver?.client.connected ? 1 : 0],
    ]);
  }

  /** Every applied state, as the driver reports it. */
  state(state: LedState): void {
    this.duty.set({ led: 'left' }, state.left);
    this.duty.set({ led: 'right' }, state.right);
    this.states.inc({ reason: state.reason });
  }
}
