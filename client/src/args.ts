/** The command line of `npm run client`: parsed and checked here, so the rest of the client works on valid options. */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { type Account, DEFAULT_DATA_DIR, errorMessage, readStoredSecrets, VARIABLES } from '@gravity-led/shared';
import { type Recording, RecordingError, readRecording } from './recording.js';

export type FrameFormat = 'text' | 'json' | 'binary';

export interface Sweep {
  /** Seconds for one full left-right-left swing. */
  readonly period: number;
  /** Frames per second. */
  readonly rate: number;
  /** Largest tilt, in the seed's units (0..100, where 100 is the phone on its side). */
  readonly amplitude: number;
  /** Seconds until the client ends by itself; undefined = until Ctrl+C. */
  readonly duration: number | undefined;
}

export type Trust =
  | { readonly kind: 'system' }
  | { readonly kind: 'insecure' }
  | { readonly kind: 'ca'; readonly file: string; readonly pem: string }
  | { readonly kind: 'fingerprint'; readonly sha256: string };

export interface Replay {
  readonly file: string;
  /** Read and checked while parsing the command line: a bad file stops the client before it connects. */
  readonly recording: Recording;
  readonly speed: number;
  readonly loop: boolean;
}

/** `--replay` straight to the broker instead of the gateway, as the operator's MQTT tools do. */
export interface MqttTarget {
  readonly url: URL;
  readonly account: Account | undefined;
  readonly topicPrefix: string;
}

export interface ClientOptions {
  readonly url: URL;
  readonly token: string | undefined;
  readonly format: FrameFormat;
  readonly sweep: Sweep | undefined;
  readonly trust: Trust;
  /** --record FILE: every gravity frame sent is written there. */
  readonly record: string | undefined;
  readonly replay: Replay | undefined;
  /** Set with --mqtt: the replay goes to the broker, and `url`, `token` and `format` are not used. */
  readonly mqtt: MqttTarget | undefined;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

/** The gateway's ports when nothing else is said: the configuration's defaults. */
const PORT = VARIABLES.GATEWAY_PORT.default;
const HTTPS_PORT = VARIABLES.GATEWAY_HTTPS_PORT.default;

export const HELP = `Usage: npm run client -- [options]

Drives the LEDs from the command line, like the seed's stdin client: each line typed (or piped) on stdin is sent
as a gravity frame "x y z" (e.g. "0 40 91.6" lights the right LED at 40 %). Every frame the gateway sends back
(hello, state, stats, error, ...) is printed as one JSON line. Ends at the end of stdin or on Ctrl+C.

Options:
  --url URL            the gateway: ws://HOST:${PORT}/ or wss://HOST:${HTTPS_PORT}/ (default ws://localhost:GATEWAY_PORT/)
  --token TOKEN        the access token (default: GATEWAY_TOKEN, else the one in DATA_DIR/secrets.json)
  --sweep              instead of stdin, tilt smoothly left and right (a sine) until Ctrl+C
    --period SECONDS   one full swing (default 4)
    --rate HZ          frames per second (default 20)
    --amplitude N      largest tilt, 0..100 (default 80)
    --duration SECONDS end after this long (default: never)
  --record FILE        also write every gravity frame sent, with its time, to FILE (JSON lines; docs/recording.md)
  --replay FILE        instead of stdin, send the frames recorded in FILE (by --record or the phone page's Record)
    --speed N          N times the recorded pace (default 1; 4 = four times faster, 0.5 = half as fast)
    --loop             start again after the last frame, until Ctrl+C
    --mqtt URL         publish the replay straight to the broker (mqtt://HOST:1883) instead of the gateway
      --mqtt-username NAME, --mqtt-password PASSWORD
                       the operator's account (default: MQTT_USERNAME and MQTT_PASSWORD, else the one in
                       DATA_DIR/secrets.json)
      --topic-prefix P the topics' prefix (default: TOPIC_PREFIX, else ${VARIABLES.TOPIC_PREFIX.default})
  --json               send JSON frames {"x","y","z","seq"} instead of the seed's text
  --binary             send 12-byte binary frames (float32 x, y, z, big-endian)
  --ca FILE            wss/mqtts: trust this PEM certificate (e.g. the generated one, from DATA_DIR/tls.pem)
  --fingerprint HEX    wss/mqtts: trust the self-signed certificate with this SHA-256 fingerprint (printed at start)
  --insecure           wss/mqtts: do not check the certificate at all (anyone in between could read the secrets)
  -h, --help           this text

Exit status: 0 when ended by stdin, Ctrl+C, --duration or the end of a replay; 1 when the connection failed or the
gateway closed it (wrong token, device in use, gateway stopped); 2 for a bad command line or recording.`;

function positive(name: string, raw: string | undefined, fallback: number, max: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^\d+(\.\d+)?$/.test(raw) || !(value > 0) || value > max) {
    throw new UsageError(`--${name} ${JSON.stringify(raw)}: expected a number above 0 and at most ${max}`);
  }
  return value;
}

/** The token from the environment or, on the machine that runs the services, from the generated secrets. */
function defaultToken(env: NodeJS.ProcessEnv): string | undefined {
  if (env.GATEWAY_TOKEN) return env.GATEWAY_TOKEN;
  return readStoredSecrets(env.DATA_DIR || DEFAULT_DATA_DIR)?.gatewayToken;
}

/** `--speed`: a number above 0, at most 1000. */
function speed(raw: string | undefined): number {
  if (raw === undefined) return 1;
  const value = Number(raw);
  if (!/^\d*\.?\d+$/.test(raw) || !(value > 0) || value > 1000) {
    throw new UsageError(`--speed ${JSON.stringify(raw)}: expected a number above 0 and at most 1000 (1 = as recorded)`);
  }
  return value;
}

function replayOptions(values: ReturnType<typeof parse>['values']): Replay | undefined {
  const replayOnly = (['speed', 'loop', 'mqtt'] as const).filter((name) => values[name] !== undefined && values[name] !== false);
  if (values.replay === undefined) {
    if (replayOnly.length > 0) throw new UsageError(`--${replayOnly[0]} applies to --replay only`);
    return undefined;
  }
  if (values.sweep) throw new UsageError('--replay and --sweep exclude each other: choose where the frames come from');
  if (values.record !== undefined) throw new UsageError('--replay and --record exclude each other: a replay is already recorded');
  let recording: Recording;
  try {
    recording = readRecording(values.replay);
  } catch (error) {
    if (error instanceof RecordingError) throw new UsageError(`--replay ${error.message}`, { cause: error });
    throw error;
  }
  return { file: values.replay, recording, speed: speed(values.speed), loop: values.loop === true };
}

function mqttTarget(values: ReturnType<typeof parse>['values'], env: NodeJS.ProcessEnv): MqttTarget | undefined {
  const mqttOnly = (['mqtt-username', 'mqtt-password', 'topic-prefix'] as const).filter((name) => values[name] !== undefined);
  if (values.mqtt === undefined) {
    if (mqttOnly.length > 0) throw new UsageError(`--${mqttOnly[0]} applies to --mqtt only`);
    return undefined;
  }
  const gatewayOnly = (['url', 'token', 'json', 'binary'] as const).filter((name) => values[name] !== undefined && values[name] !== false);
  if (gatewayOnly.length > 0) {
    throw new UsageError(`--${gatewayOnly[0]} is for the gateway; --mqtt publishes to the broker, always as JSON`);
  }
  let url: URL | undefined;
  try {
    url = VARIABLES.MQTT_URL.parse(values.mqtt) === undefined ? undefined : new URL(values.mqtt);
  } catch {
    url = undefined;
  }
  if (!url)
    throw new UsageError(`--mqtt ${JSON.stringify(values.mqtt)}: expected ${VARIABLES.MQTT_URL.allowed}, e.g. mqtt://localhost:1883`);

  const rawPrefix = values['topic-prefix'] ?? (env.TOPIC_PREFIX || VARIABLES.TOPIC_PREFIX.default);
  const topicPrefix = VARIABLES.TOPIC_PREFIX.parse(rawPrefix);
  if (topicPrefix === undefined) {
    throw new UsageError(`--topic-prefix ${JSON.stringify(rawPrefix)}: expected ${VARIABLES.TOPIC_PREFIX.allowed}`);
  }

  const username = values['mqtt-username'] ?? (env.MQTT_USERNAME || undefined);
  const password = values['mqtt-password'] ?? (env.MQTT_PASSWORD || undefined);
  if ((username === undefined) !== (password === undefined)) {
    throw new UsageError('--mqtt-username and --mqtt-password go together (or MQTT_USERNAME and MQTT_PASSWORD): give both or neither');
  }
  // On the machine that runs the services, the operator's generated account, as the token is found for the gateway.
  const account =
    username !== undefined && password !== undefined
      ? { username, password }
      : readStoredSecrets(env.DATA_DIR || DEFAULT_DATA_DIR)?.operator;
  return { url, account, topicPrefix };
}

/** Returns undefined for --help; throws UsageError for anything it cannot use. */
export function parseClientArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ClientOptions | undefined {
  let values: ReturnType<typeof parse>['values'];
  try {
    values = parse(argv).values;
  } catch (error) {
    throw new UsageError(errorMessage(error), { cause: error });
  }
  if (values.help) return undefined;

  const mqtt = mqttTarget(values, env);
  let url: URL;
  const rawUrl = values.url ?? `ws://localhost:${env.GATEWAY_PORT || PORT}/`;
  try {
    url = new URL(rawUrl);
  } catch {
    throw new UsageError(`--url ${JSON.stringify(rawUrl)} is not a URL: expected ws://HOST:${PORT}/ or wss://HOST:${HTTPS_PORT}/`);
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
    throw new UsageError(`--url ${JSON.stringify(rawUrl)}: expected a ws:// or wss:// URL`);
  }

  if (values.json && values.binary) throw new UsageError('--json and --binary exclude each other: choose one frame format');
  const format: FrameFormat = values.binary ? 'binary' : values.json ? 'json' : 'text';

  const sweepOnly = (['period', 'rate', 'amplitude', 'duration'] as const).filter((name) => values[name] !== undefined);
  if (!values.sweep && sweepOnly.length > 0) throw new UsageError(`--${sweepOnly[0]} applies to --sweep only`);
  const sweep = values.sweep
    ? {
        period: positive('period', values.period, 4, 3600),
        rate: positive('rate', values.rate, 20, 1000),
        amplitude: positive('amplitude', values.amplitude, 80, 100),
        duration: values.duration === undefined ? undefined : positive('duration', values.duration, 0, 31 * 24 * 3600),
      }
    : undefined;

  const trustChoices = (['insecure', 'ca', 'fingerprint'] as const).filter((name) => values[name] !== undefined && values[name] !== false);
  if (trustChoices.length > 1)
    throw new UsageError(`--${trustChoices.join(' and --')} exclude each other: choose one way to trust the certificate`);
  const tlsUrl = mqtt ? mqtt.url : url;
  if (trustChoices.length > 0 && tlsUrl.protocol !== 'wss:' && tlsUrl.protocol !== 'mqtts:') {
    throw new UsageError(`--${trustChoices[0]} applies to ${mqtt ? 'mqtts:// and wss:// broker' : 'wss://'} URLs only`);
  }
  let trust: Trust = { kind: 'system' };
  if (values.insecure) trust = { kind: 'insecure' };
  if (values.ca !== undefined) {
    try {
      trust = { kind: 'ca', file: values.ca, pem: readFileSync(values.ca, 'utf8') };
    } catch (error) {
      throw new UsageError(`--ca ${values.ca}: ${errorMessage(error)}`, { cause: error });
    }
  }
  if (values.fingerprint !== undefined) {
    const sha256 = values.fingerprint.replace(/[:\s]/g, '').toUpperCase();
    if (!/^[0-9A-F]{64}$/.test(sha256)) {
      throw new UsageError(
        `--fingerprint ${JSON.stringify(values.fingerprint)}: expected a SHA-256 fingerprint, 64 hex digits (colons allowed)`,
      );
    }
    trust = { kind: 'fingerprint', sha256 };
  }

  if (values.record !== undefined && values.record === '') throw new UsageError('--record needs a file name');
  const replay = replayOptions(values);
  return {
    url,
    token: mqtt ? undefined : (values.token ?? (url.searchParams.has('token') ? undefined : defaultToken(env))),
    format,
    sweep,
    trust,
    record: values.record,
    replay,
    mqtt,
  };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      url: { type: 'string' },
      token: { type: 'string' },
      sweep: { type: 'boolean' },
      period: { type: 'string' },
      rate: { type: 'string' },
      amplitude: { type: 'string' },
      duration: { type: 'string' },
      json: { type: 'boolean' },
      binary: { type: 'boolean' },
      ca: { type: 'string' },
      fingerprint: { type: 'string' },
      insecure: { type: 'boolean' },
      record: { type: 'string' },
      replay: { type: 'string' },
      speed: { type: 'string' },
      loop: { type: 'boolean' },
      mqtt: { type: 'string' },
      'mqtt-username': { type: 'string' },
      'mqtt-password': { type: 'string' },
      'topic-prefix': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}
