/**
 * What a service process really holds: its live memory after a full garbage collection, read through Node's
 * inspector (the service started with `--inspect=127.0.0.1:0`, see SystemOptions.execArgv).
 *
 * RSS alone cannot tell a queue from the collector's headroom: under an allocation-heavy attack V8 grows its young
 * generation (up to 2 x 32 MB semi-spaces on a 64-bit machine) and lets old-space garbage pile up until its next
 * mark-compact, so a gateway holding nothing more can gain 40-60 MB of RSS while a heap snapshot before and after
 * the attack shows the same 24-25 MB live. A client the gateway buffers for is live memory: this sees it, and only it.
 *
 * The protocol: https://chromedevtools.github.io/devtools-protocol/ (HeapProfiler.collectGarbage,
 * Runtime.evaluate); Node prints "Debugger listening on ws://HOST:PORT/ID" on stderr when the inspector opens
 * (https://nodejs.org/api/debugger.html#advanced-usage).
 */
import WebSocket from 'ws';
import type { ServiceProcess } from './system.js';
import { waitFor } from './wait.js';

/** The options that open the inspector on loopback, on a port of the system's choosing. */
export const INSPECT = ['--inspect=127.0.0.1:0'] as const;

export class LiveHeap {
  private nextId = 1;
  private readonly replies = new Map<number, (message: { result?: unknown; error?: { message: string } }) => void>();

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const message = JSON.parse(data.toString()) as { id?: number; result?: unknown; error?: { message: string } };
      if (message.id === undefined) return;
      this.replies.get(message.id)?.(message);
      this.replies.delete(message.id);
    });
  }

  /** Connects to the inspector of `service`, which must have been started with INSPECT. */
  static async attach(service: ServiceProcess): Promise<LiveHeap> {
    const url = await waitFor(`${service.name}'s inspector`, () => {
      for (const line of service.raw) {
        const match = /Debugger listening on (ws:\/\/\S+)/.exec(line);
        if (match) return match[1];
      }
      return undefined;
    });
    const socket = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return new LiveHeap(socket);
  }

  private call(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.replies.delete(id);
        reject(new Error(`inspector: no answer to ${method}`));
      }, 30_000);
      this.replies.set(id, (message) => {
        clearTimeout(timer);
        if (message.error) reject(new Error(`inspector: ${method}: ${message.error.message}`));
        else resolve(message.result);
      });
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }

  /**
   * Bytes alive after a full collection: the JavaScript heap in use and the memory outside it that JavaScript
   * objects keep (`external`, which counts Buffers and ArrayBuffers: what waits in a socket's write queue).
   */
  async bytes(): Promise<number> {
    await this.call('HeapProfiler.collectGarbage');
    const reply = (await this.call('Runtime.evaluate', {
      expression: 'JSON.stringify(process.memoryUsage())',
      returnByValue: true,
    })) as { result: { value: string } };
    const usage = JSON.parse(reply.result.value) as NodeJS.MemoryUsage;
    return usage.heapUsed + usage.external;
  }

  close(): void {
    this.socket.close();
  }
}
