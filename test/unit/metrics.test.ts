import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from '@gravity-led/shared';
import { checkHistogram, parseExposition } from '../helpers/metrics.js';

describe('metrics registry', () => {
  it('renders counters, gauges and histograms that parse back to what was recorded', () => {
    const registry = new Registry();
    const counter = registry.counter('things_total', 'Things');
    counter.inc({ kind: 'a' });
    counter.inc({ kind: 'a' }, 2);
    counter.inc({ kind: 'b "quoted"\\ \n' });
    registry.gauge('level', 'Level', () => [[{ led: 'left' }, 42.5]]);
    const histogram = registry.histogram('wait_seconds', 'Wait', [0.1, 0.01, 1]);
    for (const v of [0.005, 0.05, 0.05, 0.5, 5]) histogram.observe(v);
    const s = parseExposition(registry.render());
    assert.equal(s.value('gravity_led_things_total', { kind: 'a' }), 3);
    assert.equal(s.value('gravity_led_things_total', { kind: 'b "quoted"\\ \n' }), 1, 'label values are escaped');
    assert.equal(s.value('gravity_led_level', { led: 'left' }), 42.5);
    const h = checkHistogram(s, 'gravity_led_wait_seconds');
    assert.deepEqual(h.buckets, [
      [0.01, 1],
      [0.1, 3],
      [1, 4],
      [Number.POSITIVE_INFINITY, 5],
    ]);
    assert.equal(h.count, 5);
    assert.ok(Math.abs(h.sum - 5.605) < 1e-9);
  });

  it('refuses a decreasing counter and a name registered twice', () => {
    const registry = new Registry();
    const counter = registry.counter('x_total', 'X');
    assert.throws(() => counter.inc({}, -1), RangeError);
    assert.throws(() => registry.gauge('x_total', 'again'), /twice/);
  });
});
