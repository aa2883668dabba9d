/**
 * A connection to the broker inside its own process: two streams joined back to back, what one side writes the other
 * reads. A process that hosts the broker (the gateway, when GATEWAY_HOSTS_BROKER is on) gives its MQTT client one
 * side and the broker the other, so that its messages cross no socket and wake no other process, while the broker
 * still sees an ordinary MQTT connection: the same CONNECT and account, the same permissions, the same order.
 *
 * Backpressure as a socket has it: a write waits (its callback is held) while the reading side's buffer is full, and
 * goes on once that side reads again.
 */
import { Duplex } from 'node:stream';

class Side extends Duplex {
  peer: Side | undefined;
  /** The peer's write waiting for this side to read what it already holds. */
  private waiting: ((error?: Error | null) => void) | undefined;

  /** The peer has written: accepted at once unless this side's buffer is full. */
  deliver(chunk: Buffer, done: (error?: Error | null) => void): void {
    if (this.push(chunk)) done();
    else this.waiting = done;
  }

  override _read(): void {
    const done = this.waiting;
    this.waiting = undefined;
    done?.();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.send(chunk, callback);
  }

  /** The pieces written between a cork() and an uncork() (an MQTT packet, mqtt-packet writes it so) arrive as one. */
  override _writev(chunks: { chunk: Buffer }[], callback: (error?: Error | null) => void): void {
    const first = chunks[0] as { chunk: Buffer };
    this.send(chunks.length === 1 ? first.chunk : Buffer.concat(chunks.map((c) => c.chunk)), callback);
  }

  private send(chunk: Buffer, callback: (error?: Error | null) => void): void {
    const peer = this.peer;
    if (!peer || peer.destroyed) callback(new Error('in-process MQTT connection closed'));
    else peer.deliver(chunk, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.peer?.push(null);
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const peer = this.peer;
    this.peer = undefined;
    // Like a socket: when one end goes, so does the connection.
    if (peer && !peer.destroyed) peer.destroy();
    callback(error);
  }
}

/** The two ends of one in-process connection: `[client, broker]`. */
export function inProcessConnection(): [Duplex, Duplex] {
  const client = new Side();
  const broker = new Side();
  client.peer = broker;
  broker.peer = client;
  return [client, broker];
}
