export { AUTH_TIMEOUT_MS, type AuthMode, handshakeToken } from './auth.js';
export { type BannerOptions, bannerText, printBanner, terminalQrCode } from './banner.js';
export { ControllerServer, HEARTBEAT_MS, MAX_FRAME_BYTES, MAX_PENDING_AUTH } from './controller-server.js';
export { type GatewayOptions, type RunningGateway, startGateway } from './gateway.js';
export { LatestValueThrottle } from './latest-value-throttle.js';
export { MAX_CLIENTS_LIMIT, MqttBridge, parseMaxClients } from './mqtt-bridge.js';
export { MAX_BUFFERED_BYTES, type Role, Session } from './session.js';
