export { type BrokerOptions, type RunningBroker, startBroker } from './broker.js';
export { guardConnection, MAX_PACKET_BYTES, PacketSizeTracker, PacketTooLargeError } from './packet-guard.js';
export { createPermissions, MAX_PUBLISH_BYTES, type Role } from './permissions.js';
