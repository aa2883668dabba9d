/**
 * What the gateway's two warm-ups (warm-up.ts, hosting the broker; warm-up-standalone.ts, the broker another
 * process's) build alike: the private gateway, the real gateway's code on a private MQTT side, and the state the
 * real led-driver answers a gravity value with, which their stand-ins for it publish.
 */
import { type Account, createLogger, type LedState, randomSecret, type Topics, VARIABLES } from '@gravity-led/shared';
import { type RunningGateway, startGateway } from './gateway.js';
import type { HostedConnection } from './mqtt-bridge.js';

/** A private gateway and the token its phone presents. */
export interface PrivateGateway {
  readonly gateway: RunningGateway;
  readonly token: string;
}

/**
 * The real gateway's code (startGateway) with `account` on a private MQTT side: `mqtt.url` (the scripted peer's),
 * or a private broker of this process (`mqtt.hosted`, the url then only what its logs would say). Reachable on
 * loopback only, on an ephemeral port, no HTTPS, a random token, one controller, the highest GATEWAY_MAX_RATE (the
 * rehearsal's closed loop sends the next frame as soon as a state comes back, and no frame may be coalesced by the
 * throttle: its state would never come), and nothing logged.
 */
export async function startPrivateGateway(
  mqtt: { readonly url: string; readonly hosted?: HostedConnection },
  account: Account,
  topics: Topics,
): Promise<PrivateGateway> {
  const token = randomSecret(18);
  const gateway = await startGateway({
    host: '127.0.0.1',
    port: 0,
    httpsPort: 0,
    auth: 'token',
    token,
    maxClients: 1,
    maxRate: VARIABLES.GATEWAY_MAX_RATE.max,
    mqttUrl: mqtt.url,
    hostedBroker: mqtt.hosted,
    account,
    topics,
    log: createLogger('gateway', { LOG_LEVEL: 'silent', LOG_FORMAT: 'json' }),
  });
  return { gateway, token };
}

/**
 * The state the led-driver publishes for a gravity value with tilt `y` and frame number `seq`: the seed's LED rule
 * (led-driver/src/led-rule.ts, which the gateway does not import), which only shapes the states.
 */
export function echoState(y: number, seq: number | undefined): LedState {
  const duty = (v: number) => (v >= 100 ? 100 : Math.round(v * 100) / 100);
  const left = y < 0 ? duty(-y) : 0;
  const right = y > 0 ? duty(y) : 0;
  return seq === undefined ? { left, right, reason: 'gravity', ts: Date.now() } : { left, right, reason: 'gravity', seq, ts: Date.now() };
}

/** The led-driver's first state, at its start: its LEDs off. */
export function startState(): LedState {
  return { left: 0, right: 0, reason: 'start', ts: Date.now() };
}
