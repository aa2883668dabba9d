import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseLedCommand, parseManualSet } from '@gravity-led/led-driver';

const bytes = (text: string) => Buffer.from(text, 'utf8');

describe('manual control payloads', () => {
  it('leds/set takes left and/or right as numbers 0..100, rounded to two decimals', () => {
    assert.deepEqual(parseManualSet(bytes('{"left":30,"right":60}')), { ok: true, value: { left: 30, right: 60 } });
    assert.deepEqual(parseManualSet(bytes(' {"right":12.3456,"note":"x"} ')), { ok: true, value: { right: 12.35 } });
    assert.deepEqual(parseManualSet(bytes('{"left":0}')), { ok: true, value: { left: 0 } });
  });

  it('leds/set refuses everything else with a reason', () => {
    const cases: [string, string][] = [
      ['', 'empty'],
      ['{"left":', 'bad-json'],
      ['[1,2]', 'bad-shape'],
      ['null', 'bad-shape'],
      ['{}', 'bad-shape'],
      ['{"left":"30"}', 'bad-shape'],
      ['{"left":100.01}', 'out-of-range'],
      ['{"right":-1}', 'out-of-range'],
      ['{"left":1e999}', 'not-a-number'],
      [`{"left":1,"pad":"${'x'.repeat(2000)}"}`, 'too-large'],
    ];
    for (const [payload, reason] of cases) {
      const result = parseManualSet(bytes(payload));
      assert.equal(result.ok, false, payload);
      if (!result.ok) assert.equal(result.reason, reason, payload.slice(0, 40));
    }
  });

  it('per-LED topics take ON, OFF (any case) or a decimal duty 0..100', () => {
    assert.deepEqual(parseLedCommand(bytes('ON')), { ok: true, value: { kind: 'on' } });
    assert.deepEqual(parseLedCommand(bytes('off\n')), { ok: true, value: { kind: 'off' } });
    assert.deepEqual(parseLedCommand(bytes('55')), { ok: true, value: { kind: 'duty', duty: 55 } });
    assert.deepEqual(parseLedCommand(bytes('0.5')), { ok: true, value: { kind: 'duty', duty: 0.5 } });
    for (const [payload, reason] of [
      ['', 'empty'],
      ['HALF', 'not-a-number'],
      ['0x10', 'not-a-number'],
      ['Infinity', 'not-a-number'],
      ['101', 'out-of-range'],
      ['-0.1', 'out-of-range'],
    ]) {
      const result = parseLedCommand(bytes(payload as string));
      assert.equal(result.ok, false, payload);
      if (!result.ok) assert.equal(result.reason, reason, payload);
    }
  });
});
