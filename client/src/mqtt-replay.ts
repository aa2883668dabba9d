/**
 * `--replay FILE --mqtt URL`: the recording published straight to the broker on the gravity topic, as any MQTT tool
 * may inject it (the operator's account may publish `gravity`), bypassing the gateway. Each frame goes out as the
 * JSON the gateway itself publishes, with its recorded `seq`, QoS 0 and not retained (a retained gravity value is
 * ignored by the led-driver anyway). After the last frame the LEDs keep it until the led-driver's fail-safe
 * (FAILSAFE_TIMEOUT_MS without a fresh value) turns them off, as after a phone that went quiet.
 */
import { encodeGravityJson, errorMessage, topicsFor } from '@gravity-led/shared';
import mqtt from 'mqtt';
import type { ClientOptions, MqttTarget, Replay } from './args.js';
import type { ClientIo } from './client.js';
import { replayFrames } from './replay.js';
import { TrustError, tlsOptions } from './trust.js';

/** How long the broker may take to accept the connection. */
const CONNECT_TIMEOUT_MS = 10_000;

export async function runMqttReplay(options: ClientOptions & { mqtt: MqttTarget; replay: Replay }, io: ClientIo): Promise<number> {
  const say = (line: string) => io.stderr.write(`${line}\n`);
  const { url, account, topicPrefix } = options.mqtt;
  const where = `${url.hostname}:${url.port || defaultPort(url)}`;
  let tls: Awaited<ReturnType<typeof tlsOptions>>;
  try {
    tls = await tlsOptions(url, options.trust);
  } catch (error) {
    say(`client: ${error instanceof TrustError ? error.message : `cannot reach the broker at ${where}: ${errorMessage(error)}`}`);
    return 1;
  }
  if (!account) say('client: no MQTT account given or found in DATA_DIR/secrets.json: connecting without one');
  const client = mqtt.connect(url.href, {
    ...(account ? { username: account.username, password: account.password } : {}),
    clientId: `gravity-led-replay-${process.pid}-${Math.random().toString(16).slice(2, 8)}`,
    clean: true,
    reconnectPeriod: 0,
    connectTimeout: CONNECT_TIMEOUT_MS,
    // What tlsOptions() chooses is one of these three; mqtt.js hands them to tls.connect.
    ...(tls.ca === undefined ? {} : { ca: tls.ca as string }),
    ...(tls.rejectUnauthorized === undefined ? {} : { rejectUnauthorized: tls.rejectUnauthorized }),
    ...(tls.checkServerIdentity === undefined ? {} : { checkServerIdentity: tls.checkServerIdentity }),
  });
  const topic = topicsFor(topicPrefix).gravity;

  const connected = await new Promise<string | undefined>((resolve) => {
    client.once('connect', () => resolve(undefined));
    client.once('error', (error) => resolve(describeMqttError(error, where)));
    client.once('close', () => resolve(`cannot connect to the broker at ${where}: the connection closed`));
  });
  if (connected !== undefined) {
    say(`client: ${connected}`);
    client.end(true);
    return 1;
  }

  let lost: string | undefined;
  let ending = false;
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  io.stop.addEventListener('abort', onAbort, { once: true });
  client.on('close', () => {
    if (ending) return;
    lost ??= `the broker at ${where} closed the connection`;
    stop.abort();
  });
  client.on('error', (error) => {
    lost = describeMqttError(error, where);
    stop.abort();
  });
  const sent = await replayFrames(options.replay.recording.frames, options.replay, stop.signal, (frame) => {
    client.publish(
      topic,
      encodeGravityJson({ x: frame.x, y: frame.y, z: frame.z, ...(frame.seq === undefined ? {} : { seq: frame.seq }) }),
      {
        qos: 0,
      },
    );
  });
  io.stop.removeEventListener('abort', onAbort);
  // A clean end waits until what was published has been written to the socket.
  ending = true;
  await new Promise<void>((resolve) => client.end(false, {}, () => resolve()));
  if (lost !== undefined && !io.stop.aborted) {
    say(`client: ${lost} after ${sent} frames`);
    return 1;
  }
  say(`client: published ${sent} frames from ${options.replay.file} on ${topic}`);
  return 0;
}

function defaultPort(url: URL): number {
  return { 'mqtt:': 1883, 'mqtts:': 8883, 'ws:': 80, 'wss:': 443 }[url.protocol] ?? 1883;
}

/** One line for what the broker or the network said. */
function describeMqttError(error: Error & { code?: string | number }, where: string): string {
  if (error.code === 'ECONNREFUSED') return `cannot connect to the broker at ${where}: connection refused (is it running, on this port?)`;
  if (error.code === 'ENOTFOUND' || error.code === 'EAI_AGAIN') return `cannot find the broker's host in ${where}`;
  // CONNACK return codes 4 and 5 (MQTT 3.1.1 section 3.2.2.3): bad user name or password, not authorized.
  if (error.code === 4 || error.code === 5 || /Not authorized|Bad username or password/i.test(error.message)) {
    return `the broker at ${where} refused the account (${error.message}): check --mqtt-username and --mqtt-password (npm start prints the operator's)`;
  }
  return `MQTT error from ${where}: ${error.message}`;
}
