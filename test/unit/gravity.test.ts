import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  encodeGravityBinary,
  encodeGravityJson,
  MAX_COMPONENT,
  parseGravityBinary,
  parseGravityPayload,
  parseGravityText,
} from '@gravity-led/shared';

describe('the seed text frame "x y z"', () => {
  it('reads what the seed Android client sends (Float.toString of each component x100)', () => {
    assert.deepEqual(parseGravityText('0.0 50.0 86.6'), { ok: true, value: { x: 0, y: 50, z: 86.6 } });
    assert.deepEqual(parseGravityText('-1.2345678E-5 -40.0 91.6'), { ok: true, value: { x: -1.2345678e-5, y: -40, z: 91.6 } });
  });

  it('accepts any white space between and around the numbers', () => {
    assert.deepEqual(parseGravityText('  1\t2 \n 3 '), { ok: true, value: { x: 1, y: 2, z: 3 } });
    assert.deepEqual(parseGravityText('+1 .5 -3.'), { ok: true, value: { x: 1, y: 0.5, z: -3 } });
  });

  it('refuses the wrong number of components', () => {
    for (const text of ['1 2', '1 2 3 4', '1']) {
      const result = parseGravityText(text);
      assert.equal(result.ok, false, text);
      assert.equal(!result.ok && result.reason, 'wrong-count');
    }
  });

  it('refuses what is not a decimal number, including the NaN the seed client sends for a zero vector', () => {
    for (const text of ['NaN NaN NaN', '1 Infinity 3', '0x10 1 2', '1,5 2 3', '1 2 abc', '1e 2 3', '1 2 3e999']) {
      const result = parseGravityText(text);
      assert.equal(result.ok, false, text);
      assert.match(!result.ok ? result.reason : '', /not-a-number|out-of-range/, text);
    }
  });

  it('refuses components beyond the plausible range', () => {
    const result = parseGravityText(`0 ${MAX_COMPONENT + 1} 0`);
    assert.equal(!result.ok && result.reason, 'out-of-range');
    assert.equal(parseGravityText(`0 ${MAX_COMPONENT} 0`).ok, true);
  });

  it('refuses an empty frame', () => {
    assert.equal(!parseGravityText('').ok && 'empty', 'empty');
    const result = parseGravityText('   ');
    assert.equal(!result.ok && result.reason, 'empty');
  });
});

describe('the JSON frame', () => {
  it('reads x, y, z and the optional seq, ignoring other fields', () => {
    assert.deepEqual(parseGravityText('{"x":0,"y":50,"z":86.6}'), { ok: true, value: { x: 0, y: 50, z: 86.6 } });
    assert.deepEqual(parseGravityText('{"x":1,"y":-2,"z":3,"seq":7,"t":"x"}'), { ok: true, value: { x: 1, y: -2, z: 3, seq: 7 } });
  });

  it('names what is wrong', () => {
    const cases: [string, string][] = [
      ['{"x":1,"y":2', 'bad-json'],
      ['{"x":"1","y":2,"z":3}', 'bad-shape'],
      ['{"x":1,"y":2}', 'bad-shape'],
      ['{"x":1,"y":null,"z":3}', 'bad-shape'],
      ['{"x":1,"y":2,"z":3,"seq":-1}', 'bad-seq'],
      ['{"x":1,"y":2,"z":3,"seq":1.5}', 'bad-seq'],
      ['{"x":1,"y":1e308,"z":3}', 'out-of-range'],
    ];
    for (const [text, reason] of cases) {
      const result = parseGravityText(text);
      assert.equal(result.ok ? 'ok' : result.reason, reason, text);
    }
  });

  it('round-trips what the gateway publishes', () => {
    const text = encodeGravityJson({ x: 1.5, y: -20, z: 97.9, seq: 3 });
    assert.deepEqual(parseGravityText(text), { ok: true, value: { x: 1.5, y: -20, z: 97.9, seq: 3 } });
  });
});

describe('the 12-byte binary frame', () => {
  it('reads three big-endian float32 values, as Java ByteBuffer writes them', () => {
    // 50.0f big-endian is 42 48 00 00; -40.0f is c2 20 00 00; 0.0f is zeros.
    const bytes = Uint8Array.from([0, 0, 0, 0, 0x42, 0x48, 0, 0, 0xc2, 0x20, 0, 0]);
    assert.deepEqual(parseGravityBinary(bytes), { ok: true, value: { x: 0, y: 50, z: -40 } });
    assert.deepEqual(parseGravityBinary(encodeGravityBinary(1, -2.5, 3)), { ok: true, value: { x: 1, y: -2.5, z: 3 } });
  });

  it('refuses other lengths and non-finite values', () => {
    for (const length of [0, 11, 13, 24]) {
      const result = parseGravityBinary(new Uint8Array(length));
      assert.equal(!result.ok && result.reason, 'bad-binary-length', String(length));
    }
    const nan = encodeGravityBinary(0, Number.NaN, 0);
    assert.equal(!parseGravityBinary(nan).ok && 'refused', 'refused');
  });
});

describe('MQTT payloads on the gravity topic', () => {
  it('accepts the seed text and JSON as UTF-8', () => {
    assert.deepEqual(parseGravityPayload(Buffer.from('0 40 91.6')), { ok: true, value: { x: 0, y: 40, z: 91.6 } });
    assert.deepEqual(parseGravityPayload(Buffer.from('{"x":0,"y":-40,"z":91.6}')), { ok: true, value: { x: 0, y: -40, z: 91.6 } });
  });

  it('refuses binary junk and oversized payloads', () => {
    assert.equal(parseGravityPayload(Buffer.from([0xff, 0xfe, 0x00, 0x01])).ok, false);
    const result = parseGravityPayload(Buffer.alloc(2000, 0x31));
    assert.equal(!result.ok && result.reason, 'too-large');
  });
});
