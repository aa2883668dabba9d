/**
 * A maximum MQTT packet size for the embedded broker. Aedes' parser (mqtt-packet) believes the remaining length a
 * client announces and buffers until that many bytes have arrived: one connection, even before CONNECT, could make
 * the broker hold up to 256 MB. The guard reads only the fixed headers as the bytes stream past (it never buffers
 * a packet) and destroys the connection as soon as a packet announces more than the limit.
 */
import type { Duplex } from 'node:stream';

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
 * Guards a connection in place: everything the broker reads from it passes the tracker first. Aedes reads a
 * connection only through read(), on each 'readable' (lib/client.js, nextBatch: `client.conn.read(null)`, then its
 * parser), so the connection's own read() is wrapped, and the broker is handed the connection itself: no stream
 * layer in between, for the bytes in or for the packets out (mqtt-packet corks the connection itself while it
 * writes a packet's pieces, so each packet leaves as one write). On a violation the connection is destroyed before
 * the parser sees the bytes, and `onViolation` is told why.
 */
export function guardConnection<T extends Duplex>(
  connection: T,
  onViolation: (error: PacketTooLargeError) => void,
  maxBytes: number = MAX_PACKET_BYTES,
): T {
  const tracker = new PacketSizeTracker(maxBytes);
  const read = connection.read;
  connection.read = function guardedRead(this: T, size?: number) {
    const chunk: unknown = read.call(this, size);
    if (chunk instanceof Uint8Array) {
      try {
        tracker.check(chunk);
      } catch (error) {
        this.destroy();
        onViolation(error as PacketTooLargeError);
        return null;
      }
    }
    return chunk;
  };
  return connection;
}
