/**
 * The scripted MQTT peer (shared/src/scripted-peer.ts) on its own, spoken to packet by packet over a bare TCP socket
 * (mqtt-packet on this side too): it answers what MQTT 3.1.1 requires of a server, lets in only the account it was
 * given, accepts one connection and then stops listening, and tells its script what the client subscribed and
 * published, and how the connection ended.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import {
  CONNACK_BAD_CREDENTIALS,
  CONNACK_BAD_PROTOCOL,
  CONNACK_NOT_AUTHORIZED,
  type ScriptedPeer,
  startScriptedPeer,
} from '@gravity-led/shared';
import mqttPacket, { type IConnectPacket, type Packet } from 'mqtt-packet';
import { waitFor } from '../helpers/wait.js';

const ACCOUNT = { username: 'peer-test', password: 'peer-test-password-0123456789' };

interface Told {
  subscribed: string[][];
  published: [string, string][];
  ended: (Error | undefined)[];
}

async function peerFor(): Promise<{ peer: ScriptedPeer; told: Told }> {
  const told: Told = { subscribed: [], published: [], ended: [] };
  const peer = await startScriptedPeer({
    account: ACCOUNT,
    script: {
      subscribed: (filters) => told.subscribed.push([...filters]),
      published: (topic, payload) => told.published.push([topic, payload.toString()]),
      ended: (error) => told.ended.push(error),
    },
  });
  return { peer, told };
}

/** A client that writes packets as given and keeps every packet the peer sends. */
class RawClient {
  readonly packets: Packet[] = [];
  closed = false;

  private constructor(readonly socket: Socket) {
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    parser.on('packet', (packet) => this.packets.push(packet));
    socket.on('data', (chunk: Buffer) => parser.parse(chunk));
    socket.on('close', () => {
      this.closed = true;
    });
    socket.on('error', () => {});
  }

  static async connect(port: number): Promise<RawClient> {
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    return new RawClient(socket);
  }

  send(packet: Packet): void {
    this.socket.write(mqttPacket.generate(packet));
  }

  /** The next packet of kind `cmd` received since `from`. */
  next<C extends Packet['cmd']>(cmd: C, from = 0): Promise<Extract<Packet, { cmd: C }>> {
    return waitFor(`a ${cmd.toUpperCase()}`, () => this.packets.slice(from).find((p) => p.cmd === cmd) as Extract<Packet, { cmd: C }>);
  }

  waitClosed(): Promise<true> {
    return waitFor('the peer to close the connection', () => this.closed);
  }
}

function connectPacket(overrides: Partial<IConnectPacket> = {}): IConnectPacket {
  return {
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 4,
    clean: true,
    clientId: 'raw-peer-test',
    keepalive: 30,
    username: ACCOUNT.username,
    password: Buffer.from(ACCOUNT.password),
    ...overrides,
  };
}

/** What connecting to `port` gives now: 'connected', or the error code (ECONNREFUSED once nobody listens). */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

describe('the scripted MQTT peer', () => {
  it('answers a client as MQTT 3.1.1 requires, and tells the script what the client did', async () => {
    const { peer, told } = await peerFor();
    const client = await RawClient.connect(peer.port);
    try {
      assert.equal(peer.publish('early', 'nobody to hear it'), false, 'nothing goes out before the CONNECT is accepted');
      client.send(connectPacket());
      const connack = await client.next('connack');
      assert.equal(connack.returnCode, 0);
      assert.equal(connack.sessionPresent, false, 'no session kept [MQTT-3.2.2-1]');

      client.send({
        cmd: 'subscribe',
        messageId: 11,
        subscriptions: [
          { topic: 'a/#', qos: 1 },
          { topic: 'b', qos: 0 },
          { topic: 'c', qos: 2 },
        ],
      });
      const suback = await client.next('suback');
      assert.equal(suback.messageId, 11);
      assert.deepEqual(suback.granted, [1, 0, 1], 'the QoS asked, QoS 2 granted as 1');
      assert.deepEqual(told.subscribed, [['a/#', 'b', 'c']]);

      client.send({ cmd: 'publish', topic: 'q1', payload: Buffer.from('one'), qos: 1, messageId: 7, retain: true, dup: false });
      assert.equal((await client.next('puback')).messageId, 7);
      client.send({ cmd: 'publish', topic: 'q0', payload: Buffer.from('zero'), qos: 0, retain: false, dup: false });
      client.send({ cmd: 'pingreq' });
      await client.next('pingresp');
      assert.deepEqual(told.published, [
        ['q1', 'one'],
        ['q0', 'zero'],
      ]);
      assert.equal(client.packets.filter((p) => p.cmd === 'puback').length, 1, 'QoS 0 is not acknowledged');

      client.send({ cmd: 'unsubscribe', messageId: 12, unsubscriptions: ['b'] });
      assert.equal((await client.next('unsuback')).messageId, 12);

      const from = client.packets.length;
      assert.equal(peer.publish('x/y', 'retained', { qos: 1, retain: true }), true);
      assert.equal(peer.publish('x/z', 'live'), true);
      const retained = await client.next('publish', from);
      assert.deepEqual([retained.topic, retained.payload.toString(), retained.qos, retained.retain], ['x/y', 'retained', 1, true]);
      assert.ok((retained.messageId ?? 0) > 0, 'a QoS 1 message has a non-zero identifier [MQTT-2.3.1-1]');
      await waitFor('the QoS 0 message', () => client.packets.some((p) => p.cmd === 'publish' && p.topic === 'x/z' && p.qos === 0));
      client.send({ cmd: 'puback', messageId: retained.messageId ?? 0 });

      client.send({ cmd: 'disconnect' });
      await client.waitClosed();
      await waitFor('the script told', () => told.ended.length > 0);
      assert.deepEqual(told.ended, [undefined], 'a DISCONNECT is a clean end');
      assert.equal(peer.publish('after', 'gone'), false);
    } finally {
      client.socket.destroy();
      await peer.close();
    }
  });

  it('accepts one connection only: it stops listening at the first, and a second client is refused by the OS', async () => {
    const { peer, told } = await peerFor();
    const first = await RawClient.connect(peer.port);
    try {
      assert.equal(await tryConnect(peer.port), 'ECONNREFUSED');
      first.send(connectPacket());
      assert.equal((await first.next('connack')).returnCode, 0, 'the first one is served as before');
      assert.deepEqual(told.ended, []);
    } finally {
      first.socket.destroy();
      await peer.close();
    }
    assert.equal(await tryConnect(peer.port), 'ECONNREFUSED');
  });

  for (const [what, packet, code] of [
    ['a wrong password', connectPacket({ password: Buffer.from('not-the-password') }), CONNACK_BAD_CREDENTIALS],
    ['a wrong user name', connectPacket({ username: 'someone-else' }), CONNACK_BAD_CREDENTIALS],
    ['no credentials', connectPacket({ username: undefined, password: undefined }), CONNACK_NOT_AUTHORIZED],
    ['MQTT 3.1 (MQIsdp)', connectPacket({ protocolId: 'MQIsdp', protocolVersion: 3 }), CONNACK_BAD_PROTOCOL],
  ] as const) {
    it(`refuses ${what} with CONNACK return code ${code}, closes the connection and tells the script`, async () => {
      const { peer, told } = await peerFor();
      const client = await RawClient.connect(peer.port);
      try {
        client.send(packet);
        assert.equal((await client.next('connack')).returnCode, code);
        await client.waitClosed();
        await waitFor('the script told', () => told.ended.length > 0);
        assert.match(String(told.ended[0]?.message), new RegExp(`CONNACK return code ${code}`));
        assert.equal(peer.publish('t', 'p'), false);
        assert.equal(await tryConnect(peer.port), 'ECONNREFUSED', 'and nobody gets a second try');
      } finally {
        client.socket.destroy();
        await peer.close();
      }
    });
  }

  it('closes a connection whose first packet is not CONNECT [MQTT-3.1.0-1], and one that sends CONNECT twice [MQTT-3.1.0-2]', async () => {
    for (const packets of [[{ cmd: 'pingreq' }], [connectPacket(), connectPacket()]] as Packet[][]) {
      const { peer, told } = await peerFor();
      const client = await RawClient.connect(peer.port);
      try {
        for (const packet of packets) client.send(packet);
        await client.waitClosed();
        await waitFor('the script told', () => told.ended.length > 0);
        assert.match(String(told.ended[0]?.message), /expected CONNECT first|unexpected CONNECT/);
      } finally {
        client.socket.destroy();
        await peer.close();
      }
    }
  });

  it('a script that throws ends the connection, not the process', async () => {
    const ended: (Error | undefined)[] = [];
    const peer = await startScriptedPeer({
      account: ACCOUNT,
      script: {
        published: () => {
          throw new Error('a broken script');
        },
        ended: (error) => ended.push(error),
      },
    });
    const client = await RawClient.connect(peer.port);
    try {
      client.send(connectPacket());
      await client.next('connack');
      client.send({ cmd: 'publish', topic: 't', payload: Buffer.from('p'), qos: 0, retain: false, dup: false });
      await client.waitClosed();
      assert.equal(ended[0]?.message, 'a broken script');
    } finally {
      client.socket.destroy();
      await peer.close();
    }
  });

  it('close() before any client stops listening', async () => {
    const { peer, told } = await peerFor();
    await peer.close();
    assert.equal(await tryConnect(peer.port), 'ECONNREFUSED');
    assert.deepEqual(told.ended, [], 'close() is the owner ending it: the script is not told');
  });
});
