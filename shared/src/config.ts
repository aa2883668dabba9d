/**
 * Configuration from environment variables: one table, the same names for `npm start` and docker-compose.yml.
 * Every variable is validated at the door; a bad value stops the service with one line naming the variable,
 * the value and what is allowed.
 */
import { fileURLToPath } from 'node:url';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

interface Variable<T> {
  readonly default: T;
  /** What is allowed, worded for the error line. */
  readonly allowed: string;
  /** The meaning, for the README's table and `--help`. */
  readonly doc: string;
  parse(raw: string): T | undefined;
}

function variable<T>(doc: string, allowed: string, fallback: T, parse: (raw: string) => T | undefined): Variable<T> {
  return { doc, allowed, default: fallback, parse };
}

function integer(raw: string, min: number, max: number): number | undefined {
  if (!/^\d+$/.test(raw)) return undefined;
  const n = Number(raw);
  return n >= min && n <= max ? n : undefined;
}

const port = (doc: string, fallback: number, offAllowed = false) =>
  variable(doc, offAllowed ? 'a TCP port 1..65535, or 0 for off' : 'a TCP port 1..65535', fallback, (raw) =>
    integer(raw, offAllowed ? 0 : 1, 65535),
  );

/** A whole number within min..max; the bounds stay readable for code that must apply the same rule (the MQTT capacity). */
const whole = (doc: string, fallback: number, min: number, max: number) => ({
  ...variable(doc, `a whole number ${min}..${max}`, fallback, (raw) => integer(raw, min, max)),
  min,
  max,
});

const oneOf = <const T extends string>(doc: string, fallback: T, values: readonly T[]) =>
  variable(doc, values.join(' | '), fallback, (raw) => ((values as readonly string[]).includes(raw) ? (raw as T) : undefined));

const text = (doc: string, allowed: string, pattern: RegExp) =>
  variable<string | undefined>(doc, allowed, undefined, (raw) => (pattern.test(raw) ? raw : undefined));

const bcmPin = (doc: string, fallback: number) => whole(doc, fallback, 0, 27);

const decimal = (doc: string, fallback: number, min: number, max: number) =>
  variable(doc, `a number ${min}..${max}`, fallback, (raw) => {
    if (!/^\d+(\.\d+)?$/.test(raw)) return undefined;
    const n = Number(raw);
    return n >= min && n <= max ? n : undefined;
  });

const MQTT_URL_PATTERN = /^(mqtts?|wss?):\/\/[^\s/?#]+(:\d{1,5})?(\/[^\s]*)?$/;

/**
 * The longest Unix socket path taken: the kernel's sun_path holds 108 bytes with its terminating NUL on Linux (104 on
 * BSD and macOS); a longer one fails only at listen() or connect(), so it is refused here.
 */
export const MAX_SOCKET_PATH_BYTES = 100;

/** An absolute path a Unix socket can have. */
function socketPath(raw: string): string | undefined {
  return raw.startsWith('/') && !/\s/.test(raw) && Buffer.byteLength(raw) <= MAX_SOCKET_PATH_BYTES ? raw : undefined;
}

/** mqtt.js's form for a broker on a Unix socket (its README, "unixSocket"): `mqtt+unix://` and the absolute path. */
const UNIX_URL_PREFIX = 'mqtt+unix://';

/**
 * A broker URL the MQTT client can use: the pattern, then the URL parser the client itself uses (so `mqtt://[::1`
 * is refused here, not thrown at connect), and a port in 1..65535 (the parser lets 0 through, the socket does not).
 */
function mqttUrl(raw: string): string | undefined {
  if (raw.startsWith(UNIX_URL_PREFIX)) return socketPath(raw.slice(UNIX_URL_PREFIX.length)) ? raw : undefined;
  if (!MQTT_URL_PATTERN.test(raw)) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return undefined;
  }
  if (url.port !== '' && integer(url.port, 1, 65535) === undefined) return undefined;
  return raw;
}

/** Where generated secrets and the certificate live: `.data/` at the repository root unless DATA_DIR says otherwise. */
export const DEFAULT_DATA_DIR = fileURLToPath(new URL('../../.data', import.meta.url));

export const VARIABLES = {
  GATEWAY_PORT: port('HTTP + WebSocket port of the gateway', 5678),
  GATEWAY_HTTPS_PORT: port('the same page and WebSocket over TLS (https, wss)', 5679, true),
  GATEWAY_HOST: text('address the gateway listens on', 'an IP address or host name', /^[\w.:-]+$/),
  TLS_CERT_FILE: text('PEM certificate for the HTTPS port and BROKER_TLS_PORT', 'a file path', /^.+$/),
  TLS_KEY_FILE: text('PEM private key for TLS_CERT_FILE', 'a file path', /^.+$/),
  PUBLIC_HOSTS: variable<readonly string[]>(
    'host names or addresses, comma-separated, by which phones reach this machine when it cannot see them itself (a container): added to the generated certificate and to the printed links',
    'host names or IP addresses separated by commas',
    [],
    (raw) => {
      const hosts = raw.split(',').map((h) => h.trim());
      return hosts.every((h) => /^[a-zA-Z0-9-]+(\.[a-zA-Z0-9-]+)*$|^[0-9a-fA-F:.]*:[0-9a-fA-F:.]*$/.test(h) && h.length <= 253)
        ? hosts
        : undefined;
    },
  ),
  GATEWAY_TOKEN: text('secret the phone client must present', '16..256 characters from A-Z a-z 0-9 . _ ~ + / = -', /^[\w.~+/=-]{16,256}$/),
  GATEWAY_AUTH: oneOf('`none` turns authentication off (trusted LAN, legacy client)', 'token', ['token', 'none']),
  GATEWAY_MAX_CLIENTS: whole('simultaneous controllers; changeable at run time over MQTT', 1, 0, 1000),
  GATEWAY_HEARTBEAT_MS: whole(
    'how often each WebSocket client is pinged; one without a pong by the next ping is dropped',
    10000,
    100,
    600000,
  ),
  GATEWAY_MAX_RATE: whole('frames per second accepted from one controller; the excess is dropped, latest wins', 1000, 1, 100000),
  GATEWAY_HOSTS_BROKER: oneOf(
    '`true`: the gateway runs the broker in its own process (its doors on the BROKER_ ports, as the broker service has them) and reaches it without a socket, which is what `npm start` does; the led-driver still connects through MQTT_URL',
    'false',
    ['false', 'true'],
  ),
  MQTT_URL: variable<string>(
    'broker used by gateway and led-driver',
    'an mqtt://, mqtts://, ws:// or wss:// URL (port, if given, 1..65535), or mqtt+unix:// and the absolute path of a Unix socket (BROKER_SOCKET)',
    'mqtt://localhost:1883',
    mqttUrl,
  ),
  MQTT_USERNAME: text(
    "the operator's MQTT account (mosquitto_pub/sub, MQTT Explorer, Home Assistant)",
    '1..64 characters without spaces',
    /^\S{1,64}$/,
  ),
  MQTT_PASSWORD: text("the operator's MQTT password", '8..256 characters without spaces', /^\S{8,256}$/),
  MQTT_SERVICE_USERNAME: text('the account gateway and led-driver present to the broker', '1..64 characters without spaces', /^\S{1,64}$/),
  MQTT_SERVICE_PASSWORD: text('the password of MQTT_SERVICE_USERNAME', '8..256 characters without spaces', /^\S{8,256}$/),
  BROKER_HOST: text('address the broker listens on', 'an IP address or host name', /^[\w.:-]+$/),
  BROKER_PORT: port('MQTT over TCP', 1883),
  BROKER_WS_PORT: port('MQTT over WebSocket (browser MQTT tools)', 9001, true),
  BROKER_TLS_PORT: port('MQTT over TLS with the certificate above', 0, true),
  BROKER_SOCKET: variable(
    'MQTT over a Unix domain socket besides the TCP doors, for clients on this machine (`mqtt+unix://` and the path in MQTT_URL, `mosquitto_sub --unix`), owner-only; empty: none. `npm start` gives its led-driver one, DATA_DIR/mqtt.sock, unless MQTT_URL names another broker or door',
    `an absolute path of at most ${MAX_SOCKET_PATH_BYTES} bytes, or empty for none`,
    '',
    (raw) => (raw === '' ? '' : socketPath(raw)),
  ),
  BROKER_METRICS_PORT: port('Prometheus /metrics, /healthz and /readyz of the embedded broker', 9465, true),
  BROKER_MAX_QUEUED_MESSAGES: whole(
    'QoS 1/2 messages the embedded broker keeps per persistent session (clean session off) for its client while it is away; beyond it the oldest is dropped (Mosquitto: max_queued_messages)',
    1000,
    1,
    1_000_000,
  ),
  BROKER_SESSION_EXPIRY_S: whole(
    'seconds a persistent session of the embedded broker is kept after its client went away; 0 keeps it for good (Mosquitto: persistent_client_expiration)',
    86400,
    0,
    31_536_000,
  ),
  TOPIC_PREFIX: variable(
    'first level of every topic',
    'letters, digits, - and _ (1..64), or several such levels joined by /',
    'gravity-led',
    (raw) => (/^[\w-]{1,64}(\/[\w-]{1,64}){0,3}$/.test(raw) ? raw : undefined),
  ),
  LED_BACKEND: oneOf(
    '`pigpio` (Pi 1-4), `sysfs` (kernel PWM, Pi 5), `sim` (simulated), `auto` = the one this board needs; simulated only off a Raspberry Pi',
    'auto',
    ['auto', 'pigpio', 'sysfs', 'sim'],
  ),
  LED_BOARD_MODEL_FILE: variable(
    "where the led-driver reads which board it runs on (the device tree's model string; /proc/cpuinfo's Model line when it cannot be read): `auto` never simulates on a Raspberry Pi",
    'a file path',
    '/proc/device-tree/model',
    (raw) => raw,
  ),
  LED_RIGHT_PIN: bcmPin('BCM number of the green LED (tilt right, y > 0)', 18),
  LED_LEFT_PIN: bcmPin('BCM number of the red LED (tilt left, y < 0)', 5),
  PWM_FREQUENCY: whole('PWM frequency in Hz of both LEDs (pigpio picks the nearest frequency it supports)', 800, 1, 40000),
  PWM_RANGE: whole('pigpio only: PWM steps from off to fully on; duty 0..100 % is mapped onto 0..PWM_RANGE', 1000, 25, 40000),
  LED_SYSFS_ROOT: variable('sysfs backend only: where the kernel PWM chips are', 'a folder path', '/sys/class/pwm', (raw) => raw),
  LED_PWM_CHIP: variable(
    'sysfs backend only: the number N of the RP1 PWM0 chip (pwmchipN, from `pwm-2chan`); `auto` = found by its device-tree node. `pwm-pio` chips are always found by their GPIO',
    '`auto` or a whole number 0..63',
    'auto' as 'auto' | number,
    (raw) => (raw === 'auto' ? 'auto' : integer(raw, 0, 63)),
  ),
  LED_GAMMA: decimal(
    'brightness curve: PWM duty = (duty/100)^LED_GAMMA; 1 = linear (the seed), about 2.2 looks even to the eye',
    1,
    0.1,
    5,
  ),
  LED_DEADBAND: decimal('duties below this many percent drive the LED fully off (hides sensor jitter around level)', 0, 0, 50),
  LED_SIM_FILE: text(
    'simulated LEDs only: a file kept holding their current duty, e.g. for tests that look at the "hardware"',
    'a file path',
    /^.+$/,
  ),
  FAILSAFE_TIMEOUT_MS: whole('no fresh gravity value for this long: both LEDs off', 1000, 50, 600000),
  HA_DISCOVERY: oneOf('`true`: the led-driver announces the two LEDs to Home Assistant (MQTT discovery)', 'false', ['false', 'true']),
  HA_DISCOVERY_PREFIX: variable("Home Assistant's discovery prefix", 'letters, digits, - and _ (1..64)', 'homeassistant', (raw) =>
    /^[\w-]{1,64}$/.test(raw) ? raw : undefined,
  ),
  METRICS_PORT: port('Prometheus /metrics, /healthz and /readyz of the led-driver', 9464, true),
  METRICS_HOST: text("address the led-driver's METRICS_PORT listens on", 'an IP address or host name', /^[\w.:-]+$/),
  WARMUP_FRAMES: whole(
    'frames each service sends through a private copy of its own hot path before it is ready (at most 5 s), so that the first phone meets compiled code; nothing reaches the LEDs, a topic or a port of the system (docs/performance.md). 0: off',
    2000,
    0,
    100000,
  ),
  DATA_DIR: variable('folder for generated secrets and the certificate', 'a folder path', DEFAULT_DATA_DIR, (raw) => raw),
  LOG_LEVEL: oneOf('log level', 'info', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  LOG_FORMAT: oneOf('`pretty` for people, `json` for machines, `auto` = pretty on a terminal', 'auto', ['auto', 'pretty', 'json']),
} as const;

export type VariableName = keyof typeof VARIABLES;
export type Config = {
  readonly [K in VariableName]: (typeof VARIABLES)[K]['default'] | NonNullable<ReturnType<(typeof VARIABLES)[K]['parse']>>;
};

/**
 * Rules across variables, checked once each variable has parsed on its own: the one home of every check that needs
 * two of them. Each returns the error line, naming the variables concerned, or undefined when the rule holds.
 */
const RULES: readonly ((config: Config) => string | undefined)[] = [
  (c) =>
    (c.TLS_CERT_FILE === undefined) !== (c.TLS_KEY_FILE === undefined)
      ? 'TLS_CERT_FILE and TLS_KEY_FILE must be set together (or neither, for a generated certificate)'
      : undefined,
  (c) =>
    c.LED_RIGHT_PIN === c.LED_LEFT_PIN
      ? `LED_RIGHT_PIN and LED_LEFT_PIN are both ${c.LED_RIGHT_PIN}: the two LEDs need two different pins`
      : undefined,
  // A service cannot listen twice on one port: the second listener would fail with EADDRINUSE after the first
  // had started. 0 (off) may repeat.
  distinctPorts('the broker', ['BROKER_PORT', 'BROKER_WS_PORT', 'BROKER_TLS_PORT']),
  distinctPorts('the gateway', ['GATEWAY_PORT', 'GATEWAY_HTTPS_PORT']),
];

function distinctPorts(service: string, names: readonly VariableName[]): (config: Config) => string | undefined {
  return (config) => {
    for (const [i, a] of names.entries()) {
      for (const b of names.slice(i + 1)) {
        const port = config[a];
        if (port !== 0 && port === config[b]) {
          return `${a} and ${b} are both ${String(port)}: each listener of ${service} needs its own port (0 turns one off)`;
        }
      }
    }
    return undefined;
  };
}

/** Quotes a value for the error line without letting control characters or megabytes through. */
function show(raw: string): string {
  const clipped = raw.length > 64 ? `${raw.slice(0, 64)}…` : raw;
  return JSON.stringify(clipped);
}

/**
 * Reads every variable. An unset or empty variable takes its default (compose's `${VAR:-}` passes empty strings);
 * anything else must parse, or a ConfigError names the variable, the value and what is allowed; then the RULES
 * across variables must hold.
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): Config {
  const config: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(VARIABLES) as [VariableName, Variable<unknown>][]) {
    const raw = env[name];
    if (raw === undefined || raw === '') {
      config[name] = spec.default;
      continue;
    }
    const value = spec.parse(raw);
    if (value === undefined) throw new ConfigError(`${name}=${show(raw)} is not allowed: expected ${spec.allowed}`);
    config[name] = value;
  }
  for (const rule of RULES) {
    const broken = rule(config as Config);
    if (broken) throw new ConfigError(broken);
  }
  return config as Config;
}
