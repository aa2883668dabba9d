/**
 * The smallest MQTT 3.1.1 client the broker's warm-up needs (warm-up.ts): one TCP connection to a private broker,
 * speaking through mqtt-packet (the broker's own codec), so that the broker's side of every packet runs the code a
 * real client's packets run. It plays the gateway and the led-driver toward a broker that serves nobody else; it is
 * no general client: no reconnection, no keepalive (keepalive 0 turns the broker's timer off, MQTT 3.1.1 section
 * 3.1.2.10), no QoS 2, no retry.
 */
import { connect, type Socket } from 'node:net';
import type { Account } from '@gravity-led/shared';
import mqttPacket, { type IConnackPacket, type ISubackPacket, type Packet } from 'mqtt-packet';

export type MessageHandler = (topic: string, payload: Buffer) => void;

export class WarmUpClient {
  private readonly parser = mqttPacket.parser({ protocolVersion: 4 });
  private nextMessageId = 1;
  /** The answer awaited by messageId (SUBACK), or under 0 for the CONNACK. */
  private readonly awaiting = new Map<number, (packet: Packet) => void>();
  private failure: ((error: Error) => void) | undefined;
  onMessage: MessageHandler = () => {};

  private constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk) => this.parser.parse(chunk));
    this.parser.on('packet', (packet) => this.received(packet));
    this.parser.on('error', (error) => this.fail(error));
    socket.on('error', (error) => this.fail(error));
    socket.on('close', () => this.fail(new Error('the private broker closed the connection')));
  }

  /** Connects and logs in; rejects on a refused CONNECT or a lost connection. */
  static open(port: number, account: Account, clientId: string): Promise<WarmUpClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port });
      const client = new WarmUpClient(socket);
      client.failure = reject;
      client.awaiting.set(-1, (packet) => {
        const code = (packet as IConnackPacket).returnCode ?? 0;
        if (code !== 0) return reject(new Error(`the private broker refused the CONNECT (return code ${code})`));
        resolve(client);
      });
      socket.once('connect', () =>
        client.write({
          cmd: 'connect',
          protocolId: 'MQTT',
          protocolVersion: 4,
          clean: true,
          clientId,
          keepalive: 0,
          username: account.username,
          password: Buffer.from(account.password),
        }),
      );
    });
  }

  /** Subscribes to one filter; resolves on its SUBACK. */
  subscribe(topic: string, qos: 0 | 1): Promise<void> {
    return new Promise((resolve, reject) => {
      const messageId = this.messageId();
      this.failure = reject;
      this.awaiting.set(messageId, (packet) => {
        const granted = (packet as ISubackPacket).granted[0];
        if (granted === 0x80) return reject(new Error(`the private broker refused the subscription to ${topic}`));
        resolve();
      });
      this.write({ cmd: 'subscribe', messageId, subscriptions: [{ topic, qos }] });
    });
  }

  /** Publishes; a QoS 1 message's PUBACK is taken when it comes and not waited for. */
  publish(topic: string, payload: string, qos: 0 | 1, retain: boolean): void {
    this.write({ cmd: 'publish', topic, payload, qos, retain, dup: false, ...(qos === 1 ? { messageId: this.messageId() } : {}) });
  }

  /** Tells a failure of the connection (refused, closed, broken) from now on to `handler`. */
  onFailure(handler: (error: Error) => void): void {
    this.failure = handler;
  }

  /** DISCONNECT, then the socket closed; nothing is told after this. */
  close(): void {
    this.failure = undefined;
    this.onMessage = () => {};
    if (this.socket.destroyed) return;
    this.socket.end(mqttPacket.generate({ cmd: 'disconnect' }));
    this.socket.destroySoon();
  }

  private received(packet: Packet): void {
    switch (packet.cmd) {
      case 'connack':
        this.answered(-1, packet);
        return;
      case 'suback':
        this.answered(packet.messageId ?? 0, packet);
        return;
      case 'publish': {
        // A QoS 1 delivery is acknowledged as every client must (MQTT 3.1.1 section 4.3.2), so the broker's
        // acknowledgement path runs as for the real gateway.
        if (packet.qos === 1 && packet.messageId !== undefined) this.write({ cmd: 'puback', messageId: packet.messageId });
        const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
        this.onMessage(packet.topic, payload);
        return;
      }
      default:
        return; // PUBACK of our QoS 1 publishes: nothing waits for it.
    }
  }

  private answered(key: number, packet: Packet): void {
    const resolve = this.awaiting.get(key);
    this.awaiting.delete(key);
    resolve?.(packet);
  }

  private fail(error: Error): void {
    const failure = this.failure;
    this.failure = undefined;
    failure?.(error);
  }

  private write(packet: Packet): void {
    if (!this.socket.destroyed) this.socket.write(mqttPacket.generate(packet));
  }

  private messageId(): number {
    const id = this.nextMessageId;
    this.nextMessageId = id === 0xffff ? 1 : id + 1;
    return id;
  }
}
