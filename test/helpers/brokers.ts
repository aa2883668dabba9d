/**
 * The system under test on either broker, so that one test body runs on both: the embedded Aedes, or Debian's
 * Mosquitto through MQTT_URL (set up as test/helpers/mosquitto-broker.ts sets it up: a password file and an ACL).
 */
import mqtt, { type MqttClient } from 'mqtt';
import { MOSQUITTO_OPERATOR, MOSQUITTO_SERVICE, MosquittoBroker } from './mosquitto-broker.js';
import { TestSystem } from './system.js';

/**
 * The system under test on one broker: the embedded Aedes (all three services), or Mosquitto through MQTT_URL
 * (gateway and led-driver). `operator` and `mqttPort` address whichever broker it is, so one test body runs on both.
 */
export interface BrokerSystem {
  readonly name: BrokerKind;
  readonly system: TestSystem;
  readonly mqttPort: number;
  /** The operator's account on this broker, for mosquitto_pub/sub. */
  readonly operatorAccount: { username: string; password: string };
  /** The services' account on this broker: what a test uses to speak as the gateway or the led-driver. */
  readonly serviceAccount: { username: string; password: string };
  operator(extra?: mqtt.IClientOptions): Promise<MqttClient>;
  stop(): Promise<void>;
}

export const BROKERS = ['aedes', 'mosquitto'] as const;
/**
 * For tests that run the real gateway: the two brokers, and the embedded one hosted in the gateway's process
 * (GATEWAY_HOSTS_BROKER, what `npm start` runs), where the gateway's MQTT crosses no socket.
 */
export const GATEWAY_BROKERS = [...BROKERS, 'hosted'] as const;
export type BrokerKind = (typeof GATEWAY_BROKERS)[number];

/** The broker, then the services asked for (default: gateway and led-driver), with `env` for all. */
export async function startOn(
  broker: BrokerKind,
  env: Record<string, string> = {},
  services: readonly ('gateway' | 'led-driver')[] = ['gateway', 'led-driver'],
): Promise<BrokerSystem> {
  if (broker === 'aedes' || broker === 'hosted') {
    const hosted = broker === 'hosted';
    if (hosted && !services.includes('gateway')) throw new Error('the hosted broker needs the gateway');
    const system = hosted
      ? await TestSystem.start({ env: { ...env, GATEWAY_HOSTS_BROKER: 'true' }, services })
      : await TestSystem.start({ env, services: ['broker', ...services] });
    // The led-driver may have started before the gateway's broker listened: it retries until it is in.
    if (hosted) for (const service of services) await system.service(service).waitForLog('connected to MQTT broker', 30_000);
    const { operatorUsername, operatorPassword, serviceUsername, servicePassword } = system.secrets;
    const operatorAccount = { username: operatorUsername, password: operatorPassword };
    return {
      name: broker,
      system,
      mqttPort: system.ports.broker,
      operatorAccount,
      serviceAccount: { username: serviceUsername, password: servicePassword },
      async operator(extra = {}) {
        const client = mqtt.connect(`mqtt://127.0.0.1:${system.ports.broker}`, { ...operatorAccount, reconnectPeriod: 0, ...extra });
        await new Promise<void>((resolve, reject) => client.once('connect', () => resolve()).once('error', reject));
        return client;
      },
      stop: () => system.stop(),
    };
  }
  const mosquitto = await MosquittoBroker.start();
  let system: TestSystem;
  try {
    system = await TestSystem.start({ services, env: { ...mosquitto.serviceEnv, ...env } });
    for (const service of services) await system.service(service).waitForLog('connected to MQTT broker', 30_000);
  } catch (error) {
    await mosquitto.stop();
    throw error;
  }
  return {
    name: broker,
    system,
    mqttPort: mosquitto.port,
    operatorAccount: MOSQUITTO_OPERATOR,
    serviceAccount: MOSQUITTO_SERVICE,
    async operator(extra = {}) {
      const client = mqtt.connect(mosquitto.url, { ...MOSQUITTO_OPERATOR, reconnectPeriod: 0, ...extra });
      await new Promise<void>((resolve, reject) => client.once('connect', () => resolve()).once('error', reject));
      return client;
    },
    async stop() {
      await system.stop();
      await mosquitto.stop();
    },
  };
}
