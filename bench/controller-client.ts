/**
 * The benchmark's phone: one WebSocket controller that sends JSON gravity frames with a `seq` and times the `state`
 * frame echoing each seq. Every frame changes the duty (y steps through 1..97), so every frame the gateway forwards
 * produces exactly one state; a seq that never comes back was coalesced by the gateway's latest-value throttle.
 */
import WebSocket from 'ws';

/** Frames waiting in the client's own send buffer beyond this are not added to (ws backpressure). */
export const CLIENT_BUFFER_LIMIT = 64 * 1024;

export interface Recording {
  /** Latency in ms of each seq that came back. */
  readonly latencies: number[];
  /** When each came back (performance.now()), to look at latency over time. */
  readonly returnedAt: number[];
  sent: number;
  firstSeq: number;
}

export class ControllerClient {
  private seq = 0;
  /** performance.now() at send, by seq - sentBase (a dense array: cheap at 20,000 frames/s). */
  private sentAt: number[] = [];
  private sentBase = 0;
  private lastReturned = -1;
  private recording: Recording | undefined;
  private waiters: { seq: number; resolve: () => void }[] = [];
  /** Largest bufferedAmount seen on the client side. */
  maxBuffered = 0;

  private constructor(readonly socket: WebSocket) {
    socket.on('error', (error) => process.stderr.write(`bench client: ${error.message}\n`));
    socket.on('message', (data, isBinary) => {
      if (!isBinary) this.onText(data.toString());
    });
  }

  static connect(url: string, token: string, timeoutMs = 10_000): Promise<ControllerClient> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, { headers: { authorization: `Bearer ${token}` }, perMessageDeflate: false });
      const timer = setTimeout(() => reject(new Error(`no hello from ${url} within ${timeoutMs} ms`)), timeoutMs);
      socket.once('error', reject);
      socket.once('close', (code, reason) => reject(new Error(`${url} closed ${code} ${reason.toString()}`)));
      socket.on('message', function first(data) {
        const message = JSON.parse(data.toString()) as { type?: string };
        if (message.type !== 'hello') return;
        socket.off('message', first);
        clearTimeout(timer);
        resolve(new ControllerClient(socket));
      });
    });
  }

  private onText(text: string): void {
    // Cheap test first: only state frames with a seq matter here.
    if (!text.startsWith('{"type":"state"')) return;
    const message = JSON.parse(text) as { seq?: number };
    const seq = message.seq;
    if (typeof seq !== 'number' || seq <= this.lastReturned) return;
    const now = performance.now();
    this.lastReturned = seq;
    const sentAt = this.sentAt[seq - this.sentBase];
    const recording = this.recording;
    if (recording && sentAt !== undefined && seq >= recording.firstSeq) {
      recording.latencies.push(now - sentAt);
      recording.returnedAt.push(now);
    }
    if (this.waiters.length) {
      const ready = this.waiters.filter((w) => w.seq <= seq);
      this.waiters = this.waiters.filter((w) => w.seq > seq);
      for (const w of ready) w.resolve();
    }
  }

  /** Frames sent after the newest one whose state came back: an upper bound on what waits on the way. */
  get inFlight(): number {
    return this.seq - 1 - this.lastReturned;
  }

  get bufferedAmount(): number {
    return this.socket.bufferedAmount;
  }

  /** Sends the next frame; returns its seq. */
  send(): number {
    const seq = this.seq++;
    const y = 1 + (seq % 97);
    this.sentAt.push(performance.now());
    this.socket.send(`{"x":0,"y":${y},"z":50,"seq":${seq}}`);
    const buffered = this.socket.bufferedAmount;
    if (buffered > this.maxBuffered) this.maxBuffered = buffered;
    return seq;
  }

  /** Starts counting: every seq sent from now on, and every one of them that comes back. */
  record(): Recording {
    this.recording = { latencies: [], returnedAt: [], sent: 0, firstSeq: this.seq };
    return this.recording;
  }

  /** Stops recording, once the state of the last frame sent has come back (the newest value always gets through). */
  async finish(timeoutMs = 5000): Promise<Recording> {
    const recording = this.recording;
    if (!recording) throw new Error('not recording');
    recording.sent = this.seq - recording.firstSeq;
    const last = this.seq - 1;
    if (last > this.lastReturned) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the state of seq ${last} did not come back within ${timeoutMs} ms`)), timeoutMs);
        this.waiters.push({
          seq: last,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
      });
    }
    this.recording = undefined;
    // The send times are no longer needed: keep memory flat over a long run.
    this.sentAt = [];
    this.sentBase = this.seq;
    return recording;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.readyState === WebSocket.CLOSED) return resolve();
      this.socket.once('close', () => resolve());
      this.socket.close(1000);
    });
  }
}
