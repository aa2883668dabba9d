/** The command line of `npm run client`: parsed and checked here, so the rest of the client works on valid options. */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DEFAULT_DATA_DIR, errorMessage, readStoredSecrets, VARIABLES } from '@gravity-led/shared';

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

export interface ClientOptions {
  readonly url: URL;
  readonly token: string | undefined;
  readonly format: FrameFormat;
  readonly sweep: Sweep | undefined;
  readonly trust: Trust;
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
(hello, state, error, ...) is printed as one JSON line. Ends at the end of stdin or on Ctrl+C.

Options:
  --url URL            the gateway: ws://HOST:${PORT}/ or wss://HOST:${HTTPS_PORT}/ (default ws://localhost:GATEWAY_PORT/)
  --token TOKEN        the access token (default: GATEWAY_TOKEN, else the one in DATA_DIR/secrets.json)
  --sweep              instead of stdin, tilt smoothly left and right (a sine) until Ctrl+C
    --period SECONDS   one full swing (default 4)
    --rate HZ          frames per second (default 20)
    --amplitude N      largest tilt, 0..100 (default 80)
    --duration SECONDS end after this long (default: never)
  --json               send JSON frames {"x","y","z","seq"} instead of the seed's text
  --binary             send 12-byte binary frames (float32 x, y, z, big-endian)
  --ca FILE            wss: trust this PEM certificate (e.g. the generated one, from DATA_DIR/tls.pem)
  --fingerprint HEX    wss: trust the self-signed certificate with this SHA-256 fingerprint (printed at start)
  --insecure           wss: do not check the certificate at all (anyone in between could read the token)
  -h, --help           this text

Exit status: 0 when ended by stdin, Ctrl+C or --duration; 1 when the connection failed or the gateway closed it
(wrong token, device in use, gateway stopped); 2 for a bad command line.`;

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

/** Returns undefined for --help; throws UsageError for anything it cannot use. */
export function parseClientArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ClientOptions | undefined {
  let values: ReturnType<typeof parse>['values'];
  try {
    values = parse(argv).values;
  } catch (error) {
    throw new UsageError(errorMessage(error), { cause: error });
  }
  if (values.help) return undefined;

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
  if (trustChoices.length > 0 && url.protocol !== 'wss:') throw new UsageError(`--${trustChoices[0]} applies to wss:// URLs only`);
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

  return { url, token: values.token ?? (url.searchParams.has('token') ? undefined : defaultToken(env)), format, sweep, trust };
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
      help: { type: 'boolean', short: 'h' },
    },
  });
}
