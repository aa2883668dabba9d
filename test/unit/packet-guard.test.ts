/** The broker's packet-size tracker over streams cut at random places: it must follow packet boundaries exactly. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PacketSizeTracker, PacketTooLargeError } from '@gravity-led/broker';
import { Prng } from '../helpers/prng.js';

function packet(rng: Prng, bodyLength: number): Buffer {
  const length: number[] = [];
  let n = bodyLength;
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    length.push(byte);
  } while (n > 0);
  return Buffer.concat([Buffer.from([rng.int(0, 255)]), Buffer.from(length), rng.bytes(bodyLength)]);
}

/** Feeds `stream` in random slices; true when the tracker let all of it through. */
function passes(tracker: PacketSizeTracker, rng: Prng, stream: Buffer): boolean {
  try {
    for (let at = 0; at < stream.length; ) {
      const end = Math.min(stream.length, at + rng.int(1, 700));
      tracker.check(stream.subarray(at, end));
      at = end;
    }
    return true;
  } catch (error) {
    assert.ok(error instanceof PacketTooLargeError);
    return false;
  }
}

describe('PacketSizeTracker', () => {
  const rng = Prng.fromEnv('packet-guard');

  it('lets through any stream of packets up to the limit, however it is cut', () => {
    for (let round = 0; round < 300; round++) {
      const limit = rng.int(64, 4096);
      const packets = Array.from({ length: rng.int(1, 20) }, () => packet(rng, rng.int(0, limit - 5)));
      const stream = Buffer.concat(packets.filter((p) => p.length <= limit));
      assert.ok(passes(new PacketSizeTracker(limit), rng, stream), `round ${round}`);
    }
  });

  it('stops a stream as soon as one packet is over the limit, wherever it is', () => {
    for (let round = 0; round < 300; round++) {
      const limit = rng.int(64, 4096);
      const before = Array.from({ length: rng.int(0, 10) }, () => packet(rng, rng.int(0, limit - 5)));
      const small = before.filter((p) => p.length <= limit);
      const big = packet(rng, rng.int(limit, limit * 3));
      assert.equal(passes(new PacketSizeTracker(limit), rng, Buffer.concat([...small, big])), false, `round ${round}`);
    }
  });

  it('refuses a 200 MB announcement from its header alone, and a remaining length longer than 4 bytes', () => {
    assert.throws(() => new PacketSizeTracker(8192).check(Buffer.from([0x30, 0xff, 0xff, 0xff, 0x5f])), PacketTooLargeError);
    assert.throws(() => new PacketSizeTracker(1e12).check(Buffer.from([0x30, 0x80, 0x80, 0x80, 0x80, 0x01])), PacketTooLargeError);
  });
});
