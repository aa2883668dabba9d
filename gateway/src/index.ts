export { AUTH_TIMEOUT_MS, type AuthMode, handshakeToken, MAX_PENDING_AUTH, MAX_PENDING_AUTH_PER_ADDRESS, sourceKey } from './auth.js';
export { type BannerOptions, bannerText, printBanner, terminalQrCode } from './banner.js';
export { ControllerServer, MAX_VIEWERS } from './controller-server.js';
export { type GatewayOptions, type RunningGateway, startGateway } from './gateway.js';
export { isQuiet, type MeasurementSink, Measurements, STATS_INTERVAL_MS } from './measurements.js';
export { MqttBridge, parseMaxClients } from './mqtt-bridge.js';
export * from './protocol.js';
export { RateWindow, SpreadWindow, WINDOW_MS } from './rolling-window.js';
export { MAX_BUFFERED_BYTES, Session } from './session.js';
