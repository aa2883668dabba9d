/**
 * One run of the command-line client: connect, wait for `hello`, send frames from stdin, the sweep or a recording,
 * print every frame the gateway sends, and end with an exit code and, on failure, one line that says what went wrong.
 * With `--record`, every gravity frame sent is written to the recording as it goes.
 */
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { CloseCode, decodeServerFrame } from '@gravity-led/gateway/protocol';
import { errorMessage, type Gravity } from '@gravity-led/shared';
import WebSocket from 'ws';
import type { ClientOptions } from './args.js';
import { type Encoded, type Frame, FrameEncoder } from './frames.js';
import { RecordingWriter } from './recording.js';
import { replayFrames } from './replay.js';
import { sweepAt } from './sweep.js';
import { TrustError, tlsOptions } from './trust.js';

export interface ClientIo {
  readonly stdin: Readable & { isTTY?: boolean };
  readonly stdout: Writable;
  readonly stderr: Writable;
  /** Aborted on Ctrl+C: the client closes the connection and ends with 0. */
  readonly stop: AbortSignal;
}

/** After the last frame, how long to wait for the state it produced before closing (none comes if nothing changed). */
const LINGER_MS = 1000;
/** A sweep skips frames while this much is still unsent: the newest value matters, not a backlog. */
const MAX_BUFFERED = 64 * 1024;

const TRUST_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_SIGNATURE_FAILURE',
]);

/** One line for a connection that failed before or during the handshake. */
export function describeConnectError(error: NodeJS.ErrnoException, url: URL): string {
  const where = `${url.hostname}:${url.port || (url.protocol === 'wss:' ? 443 : 80)}`;
  if (error.code === 'ECONNREFUSED') return `cannot connect to ${where}: connection refused (is the gateway running, on this port?)`;
  if (error.code === 'ENOTFOUND' || error.code === 'EAI_AGAIN') return `cannot find the host ${url.hostname}`;
  if (error.code === 'ETIMEDOUT' || error.code === 'EHOSTUNREACH') return `cannot reach ${where}: ${error.message}`;
  if (error.code !== undefined && TRUST_CODES.has(error.code)) {
    return (
      `the gateway's certificate is not trusted (${error.code}: ${error.message}). For the self-signed certificate that ` +
      'the gateway generates, pass --fingerprint with the SHA-256 fingerprint it printed at start, or --ca with its ' +
      'certificate file; --insecure skips the check'
    );
  }
  if (error.message.includes('wrong version number') || error.code === 'EPROTO') {
    return `no TLS at ${where} (${error.message}): is this the HTTPS port? Plain ws:// goes to GATEWAY_PORT`;
  }
  return `connection to ${where} failed: ${error.message}`;
}

/** One line for a connection the gateway closed. */
export function describeClose(code: number, reason: string): string {
  const why = reason ? `: ${reason}` : '';
  switch (code) {
    case CloseCode.TryAgainLater:
      return `the device is in use (close code ${code}${why})`;
    case CloseCode.PolicyViolation:
      return `the gateway refused the client (close code ${code}${why})`;
    case CloseCode.MessageTooBig:
      return `a frame was too large (close code ${code}${why})`;
    case CloseCode.GoingAway:
      return `the gateway went away (close code ${code}${why})`;
    case CloseCode.Abnormal:
      return `the connection was lost (close code ${code}, no close frame)`;
    default:
      return `the gateway closed the connection (close code ${code}${why})`;
  }
}

/** Opens the --record file before anything is sent; undefined (and the reason said) when it cannot be written. */
export async function openRecording(file: string, say: (line: string) => void): Promise<RecordingWriter | undefined> {
  const writer = new RecordingWriter(file);
  try {
    await writer.ready();
    return writer;
  } catch (error) {
    say(`client: --record ${file}: cannot write the recording: ${errorMessage(error)}`);
    return undefined;
  }
}

export async function runClient(options: ClientOptions, io: ClientIo): Promise<number> {
  const say = (line: string) => io.stderr.write(`${line}\n`);
  let recording: RecordingWriter | undefined;
  if (options.record !== undefined) {
    recording = await openRecording(options.record, say);
    if (!recording) return 1;
  }
  const code = await drive(options, io, say, recording);
  if (!recording) return code;
  try {
    await recording.close();
    say(`client: recorded ${recording.frames} frames to ${recording.file}`);
    return code;
  } catch (error) {
    say(`client: --record ${recording.file}: ${errorMessage(error)}`);
    return 1;
  }
}

async function drive(options: ClientOptions, io: ClientIo, say: (line: string) => void, recording: RecordingWriter | undefined) {
  let tls: Awaited<ReturnType<typeof tlsOptions>>;
  try {
    tls = await tlsOptions(options.url, options.trust);
  } catch (error) {
    say(`client: ${error instanceof TrustError ? error.message : describeConnectError(error as NodeJS.ErrnoException, options.url)}`);
    return 1;
  }
  if (options.trust.kind === 'insecure')
    say('client: --insecure: the certificate is not checked; whoever answers at this address gets the token');

  const headers: Record<string, string> = options.token ? { authorization: `Bearer ${options.token}` } : {};
  const socket = new WebSocket(options.url, { headers, handshakeTimeout: 10_000, ...tls });
  const encoder = new FrameEncoder(options.format);

  return new Promise<number>((resolve) => {
    let result: { code: number; message?: string } | undefined;
    let lastSentAt = 0;
    /** The number of the last frame sent, when it went on the wire (JSON): its own state is the answer to wait for. */
    let lastSeq: number | undefined;
    /** Whether that frame's state has already come back. */
    let lastAnswered = false;
    let stopInput = () => {};

    const finish = (code: number, message?: string) => {
      if (result) return;
      result = { code, ...(message === undefined ? {} : { message }) };
      stopInput();
      if (socket.readyState === WebSocket.OPEN) socket.close(CloseCode.Normal, 'client done');
      else if (socket.readyState === WebSocket.CONNECTING) socket.terminate();
      // The close handshake normally ends us; a gateway that never answers it does not hold the client.
      setTimeout(() => socket.terminate(), 2000).unref();
    };
    const send = (frame: Frame, sent: Encoded['sent'] | undefined) => {
      socket.send(frame);
      lastSentAt = Date.now();
      lastSeq = encoder.format === 'json' ? sent?.seq : undefined;
      lastAnswered = false;
      if (sent) recording?.write(sent);
    };
    const sendGravity = (g: Gravity) => {
      const { frame, sent } = encoder.encode(g);
      send(frame, sent);
    };
    /**
     * Ends once the gateway has answered the last frame (a state or an error), or after LINGER_MS if nothing changed.
     * A JSON frame's answer is the state echoing its `seq` (or an error), not the state of a frame sent before it.
     */
    const finishSoon = () => {
      if (lastSentAt === 0 || lastAnswered) {
        finish(0);
        return;
      }
      const timer = setTimeout(() => finish(0), LINGER_MS);
      socket.on('message', (data, isBinary) => {
        const frame = isBinary ? undefined : decodeServerFrame(data.toString());
        if (frame?.type !== 'state' && frame?.type !== 'error') return;
        if (frame.type === 'state' && lastSeq !== undefined && frame.seq !== lastSeq) return;
        clearTimeout(timer);
        finish(0);
      });
    };
    socket.on('message', (data, isBinary) => {
      if (lastSeq === undefined || isBinary) return;
      const frame = decodeServerFrame(data.toString());
      if (frame?.type === 'state' && frame.seq === lastSeq) lastAnswered = true;
    });

    const onStop = () => finish(0);
    io.stop.addEventListener('abort', onStop, { once: true });

    socket.on('unexpected-response', (_request, response) => {
      const status = response.statusCode ?? 0;
      finish(
        1,
        status === 401
          ? 'the gateway refused the token (HTTP 401 Unauthorized): check --token (npm start prints it; GATEWAY_TOKEN sets it)'
          : `the gateway answered HTTP ${status} ${response.statusMessage ?? ''} instead of a WebSocket: is ${options.url.href} the gateway?`,
      );
      socket.terminate();
    });
    socket.on('error', (error: NodeJS.ErrnoException) => finish(1, describeConnectError(error, options.url)));
    socket.on('close', (code, reason) => {
      io.stop.removeEventListener('abort', onStop);
      if (!result) {
        const tokenless = !options.token && !options.url.searchParams.has('token');
        // Refused for want of a token that was never sent: say where one comes from, not only that it was refused.
        const hint =
          code === CloseCode.PolicyViolation && tokenless
            ? "; no token was given or found: --token TOKEN (npm start prints it), GATEWAY_TOKEN, or DATA_DIR set to the services' own"
            : '';
        result = { code: 1, message: describeClose(code, reason.toString()) + hint };
      }
      if (result.message) say(`client: ${result.message}`);
      resolve(result.code);
    });

    let started = false;
    socket.on('message', (data, isBinary) => {
      if (isBinary) return;
      const text = data.toString();
      io.stdout.write(`${text}\n`);
      if (started || result) return;
      if (decodeServerFrame(text)?.type !== 'hello') return;
      started = true;
      stopInput = options.replay ? startReplay() : options.sweep ? startSweep() : startStdin();
    });

    const startSweep = () => {
      const sweep = options.sweep;
      if (!sweep) return () => {};
      const begin = Date.now();
      const timer = setInterval(() => {
        const seconds = (Date.now() - begin) / 1000;
        if (sweep.duration !== undefined && seconds >= sweep.duration) {
          clearInterval(timer);
          finishSoon();
          return;
        }
        if (socket.bufferedAmount < MAX_BUFFERED) sendGravity(sweepAt(sweep, seconds));
      }, 1000 / sweep.rate);
      return () => clearInterval(timer);
    };

    const startStdin = () => {
      if (io.stdin.isTTY) say('client: connected. Type x y z and Enter (e.g. 0 40 91.6); Ctrl+D or Ctrl+C to end.');
      const lines = createInterface({ input: io.stdin, crlfDelay: Number.POSITIVE_INFINITY, terminal: false });
      let number = 0;
      lines.on('line', (line) => {
        number++;
        if (line.trim() === '' || result) return;
        const encoded = encoder.line(line);
        if ('error' in encoded) say(`client: line ${number} not sent: ${encoded.error}`);
        else send(encoded.frame, encoded.sent);
      });
      lines.on('close', () => {
        if (!result) finishSoon();
      });
      return () => lines.close();
    };

    /** Every recorded frame in turn, none skipped: the point is the same LED states as when it was recorded. */
    const startReplay = () => {
      const replay = options.replay;
      if (!replay) return () => {};
      const stop = new AbortController();
      replayFrames(replay.recording.frames, replay, stop.signal, sendGravity).then((sent) => {
        if (stop.signal.aborted) return;
        say(`client: replayed ${sent} frames from ${replay.file}`);
        finishSoon();
      });
      return () => stop.abort();
    };
  });
}
