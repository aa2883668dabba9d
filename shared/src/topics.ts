/**
 * Every MQTT topic the system uses, in one place. Services meet only here and on the broker,
 * so a topic name must never be spelled anywhere else.
 */
export interface Topics {
  /** Gravity vectors from the gateway, or injected by hand: JSON `{"x","y","z"}` or the seed's text `"x y z"`. */
  readonly gravity: string;
  /** Duty cycles the led-driver applied, retained: JSON `{"left","right","reason",...}`. */
  readonly ledsState: string;
  /** Manual LED control for MQTT tools and Home Assistant: JSON `{"left","right"}`. */
  readonly ledsSet: string;
  /** Manual control of one LED (Home Assistant's command topics): `ON`, `OFF` or a duty 0..100. */
  readonly ledsLeftSet: string;
  readonly ledsRightSet: string;
  /**
   * The state of one LED as Home Assistant reads it, retained: JSON `{"state":"ON"|"OFF","brightness":0..100}`,
   * at most a few times a second and always ending on the applied value (led-driver/src/ha-state.ts).
   */
  readonly ledsLeftState: string;
  readonly ledsRightState: string;
  /** Retained `online` / `offline` of the gateway, with a last will. */
  readonly gatewayStatus: string;
  /** Retained `online` / `offline` of the led-driver, with a last will. */
  readonly driverStatus: string;
  /** The operator sets the gateway's controller limit here (the seed's `set_server_limit`). */
  readonly maxClientsSet: string;
  /** Retained JSON `{"clients": n, "maxClients": m}` from the gateway. */
  readonly gatewayClients: string;
}

/** The topics under `prefix` (TOPIC_PREFIX). */
export function topicsFor(prefix: string): Topics {
  return {
    gravity: `${prefix}/gravity`,
    ledsState: `${prefix}/leds/state`,
    ledsSet: `${prefix}/leds/set`,
    ledsLeftSet: `${prefix}/leds/left/set`,
    ledsRightSet: `${prefix}/leds/right/set`,
    ledsLeftState: `${prefix}/leds/left/state`,
    ledsRightState: `${prefix}/leds/right/state`,
    gatewayStatus: `${prefix}/gateway/status`,
    driverStatus: `${prefix}/led-driver/status`,
    maxClientsSet: `${prefix}/gateway/max-clients/set`,
    gatewayClients: `${prefix}/gateway/clients`,
  };
}

/**
 * Home Assistant's own availability under its discovery prefix (HA_DISCOVERY_PREFIX): its birth message `online`
 * and its last will `offline` (HA's defaults: QoS 0, not retained). The operator's account may publish it; the
 * led-driver announces its discovery configs again when HA says `online`.
 */
export function haStatusTopic(discoveryPrefix: string): string {
  return `${discoveryPrefix}/status`;
}

/** Payloads of the status topics. */
export const ONLINE = 'online';
export const OFFLINE = 'offline';
