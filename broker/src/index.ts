export { type BrokerOptions, type RunningBroker, startBroker } from './broker.js';
export { BrokerMetrics, type ConnectRefusal, type PublishRefusal } from './broker-metrics.js';
export { inProcessConnection } from './in-process.js';
export {
  type LocalClient,
  LocalClientError,
  type LocalClientRefusal,
  type LocalMessageHandler,
  type LocalSubscription,
} from './local-client.js';
export { guardConnection, MAX_PACKET_BYTES, PacketSizeTracker, PacketTooLargeError } from './packet-guard.js';
export { filterReaches, MAX_PUBLISH_BYTES, Permissions, type Role } from './permissions.js';
export { type BrokerService, startBrokerService } from './service.js';
export { type WarmUpResult, warmUpBroker } from './warm-up.js';
