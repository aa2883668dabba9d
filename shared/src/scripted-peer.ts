/**
 * A scripted MQTT peer: the smallest MQTT 3.1.1 server that lets one real client (mqtt.js, as a service connects)
 * run its real code against a script in the same process. It is what a service's warm-up rehearses against: the
 * led-driver's plays the gateway to a private driver (led-driver/src/warm-up.ts); the gateway's, when the broker is
 * another process's, plays the broker and the led-driver to a private gateway (gateway/src/warm-up-standalone.ts).
 *
 * It is no broker, and meant for nobody else: it listens on loopback on a port of the OS's choice, accepts exactly
 * one connection and stops listening at once (a second client is refused by the OS), and that one connection must
 * present the account it was given. It keeps no session, no retained message and no subscription: it answers what
 * the protocol requires (CONNACK, SUBACK, UNSUBACK, PUBACK, PINGRESP) and hands what the client subscribes and
 * publishes to the script, which publishes whatever it wants in return. QoS 2 is not spoken.
 *
 * Packets are read and written with mqtt-packet, mqtt.js's own codec.
 */
import { createRequire } from 'node:module';
import { createServer, type Server, type Socket } from 'node:net';
import type * as MqttPacket from 'mqtt-packet';
import { errorMessage } from './errors.js';
import { listen } from './net.js';
import { type Account, secretEquals } from './secrets.js';

// Loaded on first use, as mqtt.js is (mqtt-connection.ts): only a service that rehearses needs the codec here.
const requireModule = createRequire(import.meta.url);
let codecModule: typeof MqttPacket | undefined;
function codec(): typeof MqttPacket {
  if (!codecModule) {
    codecModule = requireModule('mqtt-packet') as typeof MqttPacket;
    // mqtt-packet's number cache (65,536 pre-built 2-byte Buffers, 6.8 MB of heap for the life of the process) stays
    // off, as every MQTT client and broker of this project has it (docs/performance.md): set before the first write.
    codecModule.writeToStream.cacheNumbers = false;
  }
  return codecModule;
}

/** CONNACK return codes of MQTT 3.1.1 (section 3.2.2.3, table 3.1) that the peer gives. */
export const CONNACK_ACCEPTED = 0;
export const CONNACK_BAD_PROTOCOL = 1;
export const CONNACK_BAD_CREDENTIALS = 4;
export const CONNACK_NOT_AUTHORIZED = 5;

const CONNACK_MEANING: Readonly<Record<number, string>> = {
  [CONNACK_BAD_PROTOCOL]: 'unacceptable protocol version',
  [CONNACK_BAD_CREDENTIALS]: 'bad user name or password',
  [CONNACK_NOT_AUTHORIZED]: 'not authorized',
};

/** Why the peer ended a connection itself: a refused CONNECT, or a client breaking the protocol. */
export class ScriptedPeerError extends Error {
  constructor(
    message: string,
    /** The CONNACK return code the client was refused with, when it was. */
    readonly returnCode?: number,
  ) {
    super(message);
    this.name = 'ScriptedPeerError';
  }
}

/** What the peer tells its script. Each is called after the protocol's own answer has been written. */
export interface PeerScript {
  /** The client subscribed to `filters` (in the order asked); the SUBACK is written. */
  readonly subscribed?: (filters: readonly string[]) => void;
  /** The client published; the PUBACK of a QoS 1 message is written. */
  readonly published?: (topic: string, payload: Buffer) => void;
  /**
   * The one connection is over: `error` undefined when the client ended it with DISCONNECT, else why (refused,
   * broken, closed without DISCONNECT). Called once, and not after close().
   */
  readonly ended?: (error?: Error) => void;
}

export interface ScriptedPeerOptions {
  /** The account the one client must present. */
  readonly account: Account;
  readonly script: PeerScript;
}

export interface PeerPublishOptions {
  readonly qos?: 0 | 1;
  readonly retain?: boolean;
}

export class ScriptedPeer {
  private socket: Socket | undefined;
  /** CONNECT accepted: PUBLISH may flow both ways. */
  private connected = false;
  /** The connection is over, or close() was called: nothing more is said to the script. */
  private over = false;
  private nextMessageId = 1;
  private readonly closed: Promise<void>;

  private constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly options: ScriptedPeerOptions,
  ) {
    this.closed = new Promise((resolve) => server.once('close', () => resolve()));
    server.on('connection', (socket) => this.accept(socket));
  }

  /** Listens on 127.0.0.1, on a port of the OS's choice, for the one connection. */
  static async start(options: ScriptedPeerOptions): Promise<ScriptedPeer> {
    codec();
    const server = createServer();
    // One connection, ever: anything that slips in between the first accept and the server closing is dropped.
    server.maxConnections = 1;
    const port = await listen(server, 0, '127.0.0.1');
    return new ScriptedPeer(server, port, options);
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  /**
   * Publishes to the client, as a broker forwards a message: QoS 0 (default) or 1, with its RETAIN flag (1 for a
   * retained message sent because of a new subscription, MQTT 3.1.1 section 3.3.1.3). The client's PUBACK of a QoS 1
   * message is taken and not waited for. False when no accepted client is there to receive it.
   */
  publish(topic: string, payload: string | Buffer, options: PeerPublishOptions = {}): boolean {
    if (!this.connected) return false;
    const qos = options.qos ?? 0;
    const packet: MqttPacket.IPublishPacket = { cmd: 'publish', topic, payload, qos, retain: options.retain ?? false, dup: false };
    if (qos > 0) {
      // A non-zero identifier, unused by any other message in flight [MQTT-2.3.1-1, MQTT-2.3.1-4]: the script's
      // few QoS 1 messages are far from wrapping round.
      packet.messageId = this.nextMessageId;
      this.nextMessageId = (this.nextMessageId % 65535) + 1;
    }
    this.send(packet);
    return true;
  }

  /** Stops listening and drops the connection, if still there; resolves once the server has closed. */
  async close(): Promise<void> {
    this.over = true;
    this.connected = false;
    if (this.server.listening) this.server.close();
    this.socket?.destroy();
    await this.closed;
  }

  private accept(socket: Socket): void {
    // Stop listening at the first accept: a second client gets "connection refused" from the OS.
    if (this.server.listening) this.server.close();
    if (this.socket || this.over) {
      socket.destroy();
      return;
    }
    this.socket = socket;
    // Each packet is small and the loop waits for its answer: out at once, as every service socket here does.
    socket.setNoDelay(true);
    const parser = codec().parser({ protocolVersion: 4 });
    parser.on('packet', (packet) => this.guarded(() => this.onPacket(packet)));
    parser.on('error', (error: unknown) => this.end(new ScriptedPeerError(`malformed packet: ${errorMessage(error)}`)));
    socket.on('data', (chunk: Buffer) => {
      if (!this.over) parser.parse(chunk);
    });
    socket.on('error', (error) => this.end(error));
    socket.on('close', () => this.end(new ScriptedPeerError('the client closed the connection without DISCONNECT')));
  }

  /** A script or codec error ends the connection, never the process: the peer runs inside a service. */
  private guarded(run: () => void): void {
    try {
      run();
    } catch (error) {
      this.end(error instanceof Error ? error : new Error(errorMessage(error)));
    }
  }

  private onPacket(packet: MqttPacket.Packet): void {
    if (this.over) return;
    if (!this.connected) {
      // The first packet from the client MUST be CONNECT [MQTT-3.1.0-1].
      if (packet.cmd === 'connect') this.onConnect(packet);
      else this.end(new ScriptedPeerError(`expected CONNECT first, got ${packet.cmd.toUpperCase()}`));
      return;
    }
    const { script } = this.options;
    switch (packet.cmd) {
      case 'subscribe': {
        // The SUBSCRIBE's identifier [MQTT-2.3.1-7], and one granted QoS per filter, in order [MQTT-3.8.4-5]; QoS 2
        // granted as 1, the most the peer speaks (a server may grant less than asked, MQTT 3.1.1 section 3.8.4).
        const granted = packet.subscriptions.map((s) => Math.min(s.qos, 1));
        this.send({ cmd: 'suback', messageId: packet.messageId, granted });
        script.subscribed?.(packet.subscriptions.map((s) => s.topic));
        break;
      }
      case 'unsubscribe':
        // Answered even for filters never subscribed [MQTT-3.10.4-5].
        this.send({ cmd: 'unsuback', messageId: packet.messageId, granted: [] });
        break;
      case 'publish':
        if (packet.qos === 2) {
          this.end(new ScriptedPeerError('QoS 2 is not spoken here'));
          break;
        }
        // A QoS 1 PUBLISH is answered by a PUBACK with its identifier [MQTT-2.3.1-6] (MQTT 3.1.1 section 4.3.2).
        if (packet.qos === 1) this.send({ cmd: 'puback', messageId: packet.messageId });
        script.published?.(packet.topic, typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload);
        break;
      case 'puback':
        // The client took one of ours; nothing waits for it.
        break;
      case 'pingreq':
        // [MQTT-3.12.4-1]: the server MUST answer a PINGREQ with a PINGRESP.
        this.send({ cmd: 'pingresp' });
        break;
      case 'disconnect':
        // The client's clean goodbye: its will is discarded [MQTT-3.14.4-3], and the server closes the connection if
        // the client has not already (MQTT 3.1.1 section 3.14.4).
        this.end();
        break;
      default:
        // A second CONNECT is a protocol violation [MQTT-3.1.0-2]; the rest is no client's to send.
        this.end(new ScriptedPeerError(`unexpected ${packet.cmd.toUpperCase()} from the client`));
    }
  }

  private onConnect(packet: MqttPacket.IConnectPacket): void {
    const { account } = this.options;
    let returnCode = CONNACK_ACCEPTED;
    // MQTT 3.1.1 only: any other protocol level is refused with return code 1 [MQTT-3.1.2-2].
    if (packet.protocolVersion !== 4) returnCode = CONNACK_BAD_PROTOCOL;
    else if (packet.username === undefined || packet.password === undefined) returnCode = CONNACK_NOT_AUTHORIZED;
    else if (!(secretEquals(packet.username, account.username) && secretEquals(packet.password, account.password))) {
      returnCode = CONNACK_BAD_CREDENTIALS;
    }
    // No session is ever kept, so Session Present is 0 [MQTT-3.2.2-1, MQTT-3.2.2-3].
    this.send({ cmd: 'connack', returnCode, sessionPresent: false });
    if (returnCode === CONNACK_ACCEPTED) {
      this.connected = true;
      return;
    }
    // After a CONNACK that refuses, the server MUST close the connection [MQTT-3.2.2-5].
    const meaning = CONNACK_MEANING[returnCode] ?? 'refused';
    this.end(new ScriptedPeerError(`refused the client: ${meaning} (CONNACK return code ${returnCode})`, returnCode));
  }

  private send(packet: MqttPacket.Packet): void {
    // One Buffer, one write: each packet leaves as one TCP segment.
    this.socket?.write(codec().generate(packet));
  }

  /** The connection is over: closed from here (after what was written has gone), and the script told once. */
  private end(error?: Error): void {
    if (this.over) return;
    this.over = true;
    this.connected = false;
    this.socket?.end();
    this.options.script.ended?.(error);
  }
}

/** Starts a scripted peer (ScriptedPeer.start), for callers that take a function. */
export function startScriptedPeer(options: ScriptedPeerOptions): Promise<ScriptedPeer> {
  return ScriptedPeer.start(options);
}
