/** Real clients for end-to-end tests: a `ws` controller, an `mqtt` operator client, and Debian's mosquitto tools. */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import mqtt, { type MqttClient } from 'mqtt';
import WebSocket from 'ws';
import type { TestSystem } from './system.js';
import { waitFor } from './wait.js';

const run = promisify(execFile);

export interface Frame {
  type: string;
  [key: string]: unknown;
}

/** A WebSocket client that records every frame and how the connection ended. */
export class WsClient {
  readonly frames: Frame[] = [];
  closeCode: number | undefined;
  closeReason = '';
  unexpected: { status: number } | undefined;
  readonly opened: Promise<void>;

  constructor(readonly socket: WebSocket) {
    socket.on('message', (data, isBinary) => {
      if (!isBinary) this.frames.push(JSON.parse(data.toString()) as Frame);
    });
    socket.on('close', (code, reason) => {
      this.closeCode = code;
      this.closeReason = reason.toString();
    });
    socket.on('unexpected-response', (_req, res) => {
      this.unexpected = { status: res.statusCode ?? 0 };
      socket.terminate();
    });
    this.opened = new Promise((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
      socket.once('close', () => reject(new Error(`closed before open: ${this.closeCode ?? this.unexpected?.status}`)));
    });
    this.opened.catch(() => {});
    socket.on('error', () => {});
  }

  static connect(url: string, options: WebSocket.ClientOptions = {}): WsClient {
    return new WsClient(new WebSocket(url, options));
  }

  /** Connects with the token in the query and waits for `hello`. */
  static async controller(system: TestSystem, query = ''): Promise<WsClient> {
    const client = WsClient.connect(`${system.gatewayUrl}?token=${encodeURIComponent(system.secrets.gatewayToken)}${query}`);
    await client.opened;
    await client.next('hello');
    return client;
  }

  send(data: string | Uint8Array): void {
    this.socket.send(data);
  }

  /** The first frame of `type` (after `from`) matching `match`, waiting for it if needed. */
  next(type: string, match: (f: Frame) => boolean = () => true, timeoutMs = 5000, from = 0): Promise<Frame> {
    return waitFor(`a "${type}" frame`, () => this.frames.slice(from).find((f) => f.type === type && match(f)), timeoutMs);
  }

  /** The close code, or minus the HTTP status when the handshake was refused (-401): that wins over the 1006 that follows. */
  closed(timeoutMs = 7000): Promise<number> {
    return waitFor('the socket to close', () => (this.unexpected ? -this.unexpected.status : this.closeCode), timeoutMs);
  }

  close(): void {
    this.socket.close();
  }
}

/** An MQTT client logged in as the operator (the person's tools). */
export async function operatorClient(system: TestSystem, extra: mqtt.IClientOptions = {}): Promise<MqttClient> {
  const { operatorUsername, operatorPassword } = system.secrets;
  const client = mqtt.connect(`mqtt://127.0.0.1:${system.ports.broker}`, {
    username: operatorUsername,
    password: operatorPassword,
    reconnectPeriod: 0,
    ...extra,
  });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  return client;
}

/** Collects messages of one topic from an MQTT client. */
export function collect(client: MqttClient, topic: string): { messages: string[]; retained: boolean[] } {
  const record = { messages: [] as string[], retained: [] as boolean[] };
  client.on('message', (t, payload, packet) => {
    if (t === topic) {
      record.messages.push(payload.toString());
      record.retained.push(packet.retain);
    }
  });
  client.subscribe(topic);
  return record;
}

/** Where mosquitto's tools connect: a TestSystem, or any broker with the operator's account (e.g. under Docker). */
export interface MosquittoTarget {
  readonly secrets: { readonly operatorUsername: string; readonly operatorPassword: string };
  readonly ports: { readonly broker: number };
}

/** `mosquitto_pub` as a person types it, with the operator's account unless `auth` overrides it. */
export async function mosquittoPub(
  system: MosquittoTarget,
  topic: string,
  message: string,
  auth?: { username: string; password: string },
  /** Appended to the command line: `-q 1`, `--cafile ...`; a later `-p` overrides the port. */
  extraArgs: readonly string[] = [],
): Promise<{ code: number; stderr: string }> {
  const { operatorUsername, operatorPassword } = system.secrets;
  const args = [
    '-h',
    '127.0.0.1',
    '-p',
    String(system.ports.broker),
    '-u',
    auth?.username ?? operatorUsername,
    '-P',
    auth?.password ?? operatorPassword,
    '-t',
    topic,
    '-m',
    message,
    ...extraArgs,
  ];
  try {
    const { stderr } = await run('mosquitto_pub', args, { timeout: 10_000 });
    return { code: 0, stderr };
  } catch (error) {
    const e = error as { code?: number; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stderr: e.stderr ?? String(error) };
  }
}

/** A running `mosquitto_sub -v` whose output lines are collected as `topic payload`. */
export class MosquittoSub {
  readonly lines: string[] = [];
  readonly child: ChildProcess;
  stderr = '';

  constructor(system: MosquittoTarget, topic: string, extraArgs: string[] = []) {
    const { operatorUsername, operatorPassword } = system.secrets;
    this.child = spawn(
      'mosquitto_sub',
      [
        '-h',
        '127.0.0.1',
        '-p',
        String(system.ports.broker),
        '-u',
        operatorUsername,
        '-P',
        operatorPassword,
        '-t',
        topic,
        '-v',
        ...extraArgs,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let buffer = '';
    this.child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const parts = buffer.split('\n');
      buffer = parts.pop() ?? '';
      this.lines.push(...parts);
    });
    this.child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
    });
  }

  /** The first `topic payload` line whose payload satisfies `match`. */
  next(topic: string, match: (payload: string) => boolean, timeoutMs = 5000): Promise<string> {
    return waitFor(
      `mosquitto_sub to print ${topic}`,
      () => {
        for (const line of this.lines) {
          if (!line.startsWith(`${topic} `)) continue;
          const payload = line.slice(topic.length + 1);
          if (match(payload)) return payload;
        }
        return undefined;
      },
      timeoutMs,
    );
  }

  stop(): void {
    this.child.kill();
  }
}
