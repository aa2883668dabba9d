/**
 * A WebSocket client written by hand on a raw TCP socket, for attacks no well-behaved library makes: it completes
 * the handshake, then never reads another byte while it writes frames (RFC 6455 section 5.2, masked as a client's
 * must be) as fast as its own socket takes them.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

export const Opcode = { Text: 0x1, Binary: 0x2, Close: 0x8, Ping: 0x9, Pong: 0xa } as const;

/** One client frame: FIN set, masked, payload up to 64 KiB. */
export function clientFrame(opcode: number, payload: Uint8Array | string): Buffer {
  const body = Buffer.from(payload);
  // Math.random, not crypto: frames are made by the million, and each randomBytes() is an async resource the test runner tracks.
  const mask = Buffer.from([0, 0, 0, 0].map(() => Math.floor(Math.random() * 256)));
  for (let i = 0; i < body.length; i++) body[i] = (body[i] as number) ^ (mask[i % 4] as number);
  const length = body.length;
  const head =
    length < 126 ? Buffer.from([0x80 | opcode, 0x80 | length]) : Buffer.from([0x80 | opcode, 0x80 | 126, length >> 8, length & 0xff]);
  return Buffer.concat([head, mask, body]);
}

export class NonReadingClient {
  /** The HTTP status of the handshake's answer (101 when upgraded). */
  status: number | undefined;
  closed = false;
  /** Bytes this client managed to write. */
  written = 0;
  private flooding = false;

  private constructor(private readonly socket: Socket) {
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
    });
  }

  /** Connects and sends the handshake for `path` (query included), and waits for the status line; then reads nothing more. */
  static async open(port: number, path: string, extraHeaders = ''): Promise<NonReadingClient> {
    const socket = connect({ host: '127.0.0.1', port });
    const client = new NonReadingClient(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('error', reject);
    });
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n${extraHeaders}\r\n`,
    );
    const first = await new Promise<Buffer>((resolve) => {
      socket.once('data', resolve);
      socket.once('close', () => resolve(Buffer.alloc(0)));
    });
    socket.pause();
    const match = /^HTTP\/1\.1 (\d{3})/.exec(first.toString('latin1'));
    client.status = match ? Number(match[1]) : undefined;
    return client;
  }

  /** Writes frames made by `make` in batches, as fast as the socket drains, until stop() or the server closes it. */
  flood(make: (i: number) => Buffer, batch = 500): void {
    this.flooding = true;
    let i = 0;
    const next = () => {
      while (this.flooding && !this.closed) {
        const frames = Buffer.concat(Array.from({ length: batch }, () => make(i++)));
        this.written += frames.length;
        if (!this.socket.write(frames)) {
          this.socket.once('drain', next);
          return;
        }
      }
    };
    next();
  }

  send(frame: Buffer): void {
    this.socket.write(frame);
  }

  stop(): void {
    this.flooding = false;
    this.socket.destroy();
  }
}
