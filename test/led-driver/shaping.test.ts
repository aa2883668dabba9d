/** LED_GAMMA and LED_DEADBAND: what the pins get for each duty of the LED rule. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ShapedBackend, SimBackend, shapeDuty, shaped } from '@gravity-led/led-driver';
import { loadConfig } from '@gravity-led/shared';

describe('output shaping', () => {
  it('is the identity with the defaults (the seed linear rule)', () => {
    const config = loadConfig({});
    const shape = { gamma: config.LED_GAMMA, deadband: config.LED_DEADBAND };
    assert.deepEqual(shape, { gamma: 1, deadband: 0 });
    for (const d of [0, 0.01, 12.5, 40, 99.99, 100]) assert.equal(shapeDuty(d, shape), d);
    const sim = new SimBackend();
    assert.equal(shaped(sim, shape), sim, 'no wrapper when linear');
  });

  it('applies the gamma curve, keeping 0 and 100 fixed', () => {
    const shape = { gamma: 2, deadband: 0 };
    assert.equal(shapeDuty(0, shape), 0);
    assert.equal(shapeDuty(50, shape), 25);
    assert.ok(Math.abs(shapeDuty(40, shape) - 16) < 1e-9);
    assert.equal(shapeDuty(100, shape), 100);
  });

  it('drives duties below the deadband fully off, and leaves the rest alone', () => {
    const shape = { gamma: 1, deadband: 5 };
    assert.equal(shapeDuty(4.99, shape), 0);
    assert.equal(shapeDuty(5, shape), 5);
    assert.equal(shapeDuty(60, shape), 60);
  });

  it('wraps a backend: the pins get the shaped duty, the name and close pass through', async () => {
    const sim = new SimBackend();
    const backend = shaped(sim, { gamma: 2, deadband: 3 });
    assert.ok(backend instanceof ShapedBackend);
    assert.equal(backend.name, 'sim');
    backend.write({ left: 2, right: 50 });
    assert.deepEqual(sim.duty, { left: 0, right: 25 });
    await backend.close();
    assert.equal(sim.closed, true);
  });

  it('rejects values outside the allowed ranges with a clear line', () => {
    assert.throws(() => loadConfig({ LED_GAMMA: '0' }), /LED_GAMMA="0" is not allowed: expected a number 0.1..5/);
    assert.throws(() => loadConfig({ LED_GAMMA: 'abc' }), /LED_GAMMA/);
    assert.throws(() => loadConfig({ LED_DEADBAND: '51' }), /LED_DEADBAND="51" is not allowed: expected a number 0..50/);
    assert.throws(() => loadConfig({ PWM_FREQUENCY: '0' }), /PWM_FREQUENCY="0" is not allowed: expected a whole number 1..40000/);
    assert.throws(() => loadConfig({ PWM_RANGE: '10' }), /PWM_RANGE="10" is not allowed: expected a whole number 25..40000/);
    assert.throws(() => loadConfig({ LED_PWM_CHIP: 'x' }), /LED_PWM_CHIP="x" is not allowed/);
    assert.equal(loadConfig({ LED_PWM_CHIP: '2' }).LED_PWM_CHIP, 2);
    assert.equal(loadConfig({ LED_GAMMA: '2.2' }).LED_GAMMA, 2.2);
  });
});
