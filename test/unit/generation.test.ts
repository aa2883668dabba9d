/**
 * The gateway's generation, stamped on its occupancy and on its gravity values so that the led-driver orders the two
 * topics itself (MQTT orders messages only within one topic and QoS): the codec in ./shared, and the rule in
 * GatewayPresence. End to end, over real brokers: test/order/.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GatewayPresence } from '@gravity-led/led-driver';
import {
  decodeGatewayClients,
  encodeGatewayClients,
  encodeGravityJson,
  type Generation,
  olderGeneration,
  parseGravityPayload,
} from '@gravity-led/shared';

const at = (gen: number, run = 'a1b2c3d4'): Generation => ({ run, gen });

describe('the generation on the gravity topic', () => {
  it('is written by the gateway after the vector and read back with it', () => {
    const text = encodeGravityJson({ x: 0, y: 40, z: 91.6, seq: 7 }, at(3));
    assert.equal(text, '{"x":0,"y":40,"z":91.6,"seq":7,"run":"a1b2c3d4","gen":3}');
    assert.deepEqual(parseGravityPayload(Buffer.from(text)), { ok: true, value: { x: 0, y: 40, z: 91.6, seq: 7, generation: at(3) } });
  });

  it('is absent from values injected by hand, in either format, which are read as before', () => {
    assert.deepEqual(parseGravityPayload(Buffer.from('0 40 91.6')), { ok: true, value: { x: 0, y: 40, z: 91.6 } });
    assert.deepEqual(parseGravityPayload(Buffer.from(' {"x":0,"y":-40,"z":91.6} ')), { ok: true, value: { x: 0, y: -40, z: 91.6 } });
    assert.equal(encodeGravityJson({ x: 1, y: 2, z: 3 }), '{"x":1,"y":2,"z":3}');
  });

  it('refuses a half or malformed generation rather than apply the value out of order', () => {
    for (const extra of [
      '"gen":3',
      '"run":"a1b2c3d4"',
      '"run":"","gen":3',
      '"run":"a b","gen":3',
      '"run":"a1","gen":-1',
      '"run":"a1","gen":1.5',
    ]) {
      const result = parseGravityPayload(Buffer.from(`{"x":0,"y":40,"z":91.6,${extra}}`));
      assert.equal(result.ok ? 'ok' : result.reason, 'bad-generation', extra);
    }
    const long = parseGravityPayload(Buffer.from(`{"x":0,"y":40,"z":91.6,"run":"${'a'.repeat(33)}","gen":1}`));
    assert.equal(long.ok ? 'ok' : long.reason, 'bad-generation');
  });
});

describe('the generation on the occupancy topic', () => {
  it('round-trips, and an occupancy without one (an older gateway, by hand) still counts its controllers', () => {
    const text = encodeGatewayClients({ clients: 1, maxClients: 2, generation: at(5) });
    assert.equal(text, '{"clients":1,"maxClients":2,"run":"a1b2c3d4","gen":5}');
    assert.deepEqual(decodeGatewayClients(Buffer.from(text)), { clients: 1, generation: at(5) });
    assert.deepEqual(decodeGatewayClients(Buffer.from('{"clients":0,"maxClients":1}')), { clients: 0 });
  });

  it('is refused with the whole message when malformed, as anything else that is not an occupancy', () => {
    for (const text of ['{"clients":0,"gen":2}', '{"clients":-1}', '[1]', 'zero', '{"clients":1,"run":"x","gen":"2"}']) {
      assert.equal(decodeGatewayClients(Buffer.from(text)), undefined, text);
    }
  });
});

describe('older generation', () => {
  it('only compares within one gateway run', () => {
    assert.equal(olderGeneration(at(2), at(3)), true);
    assert.equal(olderGeneration(at(3), at(3)), false);
    assert.equal(olderGeneration(at(4), at(3)), false);
    assert.equal(olderGeneration(at(1, 'e5f6a7b8'), at(9)), false, 'a restarted gateway starts again at 1');
    assert.equal(olderGeneration(at(1), undefined), false);
  });
});

describe("the led-driver's view of the gateway (GatewayPresence)", () => {
  it("ignores the old phone's 0 delivered after the new phone's first value", () => {
    const presence = new GatewayPresence();
    presence.setOnline(true);
    assert.equal(presence.setClients(1, at(1)), 'noted');
    assert.equal(presence.gravity(at(1)), true);
    // The gateway sent 0 (gen 2), 1 (gen 3) and the new phone's value (gen 3); the value came first.
    assert.equal(presence.gravity(at(3)), true);
    assert.equal(presence.setClients(0, at(2)), 'superseded');
    assert.equal(presence.controllerConnected, true);
    assert.equal(presence.setClients(1, at(3)), 'noted');
  });

  it('ignores a value from a phone that has gone, delivered after the 0 that says so', () => {
    const presence = new GatewayPresence();
    presence.setOnline(true);
    presence.setClients(1, at(1));
    assert.equal(presence.setClients(0, at(2)), 'last-left');
    assert.equal(presence.gravity(at(1)), false);
    assert.equal(presence.controllerConnected, false);
  });

  it('applies values without a generation whatever it has seen, and they leave the generation alone', () => {
    const presence = new GatewayPresence();
    presence.setClients(1, at(5));
    assert.equal(presence.gravity(undefined), true);
    assert.equal(presence.setClients(0, at(5)), 'last-left', 'the generation seen is still 5');
  });

  it('lets a restarted gateway (another run) replace the old one, and counts the last controller leaving', () => {
    const presence = new GatewayPresence();
    presence.setOnline(true);
    presence.setClients(1, at(40));
    assert.equal(presence.gravity(at(40)), true);
    assert.equal(presence.setClients(0, at(1, 'e5f6a7b8')), 'last-left');
    assert.equal(presence.gravity(at(1, 'e5f6a7b8')), true);
    assert.equal(presence.gravity(at(40)), true, 'the old run is not comparable: the newer arrival wins, as without stamps');
  });
});
