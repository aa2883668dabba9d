/**
 * The gateway's side of MQTT: publishes gravity, follows the LED state, the led-driver's availability and the
 * operator's capacity setting, and announces the gateway's own occupancy.
 *
 * Gravity goes at QoS 0 (a stream: the next value supersedes a lost one, and nothing is queued), the occupancy and
 * the status at QoS 1, retained. Aedes delivers a QoS 0 value published just after a QoS 1 occupancy before it
 * (moscajs/aedes#994), and MQTT orders nothing across topics anyway (section 4.6): both carry the gateway's
 * generation (messages.ts), which the led-driver uses to ignore whichever arrives after something newer. The
 * subscriptions are QoS 1, so that no broker may drop the LED state, the led-driver's status or a capacity setting
 * toward a busy gateway.
 *
 * The hot path (gravity out, leds/state in) goes through a HotPathLink (hot-path.ts): this MQTT client's, or, when
 * the gateway hosts the broker, the broker's local client. Gravity through the local client is handed to the broker
 * at once, ahead of an occupancy still on its way through the in-process connection: the generation puts that right
 * as it does for aedes#994.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import {
  type Account,
  connectService,
  decodeLedState,
  decodeStatus,
  disconnectService,
  encodeGatewayClients,
  encodeGravityJson,
  type Generation,
  type Gravity,
  type LedState,
  type Logger,
  RefusalLog,
  type Topics,
  VARIABLES,
} from '@gravity-led/shared';
import type { MqttClient } from 'mqtt';
import { type HotPathLink, mqttHotPath } from './hot-path.js';

export interface BridgeEvents {
  /** A state from leds/state; `retained` when it is the broker's replay on (re)subscribing rather than news. */
  state: [LedState, boolean];
  /** A valid capacity from the operator. */
  'max-clients': [number];
  /** The device can (or can no longer) be driven: broker reachable and led-driver online. */
  availability: [boolean];
}

/** A broker hosted in this process: how to open a connection to it, and its local client for the hot path. */
export interface HostedConnection {
  /** Each (re)connection of the MQTT client (connectService's `connection`). */
  readonly connect: () => Duplex;
  /** The hot path through the broker's local client, logged in with `account`; `log` says what it refuses. */
  readonly hotPath: (account: Account, log: Logger) => HotPathLink;
}

/** The capacity the operator may set over MQTT follows the rule of GATEWAY_MAX_CLIENTS: a whole number 0..1000. */
const MAX_CLIENTS = VARIABLES.GATEWAY_MAX_CLIENTS;

export function parseMaxClients(payload: Uint8Array): number | undefined {
  return MAX_CLIENTS.parse(Buffer.from(payload).toString('utf8').trim());
}

export class MqttBridge extends EventEmitter<BridgeEvents> {
  readonly client: MqttClient;
  /** Gravity out and leds/state in. */
  private readonly hotPath: HotPathLink;
  private driverOnline = false;
  private available = false;
  lastState: LedState | undefined;
  /** Invalid capacity values: the first is a warning, a flood of them must not become a flood of log lines. */
  private readonly badMaxClients: RefusalLog;
  private occupancy: string | undefined;
  /**
   * The current generation: this run's name, and how many occupancy messages it has announced. Every gravity value
   * carries the generation of the occupancy announced before it.
   */
  private generation: Generation = { run: randomBytes(4).toString('hex'), gen: 0 };

  constructor(
    url: string,
    account: Account,
    private readonly topics: Topics,
    log: Logger,
    /** A broker hosted in this process. */
    hosted?: HostedConnection,
  ) {
    super();
    this.badMaxClients = new RefusalLog(log);
    // The local client first: it throws for an account the broker does not know, before any connection is made.
    const local = hosted?.hotPath(account, log);
    this.client = connectService({ url, account, service: 'gateway', statusTopic: topics.gatewayStatus, connection: hosted?.connect });
    this.hotPath = local ?? mqttHotPath(this.client);
    const subscriptions = [...this.hotPath.follow(topics.ledsState, (payload, retained) => this.onState(payload, retained))];
    subscriptions.push(topics.driverStatus, topics.maxClientsSet);
    this.client.on('connect', () => {
      log.info({ url }, 'connected to MQTT broker');
      this.client.subscribe(subscriptions, { qos: 1 }, (error) => {
        // Lost with the connection, it is made again on the next connect; anything else is a real problem.
        if (!error) return;
        if (this.client.connected) log.error({ err: error.message }, 'could not subscribe');
        else log.debug({ err: error.message }, 'subscribe interrupted by the lost connection');
      });
      if (this.occupancy) this.client.publish(topics.gatewayClients, this.occupancy, { qos: 1, retain: true });
      this.updateAvailability();
    });
    this.client.on('close', () => {
      // What we knew of the led-driver came through this connection; a restarted broker may not even remember it.
      // It is learnt again from its (retained or fresh) status after the reconnect.
      this.driverOnline = false;
      this.updateAvailability();
    });
    this.client.on('error', (error) => log.warn({ err: error.message }, 'MQTT error'));
    this.client.on('message', (topic, payload, packet) => this.onMessage(topic, payload, packet.retain));
  }

  private onState(payload: Buffer, retained: boolean): void {
    const state = decodeLedState(payload);
    if (state) {
      this.lastState = state;
      this.emit('state', state, retained);
    }
  }

  private onMessage(topic: string, payload: Buffer, retained: boolean): void {
    if (topic === this.topics.driverStatus) {
      this.driverOnline = decodeStatus(payload) === true;
      this.updateAvailability();
    } else if (topic === this.topics.maxClientsSet) {
      // A capacity is a command for now, not a setting to keep: a retained one (`mosquitto_pub -r`) would be replayed
      // at every (re)subscription and override GATEWAY_MAX_CLIENTS across restarts. The broker marks the replay
      // (MQTT 3.1.1 section 3.3.1.3: RETAIN is 1 only for a message sent because of a new subscription).
      if (retained) {
        this.badMaxClients.record(
          'retained-max-clients',
          `ignored a retained ${topic}: a capacity set over MQTT is not kept across restarts (publish it without -r; clear it with mosquitto_pub -r -n -t ${topic})`,
          { payload: payload.toString('utf8', 0, 32) },
        );
        return;
      }
      const n = parseMaxClients(payload);
      if (n === undefined) {
        this.badMaxClients.record('bad-max-clients', `ignored: expected ${MAX_CLIENTS.allowed}`, {
          topic,
          payload: payload.toString('utf8', 0, 32),
        });
      } else {
        this.emit('max-clients', n);
      }
    }
  }

  private updateAvailability(): void {
    const available = this.client.connected && this.driverOnline;
    if (available === this.available) return;
    this.available = available;
    this.emit('availability', available);
  }

  get isAvailable(): boolean {
    return this.available;
  }

  /** Publishes a gravity vector; false (and nothing queued) when the broker is not reachable. */
  publishGravity(gravity: Gravity, onSent?: () => void): boolean {
    if (!this.client.connected) return false;
    this.hotPath.publish(this.topics.gravity, encodeGravityJson(gravity, this.generation), onSent);
    return true;
  }

  /**
   * Announces the occupancy, retained, as a new generation; kept and sent again after a reconnect (with the same
   * generation) rather than queued while offline.
   */
  publishClients(clients: number, maxClients: number): void {
    this.generation = { run: this.generation.run, gen: this.generation.gen + 1 };
    this.occupancy = encodeGatewayClients({ clients, maxClients, generation: this.generation });
    if (this.client.connected) this.client.publish(this.topics.gatewayClients, this.occupancy, { qos: 1, retain: true });
  }

  async close(): Promise<void> {
    await disconnectService(this.client, this.topics.gatewayStatus);
    await this.hotPath.close();
  }
}
