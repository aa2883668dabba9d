/**
 * The phone of the gateway's warm-ups (warm-up.ts, warm-up-standalone.ts): a WebSocket client that presents its token
 * as the phone page does (a subprotocol), sends frames as the page builds them (JSON x, y, z, seq; y changing every
 * frame), each once the state of the previous one came back (closed loop, as bench/controller-client.ts measures),
 * with some seed text and 12-byte binary frames mixed in so that every parser the gateway accepts is warm.
 *
 * drivePrivateGateway is what every round does with it, whichever broker and led-driver its private gateway has:
 * wait until the gateway can drive the LEDs (its bridge available), then drive the round's frames.
 */
import {
  bounded,
  CLOSE_PATIENCE_MS,
  encodeGravityBinary,
  type Round,
  type RoundParts,
  until,
  WARMUP_PACING,
  warmUpPauses,
} from '@gravity-led/shared';
import WebSocket from 'ws';
import type { RunningGateway } from './gateway.js';
import { tokenProtocols } from './protocol.js';

/**
 * A round's frames through `gateway` (its token `token`): once its bridge is available (the led-driver `online`
 * behind a connected broker: from then on no value is lost), a phone connects and drives them; the phone is one of
 * the round's `parts`. Resolves with the frames whose state came back, fewer when the round's signal aborts first.
 */
export async function drivePrivateGateway(
  gateway: RunningGateway,
  token: string,
  round: Round<unknown>,
  parts: RoundParts,
): Promise<number> {
  const { signal } = round;
  await until(signal, (ready) => {
    if (gateway.bridge.isAvailable) {
      ready();
      return undefined;
    }
    const onAvailability = (available: boolean) => available && ready();
    gateway.bridge.on('availability', onAvailability);
    return () => gateway.bridge.off('availability', onAvailability);
  });
  if (signal.aborted) return 0;
  const phone = await connectPhone(gateway.port, token, signal);
  if (!phone) return 0;
  parts.opened(() => phone.close());
  return phone.drive(round.frames, round.index, signal);
}

/** The rehearsal's phone page. */
export interface Phone {
  /**
   * Sends frames in closed loop until `frames` states came back or `signal` aborts, paced as round `round` (0-based)
   * is (warmUpPauses); resolves with how many came back.
   */
  drive(frames: number, round: number, signal: AbortSignal): Promise<number>;
  close(): Promise<void>;
}

/**
 * Connects as the phone page does (gateway/public/link.js: the token as a subprotocol, at `/`) and waits for the
 * gateway's hello; undefined when `signal` aborts first. Rejects when the gateway refuses or closes the link.
 */
export async function connectPhone(port: number, token: string, signal: AbortSignal): Promise<Phone | undefined> {
  const socket = new WebSocket(`ws://127.0.0.1:${port}/`, tokenProtocols(token));
  const close = async () => {
    if (socket.readyState === WebSocket.CLOSED) return;
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    if (socket.readyState === WebSocket.CONNECTING) socket.terminate();
    else socket.close(1000, 'warm-up done');
    await bounded(closed, CLOSE_PATIENCE_MS, () => socket.terminate());
  };
  // Any failure of the link before the rehearsal is over: the promise that waits on it gets it.
  let broken: ((error: Error) => void) | undefined;
  socket.on('error', (error) => broken?.(new Error(`the warm-up phone's link failed: ${error.message}`)));
  socket.on('close', (code, reason) =>
    broken?.(new Error(`the private gateway closed the warm-up phone's link: ${code} ${reason.toString() || '(no reason)'}`)),
  );
  let helloFailure: Error | undefined;
  await until(signal, (ready) => {
    broken = (error) => {
      helloFailure ??= error;
      ready();
    };
    const onHello = (data: WebSocket.RawData, isBinary: boolean) => {
      if (!isBinary && data.toString().startsWith('{"type":"hello"')) ready();
    };
    socket.on('message', onHello);
    return () => {
      socket.off('message', onHello);
      broken = undefined;
    };
  });
  if (helloFailure || signal.aborted) {
    await close();
    if (helloFailure) throw helloFailure;
    return undefined;
  }
  return {
    close,
    drive(frames, round, driveSignal) {
      return new Promise<number>((resolve, reject) => {
        // The page starts its frame numbers at random (phone.js); so does this phone.
        const firstSeq = Math.floor(Math.random() * 2 ** 30);
        let sent = 0;
        let answered = 0;
        // The seq whose state is awaited; undefined for a seed text or binary frame, whose state has none. `null`
        // before the first frame: no state matches it (a replayed one after hello has no seq, or another's).
        let awaited: number | undefined | null = null;
        let pause: NodeJS.Timeout | undefined;
        const finish = (error?: Error) => {
          clearTimeout(pause);
          socket.off('message', onMessage);
          driveSignal.removeEventListener('abort', onAbort);
          broken = undefined;
          if (error) reject(error);
          else resolve(answered);
        };
        const onAbort = () => finish();
        broken = finish;
        const next = () => {
          pause = undefined;
          if (answered >= frames) return finish();
          const i = sent++;
          // A tilt sweeping from left to right and back, rounded as the page rounds it: y changes every frame.
          const sweep = (i * 0.37) % 360;
          const y = round2(sweep <= 180 ? sweep - 90 : 270 - sweep);
          const rest = Math.sqrt(100 * 100 - y * y);
          const x = round2(rest * 0.6);
          const z = round2(rest * 0.8);
          // Mostly the page's JSON and, from the fifth frame on, one frame in ten in each seed format.
          if (i % 10 === 4) {
            awaited = undefined;
            socket.send(`${x} ${y} ${z}`);
          } else if (i % 10 === 8) {
            awaited = undefined;
            socket.send(encodeGravityBinary(x, y, z));
          } else {
            const seq = firstSeq + i;
            awaited = seq;
            socket.send(JSON.stringify({ x, y, z, seq }));
          }
        };
        const onMessage = (data: WebSocket.RawData, isBinary: boolean) => {
          if (isBinary) return;
          const text = data.toString();
          if (!text.startsWith('{"type":"state"')) return;
          const state = JSON.parse(text) as { seq?: number };
          if (state.seq !== awaited) return;
          answered++;
          if (warmUpPauses(round, answered)) pause = setTimeout(next, WARMUP_PACING.pauseMs);
          else next();
        };
        if (driveSignal.aborted) return finish();
        driveSignal.addEventListener('abort', onAbort, { once: true });
        socket.on('message', onMessage);
        next();
      });
    },
  };
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
