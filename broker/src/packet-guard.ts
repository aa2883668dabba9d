/**
 * A maximum MQTT packet size for the embedded broker. Aedes' parser (mqtt-packet) believes the remaining length a
 * client announces and buffers until that many bytes have arrived: one connection, even before CONNECT, could make
 * the broker hold up to 256 MB. The guard reads only the fixed headers as the bytes stream past (it never buffers
 * a packet) and destroys the connection as soon as a packet announces more than the limit.
 */
import { Duplex } from 'node:stream';

/** Largest MQTT packet accepted (fixed header included): publishes are capped at 4 KiB of payload well below this. */
export const MAX_PACKET_BYTES = 8 * 1024;

export class PacketTooLargeError extends Error {
  override name = 'PacketTooLargeError';
}

/**
 * Follows the packet boundaries of an MQTT byte stream: type byte, remaining length (1..4 bytes, 7 bits each),
 * then that many bytes to skip. check() throws PacketTooLargeError on a packet over the limit or a malformed length.
 */
export class PacketSizeTracker {
  /** Bytes of the current packet's body still to come; -1 while reading a fixed header. */
  private remaining = -1;
  /** Within a fixed header: the length so far, its multiplier, and whether the type byte was read. */
  private length = 0;
  private multiplier = 1;
  private lengthBytes = 0;
  private typeRead = false;

  constructor(readonly maxBytes: number = MAX_PACKET_BYTES) {}

  check(chunk: Uint8Array): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.remaining > 0) {
        const skip = Math.min(this.remaining, chunk.length - i);
        this.remaining -= skip;
        i += skip;
        if (this.remaining === 0) this.remaining = -1;
        continue;
      }
      const byte = chunk[i++] as number;
      if (!this.typeRead) {
        this.typeRead = true;
        continue;
      }
      this.length += (byte & 0x7f) * this.multiplier;
      this.multiplier *= 128;
      this.lengthBytes++;
      // 1 type byte + up to 4 length bytes + the body.
      if (1 + this.lengthBytes + this.length > this.maxBytes) {
        throw new PacketTooLargeError(`MQTT packet over ${this.maxBytes} bytes`);
      }
      if (byte & 0x80) {
        if (this.lengthBytes === 4) throw new PacketTooLargeError('malformed MQTT remaining length');
        continue;
      }
      this.remaining = this.length > 0 ? this.length : -1;
      this.length = 0;
      this.multiplier = 1;
      this.lengthBytes = 0;
      this.typeRead = false;
    }
  }
}

/**
 * Wraps a connection so that everything read from it passes the tracker first; the broker is handed the wrapper.
 * On a violation the real connection is destroyed and `onViolation` is told why.
 */
export function guardConnection(
  connection: Duplex,
  onViolation: (error: PacketTooLargeError) => void,
  maxBytes: number = MAX_PACKET_BYTES,
): Duplex {
  const tracker = new PacketSizeTracker(maxBytes);
  const guarded: Duplex = new Duplex({
    read() {
      connection.resume();
    },
    write(chunk: Buffer, _encoding, callback) {
      if (connection.write(chunk)) callback();
      else connection.once('drain', () => callback());
    },
    // Aedes writes each packet in pieces (mqtt-packet's writeToStream: type, length, topic, payload) between a cork()
    // and an uncork(): passed on corked, they leave as one write, one TCP segment. Without this they left as five
    // system calls and segments per packet, each a wake-up of the receiver (docs/performance.md).
    writev(chunks: { chunk: Buffer }[], callback) {
      connection.cork();
      let flowing = true;
      for (const { chunk } of chunks) flowing = connection.write(chunk);
      connection.uncork();
      if (flowing) callback();
      else connection.once('drain', () => callback());
    },
    final(callback) {
      connection.end();
      callback();
    },
    destroy(error, callback) {
      connection.destroy();
      callback(error);
    },
  });
  connection.on('data', (chunk: Buffer) => {
    try {
      tracker.check(chunk);
    } catch (error) {
      connection.destroy();
      guarded.destroy();
      onViolation(error as PacketTooLargeError);
      return;
    }
    if (!guarded.push(chunk)) connection.pause();
  });
  connection.on('end', () => guarded.push(null));
  connection.on('error', (error) => guarded.destroy(error));
  connection.on('close', () => guarded.destroy());
  return guarded;
}
