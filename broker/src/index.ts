export { type BrokerOptions, type RunningBroker, startBroker } from './broker.js';
export { createPermissions, HA_DISCOVERY_PREFIX, MAX_PUBLISH_BYTES, type Role } from './permissions.js';
