/**
 * After any burst, everyone ends on the truth: every live subscriber's last `leds/state` (mqtt.js at QoS 0 and at
 * QoS 1, Debian's mosquitto_sub), the phone's and a viewer's last `state` frame, and the retained state a newcomer
 * gets are one and the same message, and its duty is what the simulated pins show. Bursts of every kind: a phone at
 * its fastest, a phone leaving mid-stream, a phone going silent (stale), the capacity lowered under a streaming
 * phone, a flood by hand, a burst of manual commands. On the embedded broker and on Mosquitto.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { type BrokerSystem, GATEWAY_BROKERS, startOn } from '../helpers/brokers.js';
import { WsClient } from '../helpers/clients.js';
import { type StateMessage, StateWatcher } from '../helpers/leds.js';
import { sleep, waitFor } from '../helpers/wait.js';

const STATE = 'gravity-led/leds/state';

/** The fields of a state, whoever carried it (a state frame adds `type`). */
function stateOf(message: Record<string, unknown> | undefined): StateMessage | undefined {
  if (!message) return undefined;
  const { left, right, reason, seq, ts } = message as unknown as StateMessage;
  return { left, right, reason, ...(seq === undefined ? {} : { seq }), ts };
}

/** `mosquitto_sub -v` on the state topic, as a person watches it. */
class MosquittoSubState {
  readonly states: StateMessage[] = [];
  private readonly child: ChildProcess;

  constructor(b: BrokerSystem) {
    const { username, password } = b.operatorAccount;
    this.child = spawn('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(b.mqttPort), '-u', username, '-P', password, '-t', STATE], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let buffer = '';
    this.child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) this.states.push(JSON.parse(line) as StateMessage);
    });
  }

  stop(): void {
    this.child.kill();
  }
}

for (const broker of GATEWAY_BROKERS) {
  describe(`after any burst everyone ends on the last applied state, on ${broker}`, () => {
    let b: BrokerSystem;
    let qos0: StateWatcher;
    let qos1: StateWatcher;
    let clients: MqttClient[] = [];
    let sub: MosquittoSubState;
    let viewer: WsClient;
    let operator: MqttClient;

    before(async () => {
      b = await startOn(broker);
      const watcher0 = await b.operator();
      const watcher1 = await b.operator();
      operator = await b.operator();
      clients = [watcher0, watcher1, operator];
      qos0 = new StateWatcher(watcher0);
      qos1 = new StateWatcher(watcher1);
      watcher1.unsubscribe(STATE);
      watcher1.subscribe(STATE, { qos: 1 });
      sub = new MosquittoSubState(b);
      viewer = await WsClient.controller(b.system, '&role=viewer');
      await waitFor('every watcher to have the retained state', () => qos0.last && qos1.last && sub.states.length > 0);
    });

    after(async () => {
      sub?.stop();
      viewer?.close();
      for (const client of clients) client.end(true);
      await b?.stop();
    });

    /**
     * Waits until every observer's last state is the same message, the burst's outcome (`outcome`), with the pins'
     * duty; then lets a quarter of a second pass (anything late, lost or reordered would show now) and asserts it,
     * so that a disagreement fails with every observer's view; and checks that a newcomer is given it, retained.
     */
    async function everyoneAgrees(outcome: (s: StateMessage) => boolean, phone?: WsClient): Promise<StateMessage> {
      const views = () => {
        const last = {
          'mqtt.js QoS 0': qos0.last,
          'mqtt.js QoS 1': qos1.last,
          mosquitto_sub: sub.states.at(-1),
          viewer: stateOf(viewer.frames.filter((f) => f.type === 'state').at(-1)),
          ...(phone ? { phone: stateOf(phone.frames.filter((f) => f.type === 'state').at(-1)) } : {}),
        };
        return last;
      };
      const agree = () => {
        const all = Object.values(views());
        const pins = b.system.simLeds;
        const first = all[0];
        return (
          first !== undefined &&
          outcome(first) &&
          pins !== undefined &&
          pins.left === first.left &&
          pins.right === first.right &&
          all.every((v) => JSON.stringify(v) === JSON.stringify(first))
        );
      };
      await waitFor('every observer to agree', agree, 10_000).catch(() => {});
      await sleep(250);
      const seen = views();
      const truth = seen['mqtt.js QoS 0'];
      assert.ok(truth && outcome(truth), `the burst's outcome: ${JSON.stringify(truth)}`);
      for (const [who, state] of Object.entries(seen)) assert.deepEqual(state, truth, `${who}'s last state`);
      const pins = b.system.simLeds;
      assert.deepEqual({ left: pins?.left, right: pins?.right }, { left: truth.left, right: truth.right }, 'the pins');
      const newcomer = await b.operator();
      const retained = new StateWatcher(newcomer);
      await waitFor('the retained state', () => retained.last);
      assert.deepEqual(retained.last, truth, 'the retained state');
      newcomer.end(true);
      return truth;
    }

    /** Streams distinct lit values from `phone` as fast as the gateway takes them (GATEWAY_MAX_RATE) for `ms`. */
    async function stream(phone: WsClient, ms: number, seqFrom: number): Promise<number> {
      const start = performance.now();
      let seq = seqFrom;
      while (performance.now() - start < ms) {
        for (let i = 0; i < 4; i++) {
          seq++;
          phone.send(JSON.stringify({ x: 0, y: 1 + (seq % 90), z: 40, seq }));
        }
        await sleep(1);
      }
      return seq;
    }

    it('a phone streaming at its fastest, then holding still: its last value', async () => {
      const phone = await WsClient.controller(b.system);
      try {
        const last = await stream(phone, 1000, 1_000_000);
        phone.send(JSON.stringify({ x: 0, y: -33, z: 94, seq: last + 1 }));
        await everyoneAgrees((s) => s.seq === last + 1 && s.left === 33 && s.right === 0 && s.reason === 'gravity', phone);
      } finally {
        phone.close();
        await phone.closed();
      }
    });

    it('a phone that leaves in the middle of a burst: controller-left', async () => {
      const phone = await WsClient.controller(b.system);
      await stream(phone, 500, 2_000_000);
      phone.socket.terminate();
      await everyoneAgrees((s) => s.reason === 'controller-left');
    });

    it('a phone that goes silent after a burst: stale, FAILSAFE_TIMEOUT_MS later', async () => {
      const phone = await WsClient.controller(b.system);
      try {
        await stream(phone, 500, 3_000_000);
        await everyoneAgrees((s) => s.reason === 'stale', phone);
      } finally {
        phone.close();
        await phone.closed();
      }
    });

    it('the capacity lowered to 0 under a streaming phone: it is closed, controller-left', async () => {
      const phone = await WsClient.controller(b.system);
      const streaming = stream(phone, 700, 4_000_000);
      try {
        await sleep(300);
        await operator.publishAsync('gravity-led/gateway/max-clients/set', '0', { qos: 1 });
        await streaming;
        await everyoneAgrees((s) => s.reason === 'controller-left');
      } finally {
        phone.socket.terminate();
        await operator.publishAsync('gravity-led/gateway/max-clients/set', '1', { qos: 1 });
        await sleep(200);
      }
    });

    it('a flood by hand (mqtt.js, as fast as it goes for a second), then a last value', async () => {
      const flooder = await b.operator();
      const start = performance.now();
      let i = 0;
      while (performance.now() - start < 1000) {
        for (let k = 0; k < 200; k++) flooder.publish('gravity-led/gravity', `0 ${1 + (i++ % 90)} 40`);
        await sleep(1);
      }
      await flooder.publishAsync('gravity-led/gravity', '0 -61 79', { qos: 1 });
      flooder.end();
      await everyoneAgrees((s) => s.left === 61 && s.right === 0 && s.reason === 'gravity');
      // Let it go stale, so the manual commands below are not refused as "a phone is in control".
      await waitFor('the stale fail-safe', () => qos0.last?.reason === 'stale', 10_000);
    });

    it('a burst of manual commands while no phone drives: the last command', async () => {
      for (let k = 1; k <= 300; k++) operator.publish('gravity-led/leds/set', JSON.stringify({ left: k % 100, right: (k * 7) % 100 }));
      await operator.publishAsync('gravity-led/leds/left/set', '42', { qos: 1 });
      await everyoneAgrees((s) => s.left === 42 && s.reason === 'manual');
    });
  });
}
