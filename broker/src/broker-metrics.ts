/**
 * What the embedded broker tells Prometheus: connected clients by account, accepted and refused publishes, refused
 * subscriptions, refused connections (a wrong password, a client id held by another account, MQTT 5), session
 * takeovers, connections cut for an oversized packet, and the persistent sessions' queues (kept, dropped, expired).
 *
 * It is a registry of its own, so that whichever process hosts the broker exposes it: BROKER_METRICS_PORT when the
 * broker runs alone (`npm start -w broker`, its container), or the /metrics of a process that embeds it through
 * startBroker() (RunningBroker.metrics), rendered next to that process's own registry.
 */
import { type Labels, Registry } from '@gravity-led/shared';
import type { Role } from './permissions.js';

/** Why a publish was dropped. */
export type PublishRefusal = 'not-authorized' | 'too-large';

/** Why a connection was refused at CONNECT. */
export type ConnectRefusal = 'bad-credentials' | 'client-id-in-use' | 'protocol-version';

const ACCOUNTS: readonly Role[] = ['operator', 'service'];

export class BrokerMetrics {
  readonly registry = new Registry();
  /** Connected clients by account, read at scrape time. */
  clients: () => Iterable<readonly [Role, number]> = () => [];
  /** QoS 1/2 messages kept for persistent sessions, read at scrape time. */
  queued: () => number = () => 0;
  private readonly publishes = this.registry.counter(
    'broker_publishes_total',
    "PUBLISH packets accepted from clients (and from a local client in the broker's process, local-client.ts), by account",
  );
  private readonly publishesRefused = this.registry.counter(
    'broker_publishes_refused_total',
    'PUBLISH packets dropped (acknowledged, never delivered, the connection kept), by account and reason: not-authorized, too-large',
  );
  private readonly subscriptionsRefused = this.registry.counter(
    'broker_subscriptions_refused_total',
    'Subscriptions refused with SUBACK failure 0x80 (the connection kept), by account',
  );
  private readonly connectsRefused = this.registry.counter(
    'broker_connections_refused_total',
    'CONNECTs refused, by reason: bad-credentials, client-id-in-use (held by another account), protocol-version (MQTT 5)',
  );
  private readonly takeovers = this.registry.counter(
    'broker_session_takeovers_total',
    'Connections that took over the client id of a connected client of the same account [MQTT-3.1.4-2], by account',
  );
  private readonly oversized = this.registry.counter(
    'broker_oversized_packets_total',
    'Connections cut because a packet announced more than the largest packet accepted',
  );

  private readonly queueDrops = this.registry.counter(
    'broker_queued_messages_dropped_total',
    'Messages dropped, oldest first, from the full queue of a persistent session (BROKER_MAX_QUEUED_MESSAGES)',
  );
  private readonly expiries = this.registry.counter(
    'broker_sessions_expired_total',
    'Persistent sessions forgotten after their client stayed away BROKER_SESSION_EXPIRY_S',
  );

  constructor() {
    this.registry.gauge(
      'broker_queued_messages',
      'QoS 1/2 messages kept for persistent sessions (sent and not yet acknowledged, or waiting for their client)',
      () => [[{}, this.queued()]],
    );
    this.registry.gauge('broker_clients', 'Connected MQTT clients, by account', () =>
      [...this.clients()].map(([account, n]): [Labels, number] => [{ account }, n]),
    );
    // Every series exists from the start, so a rate() over it works before the first event.
    for (const account of ACCOUNTS) {
      this.publishes.touch({ account });
      this.subscriptionsRefused.touch({ account });
      this.takeovers.touch({ account });
      for (const reason of ['not-authorized', 'too-large'] as const) this.publishesRefused.touch({ account, reason });
    }
    for (const reason of ['bad-credentials', 'client-id-in-use', 'protocol-version'] as const) this.connectsRefused.touch({ reason });
    this.oversized.touch();
    this.queueDrops.touch();
    this.expiries.touch();
  }

  queuedMessageDropped(): void {
    this.queueDrops.inc();
  }

  sessionExpired(): void {
    this.expiries.inc();
  }

  published(account: Role): void {
    this.publishes.inc({ account });
  }

  publishRefused(account: Role, reason: PublishRefusal): void {
    this.publishesRefused.inc({ account, reason });
  }

  subscriptionRefused(account: Role): void {
    this.subscriptionsRefused.inc({ account });
  }

  connectRefused(reason: ConnectRefusal): void {
    this.connectsRefused.inc({ reason });
  }

  takenOver(account: Role): void {
    this.takeovers.inc({ account });
  }

  oversizedPacket(): void {
    this.oversized.inc();
  }
}
