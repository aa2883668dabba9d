/**
 * A phone that drops its connection and is back at once, while streaming: the gateway announces the old controller
 * gone (`gateway/clients` 0, QoS 1) and the new one there (1), then publishes the new one's values (QoS 0). Aedes
 * delivers a QoS 0 message written just after a QoS 1 one before it (moscajs/aedes#994), so without an order of our
 * own the led-driver could apply the new phone's first value and only then the stale 0, and switch the new phone's
 * LEDs off (`controller-left`). The gateway's generation on both topics lets the driver ignore the stale 0.
 *
 * The reconnect is as tight as a client can make it: the new connection is open (waiting to authenticate) while the
 * old one streams; the old one is cut (TCP reset, as a phone losing its network), and a millisecond later the new one
 * authenticates and sends its first value in one write. Repeated 200 times on the embedded broker and on Mosquitto;
 * on the code before the generation, about 30 of the 200 ended in a stale `controller-left` on Aedes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { type BrokerSystem, GATEWAY_BROKERS, startOn } from '../helpers/brokers.js';
import { type Frame, WsClient } from '../helpers/clients.js';
import { StateWatcher } from '../helpers/leds.js';
import { sleep, waitFor } from '../helpers/wait.js';

const REPETITIONS = 200;
/** How long each new session streams after its first value lit the LEDs, watched for a stale off. */
const WATCH_MS = 60;
/** A phone page sends at 30 Hz; faster here, so that more values race the occupancy messages. */
const FRAME_INTERVAL_MS = 4;

const lit = (s: { left: number; right: number }) => s.left > 0 || s.right > 0;

/** Sessions whose timer streams: each is stopped and cut in a finally, so that a failure cannot leave one going. */
const streaming = new Set<Session>();

/** One phone session: a WebSocket that streams lit values whose seq tells the session apart. */
class Session {
  private timer: NodeJS.Timeout | undefined;
  private k = 0;

  constructor(
    readonly client: WsClient,
    readonly firstSeq: number,
  ) {}

  frame(): string {
    // Always lit: y cycles through 20..59, so every value changes the LEDs and is reported.
    const y = 20 + (this.k % 40);
    return JSON.stringify({ x: 0, y, z: 90, seq: this.firstSeq + this.k++ });
  }

  stream(): void {
    streaming.add(this);
    this.timer ??= setInterval(() => {
      if (this.client.socket.readyState === this.client.socket.OPEN) this.client.send(this.frame());
    }, FRAME_INTERVAL_MS);
  }

  stop(): void {
    clearInterval(this.timer);
    streaming.delete(this);
  }

  owns(seq: unknown): boolean {
    // A retried session starts half-way through its attempt's range: each owns only its own values.
    return typeof seq === 'number' && seq >= this.firstSeq && seq < this.firstSeq + 500_000;
  }
}

for (const broker of GATEWAY_BROKERS) {
  describe(`a phone that reconnects at once while streaming, on ${broker}`, () => {
    let b: BrokerSystem;
    let operator: MqttClient;
    let leds: StateWatcher;

    before(async () => {
      b = await startOn(broker);
      operator = await b.operator();
      leds = new StateWatcher(operator);
      await waitFor('the retained state', () => leds.last);
    });

    after(async () => {
      operator?.end(true);
      await b?.stop();
    });

    it(`${REPETITIONS} times: once the new session's first value has lit the LEDs, they stay lit while it streams`, async (t) => {
      const { system } = b;
      const token = system.secrets.gatewayToken;
      const stale: string[] = [];
      let raced = 0;
      try {
        let current = new Session(await WsClient.controller(system), 0);
        current.stream();
        await leds.until('the first session to light the LEDs', (s) => lit(s) && current.owns(s.seq), 10_000);

        for (let i = 1; i <= REPETITIONS; i++) {
          // The new connection is open and waiting to authenticate while the old one still streams.
          const fresh = WsClient.connect(system.gatewayUrl);
          await fresh.opened;
          let next = new Session(fresh, i * 1_000_000);
          current.stop();
          current.client.socket.terminate();
          // Long enough for the gateway to see the old connection gone (else "in use"), short enough that it announces
          // that, the new controller and its first value to the broker in one breath.
          await sleep(1);
          // Authentication and the first value in one write.
          fresh.send(JSON.stringify({ type: 'auth', token }));
          fresh.send(next.frame());
          next.stream();
          const from = leds.states.length;
          const fromFrames = fresh.frames.length;
          const outcome = await waitFor(
            'the new session to light the LEDs',
            () => {
              if (fresh.closeCode !== undefined) return { refused: fresh.closeCode };
              const index = leds.states.slice(from).findIndex((s) => lit(s) && next.owns(s.seq));
              return index >= 0 && { litAt: from + index };
            },
            10_000,
          );
          let litAt: number;
          if ('refused' in outcome) {
            // The gateway saw the new connection before the old one had gone: "in use" (1013), as a page is told;
            // it tries again at once, with the token at the handshake this time.
            assert.equal(outcome.refused, 1013, `the new connection closed with ${outcome.refused}`);
            next.stop();
            next = new Session(await WsClient.controller(system), i * 1_000_000 + 500_000);
            next.stream();
            const retried = next;
            const state = await leds.until('the retried session to light the LEDs', (s) => lit(s) && retried.owns(s.seq), 10_000);
            litAt = leds.states.lastIndexOf(state);
          } else {
            raced++;
            litAt = outcome.litAt;
          }
          await sleep(WATCH_MS);
          const after = leds.states.slice(litAt);
          const off = after.find((s) => !lit(s));
          if (off) stale.push(`#${i}: leds/state went ${JSON.stringify(off)} after the new session lit the LEDs`);
          const phoneFrames = next.client.frames.slice(next.client === fresh ? fromFrames : 0).filter((f: Frame) => f.type === 'state');
          const phoneLit = phoneFrames.findIndex((f) => lit(f as never) && next.owns(f.seq));
          const phoneOff = phoneLit < 0 ? undefined : phoneFrames.slice(phoneLit).find((f) => !lit(f as never));
          if (phoneOff) stale.push(`#${i}: the phone was told ${JSON.stringify(phoneOff)} after its first value lit the LEDs`);
          current = next;
        }
        current.stop();
        current.client.close();
      } finally {
        for (const session of streaming) {
          session.stop();
          session.client.socket.terminate();
        }
      }
      t.diagnostic(`${raced} of ${REPETITIONS} reconnects admitted at the first try`);
      assert.deepEqual(
        stale,
        [],
        `stale off-states inside a new session (${raced} of ${REPETITIONS} reconnects admitted at the first try)`,
      );
    });
  });
}
