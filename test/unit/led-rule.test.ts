import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dutyFromGravity } from '@gravity-led/led-driver';
import { OFF } from '@gravity-led/shared';

describe('the LED rule', () => {
  it('lights the right (green) LED with duty y when tilted right', () => {
    assert.deepEqual(dutyFromGravity({ y: 50 }), { left: 0, right: 50 });
    assert.deepEqual(dutyFromGravity({ y: 40 }), { left: 0, right: 40 });
  });

  it('lights the left (red) LED with duty -y when tilted left', () => {
    assert.deepEqual(dutyFromGravity({ y: -33.3 }), { left: 33.3, right: 0 });
  });

  it('keeps both off when level', () => {
    assert.deepEqual(dutyFromGravity({ y: 0 }), OFF);
  });

  it('clamps the duty to 0..100', () => {
    assert.deepEqual(dutyFromGravity({ y: 250 }), { left: 0, right: 100 });
    assert.deepEqual(dutyFromGravity({ y: -999 }), { left: 100, right: 0 });
  });

  it('keeps two decimals, so float32 noise does not churn the state', () => {
    assert.deepEqual(dutyFromGravity({ y: Math.fround(33.3) }), { left: 0, right: 33.3 });
    assert.deepEqual(dutyFromGravity({ y: 0.004 }), { left: 0, right: 0 });
  });
});
