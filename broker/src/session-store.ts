/**
 * The broker's session state, in memory as Aedes keeps it, with the two bounds Mosquitto puts on it:
 *
 * - At most `maxQueued` QoS 1/2 messages kept per client (Mosquitto's `max_queued_messages`, default 1000): a
 *   persistent session (clean session 0, a QoS 1 subscription: Node-RED's mqtt nodes) whose client is offline has
 *   every message for it kept until it returns [MQTT-3.1.2-5], and aedes-persistence's in-memory store keeps them all
 *   ("the in-memory one retains everything in memory", moscajs/aedes-persistence#27): an hour of a phone session on
 *   `leds/state` was an ever-growing broker. When the queue is full the oldest is dropped and the newest kept, so
 *   the client comes back to the latest state, which is what the LED topics mean.
 * - Sessions whose client stays away are forgotten (Mosquitto's `persistent_client_expiration`): MQTT 3.1.1 lets a
 *   server discard session state "as a result of an administrator action, including an automated response based on
 *   defined conditions" (section 4.1), and a client id used once with clean session 0 would otherwise be kept for good.
 *
 * Only the outgoing queue is ours: subscriptions, retained messages, wills and the QoS 2 receive state stay with
 * aedes-persistence's MemoryPersistence, which this class extends through the persistence interface Aedes calls
 * (outgoingEnqueue, outgoingEnqueueCombi, outgoingUpdate, outgoingClearMessageId, outgoingStream).
 */
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import type { Client } from 'aedes';
import type { AedesPacket } from 'aedes-packet';
import type MemoryPersistenceClass from 'aedes-persistence/types/asyncPersistence.js';

// aedes-persistence ships its async in-memory store as CommonJS, with its typings in a separate folder; the module
// also carries the packet copy it keeps (aedes-packet's Packet).
const MemoryPersistence = createRequire(import.meta.url)('aedes-persistence/asyncPersistence.js') as typeof MemoryPersistenceClass & {
  Packet: new (packet: AedesPacket) => AedesPacket;
};

/** A packet kept for a client: a publish waiting to be sent or acknowledged, or a PUBREL waiting for its PUBCOMP. */
type Queued = AedesPacket;

export interface SessionLimits {
  /** Most messages kept per client; beyond it the oldest is dropped. */
  readonly maxQueued: number;
  /** Told of each message dropped from `clientId`'s full queue. */
  readonly onDrop: (clientId: string) => void;
}

export class SessionStore extends MemoryPersistence {
  /** Client id -> its queue, oldest first. */
  private readonly queues = new Map<string, Queued[]>();

  constructor(private readonly limits: SessionLimits) {
    super();
  }

  /** Messages kept for all clients together, for the metrics. */
  get queuedCount(): number {
    let n = 0;
    for (const queue of this.queues.values()) n += queue.length;
    return n;
  }

  private enqueue(clientId: string, packet: Queued): void {
    let queue = this.queues.get(clientId);
    if (!queue) {
      queue = [];
      this.queues.set(clientId, queue);
    }
    queue.push(packet);
    while (queue.length > this.limits.maxQueued) {
      queue.shift();
      this.limits.onDrop(clientId);
    }
  }

  override async outgoingEnqueue(sub: { clientId: string }, packet: AedesPacket): Promise<void> {
    this.enqueue(sub.clientId, copy(packet));
  }

  override async outgoingEnqueueCombi(subs: { clientId: string }[], packet: AedesPacket): Promise<void> {
    for (const sub of subs) this.enqueue(sub.clientId, copy(packet));
  }

  /**
   * Aedes tells the packet identifier it gave a queued publish as it sends it (found by the broker's own id and
   * counter), and a PUBREL that takes its publish's place (found by packet identifier). A publish no longer kept
   * (dropped from a full queue) is not an error: it is still sent this once, only not kept for a redelivery
   * (MemoryPersistence throws here, which Aedes turns into closing the client). A PUBREL whose publish was dropped
   * is kept, so that the QoS 2 exchange can finish after a reconnect [MQTT-4.4.0-1].
   */
  override async outgoingUpdate(client: Client, packet: AedesPacket): Promise<void> {
    const queue = this.queues.get(client.id) ?? [];
    for (const [i, queued] of queue.entries()) {
      if (queued.brokerId === packet.brokerId) {
        if (queued.brokerCounter === packet.brokerCounter) {
          queued.messageId = packet.messageId;
          return;
        }
      } else if (queued.messageId === packet.messageId) {
        queue[i] = packet;
        return;
      }
    }
    if (packet.cmd === 'pubrel') this.enqueue(client.id, packet);
  }

  /** Acknowledged (PUBACK, PUBCOMP) or no longer to be sent: forgotten. */
  override async outgoingClearMessageId(client: Client, packet: AedesPacket): Promise<AedesPacket> {
    const queue = this.queues.get(client.id);
    const i = queue?.findIndex((queued) => queued.messageId === packet.messageId) ?? -1;
    if (!queue || i < 0) return undefined as unknown as AedesPacket;
    const [cleared] = queue.splice(i, 1);
    if (queue.length === 0) this.queues.delete(client.id);
    return cleared as AedesPacket;
  }

  /** What a client that reconnects to its session is sent first, oldest first (a copy: it may change meanwhile). */
  override outgoingStream(client: Client): Readable {
    return Readable.from([...(this.queues.get(client.id) ?? [])]);
  }

  /** Forgets a session: its subscriptions, the messages kept for it and its QoS 2 receive state. */
  async forget(clientId: string): Promise<void> {
    const client = { id: clientId } as Client;
    await this.cleanSubscriptions(client);
    await this.cleanIncoming(client);
    this.queues.delete(clientId);
  }

  override async destroy(): Promise<void> {
    this.queues.clear();
    await super.destroy();
  }
}

/**
 * The packet as kept: aedes-packet's copy, as MemoryPersistence keeps it (the broker's id and counter kept, the
 * packet identifier cleared), so that one publish enqueued for several clients gets an identifier per client.
 */
function copy(packet: AedesPacket): Queued {
  return new MemoryPersistence.Packet(packet);
}
