/**
 * An MQTT 3.1.1 client over a bare TCP socket, for tests that must control how packets share a TCP write: mqtt.js
 * writes each packet on its own, so "two PUBLISH packets in one write" (how a broker that reads a socket in batches
 * sees a client that publishes twice in one tick) needs the bytes built by hand. Only what the tests need:
 * CONNECT (with a last will), PUBLISH at QoS 0 and 1; whatever the broker answers is read and ignored.
 */
import { connect, type Socket } from 'node:net';
import { waitFor } from './wait.js';

/** The remaining-length field of a fixed header (MQTT 3.1.1 section 2.2.3). */
function remainingLength(n: number): Buffer {
  const bytes: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    bytes.push(byte);
  } while (n > 0);
  return Buffer.from(bytes);
}

/** A UTF-8 string with its two-byte length (section 1.5.3). */
function utf8(text: string | Buffer): Buffer {
  const bytes = Buffer.isBuffer(text) ? text : Buffer.from(text, 'utf8');
  const length = Buffer.alloc(2);
  length.writeUInt16BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

function packet(firstByte: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([firstByte]), remainingLength(body.length), body]);
}

export interface PublishOptions {
  readonly qos?: 0 | 1;
  readonly retain?: boolean;
}

let nextPacketId = 1;

/** A PUBLISH packet (section 3.3): QoS 0 or 1, retained or not. */
export function publishPacket(topic: string, payload: string, options: PublishOptions = {}): Buffer {
  const qos = options.qos ?? 0;
  const flags = (qos << 1) | (options.retain ? 1 : 0);
  const id = Buffer.alloc(qos > 0 ? 2 : 0);
  if (qos > 0) {
    id.writeUInt16BE(nextPacketId);
    nextPacketId = (nextPacketId % 65535) + 1;
  }
  return packet(0x30 | flags, Buffer.concat([utf8(topic), id, Buffer.from(payload, 'utf8')]));
}

export interface RawConnectOptions {
  readonly port: number;
  readonly username: string;
  readonly password: string;
  readonly clientId?: string;
  /** A retained QoS 1 last will. */
  readonly will?: { readonly topic: string; readonly payload: string };
}

export class RawMqttClient {
  private received = Buffer.alloc(0);

  private constructor(readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk]).subarray(-64);
    });
    socket.on('error', () => {});
  }

  /** Connects and waits for a CONNACK that accepts the connection. */
  static async connect(options: RawConnectOptions): Promise<RawMqttClient> {
    const socket = connect(options.port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const client = new RawMqttClient(socket);
    const willFlags = options.will ? 0x04 | (1 << 3) | 0x20 : 0;
    // User name, password, clean session, and the will (QoS 1, retained) when given.
    const flags = 0x80 | 0x40 | 0x02 | willFlags;
    const keepalive = Buffer.from([0, 60]);
    const body = Buffer.concat([
      utf8('MQTT'),
      Buffer.from([4, flags]),
      keepalive,
      utf8(options.clientId ?? `raw-${Math.random().toString(16).slice(2, 10)}`),
      ...(options.will ? [utf8(options.will.topic), utf8(options.will.payload)] : []),
      utf8(options.username),
      utf8(options.password),
    ]);
    socket.write(packet(0x10, body));
    // CONNACK: 0x20, length 2, session present, return code 0.
    await waitFor('the CONNACK', () => {
      const at = client.received.indexOf(0x20);
      if (at < 0 || client.received.length < at + 4) return undefined;
      if (client.received[at + 3] !== 0) throw new Error(`connection refused, return code ${client.received[at + 3]}`);
      return true;
    });
    return client;
  }

  /** Writes the packets in one TCP write. */
  write(...packets: Buffer[]): void {
    this.socket.write(Buffer.concat(packets));
  }

  /** Disconnects cleanly (DISCONNECT, so no will). */
  end(): void {
    this.socket.end(Buffer.from([0xe0, 0]));
  }

  /** Drops the connection without DISCONNECT: the broker publishes the will. */
  destroy(): void {
    this.socket.destroy();
  }
}
