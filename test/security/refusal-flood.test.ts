/**
 * A stranger's refusals must not flood the log (issue 17, item 4: every failed first-frame authentication was a
 * line, 46,500 of them in 15 s). Every kind of refusal at the gateway's door, many times over, at the default log
 * level: each kind is logged once, as a warning (then summed up once a minute), and every one is counted in
 * `gravity_led_gateway_refused_total{reason}`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { tokenProtocols } from '@gravity-led/gateway';
import WebSocket from 'ws';
import { WsClient } from '../helpers/clients.js';
import { inParallel, sendRaw } from '../helpers/http-fuzz.js';
import { type Scrape, scrape } from '../helpers/metrics.js';
import { TestSystem } from '../helpers/system.js';
import { sleep } from '../helpers/wait.js';

const EACH = 600;

describe('a flood of refusals at the gateway', () => {
  let system: TestSystem;
  const metrics = () => scrape(`http://127.0.0.1:${system.ports.gateway}/metrics`);
  const refused = (s: Scrape, reason: string) => s.count('gravity_led_gateway_refused_total', { reason });
  /** Sixteen source addresses in turn, so the places kept per address for authenticating are not what refuses them. */
  const from = (i: number) => ({ localAddress: `127.0.2.${(i % 16) + 1}` });

  before(async () => {
    system = await TestSystem.start({ env: { FAILSAFE_TIMEOUT_MS: '600000', LOG_LEVEL: 'info' } });
  });

  after(async () => {
    await system?.stop();
  });

  it(`${EACH} of each kind: about one log line per kind, every one counted`, async () => {
    const gateway = system.service('gateway');
    const mark = gateway.mark;
    const start = await metrics();
    const wrong = 'not-the-token-at-all-0000';
    const closes = async (client: WsClient, expected: number) => assert.equal(await client.closed(), expected);
    const kinds: [string, (i: number) => Promise<void>][] = [
      [
        'a wrong token in the first frame',
        async (i) => {
          const client = WsClient.connect(system.gatewayUrl, from(i));
          await client.opened;
          client.send(JSON.stringify({ type: 'auth', token: wrong }));
          await closes(client, 1008);
        },
      ],
      [
        'a gravity frame instead of the auth frame',
        async (i) => {
          const client = WsClient.connect(system.gatewayUrl, from(i));
          await client.opened;
          client.send('0 40 91.6');
          await closes(client, 1008);
        },
      ],
      ['a wrong ?token=', (i) => closes(WsClient.connect(`${system.gatewayUrl}?token=${wrong}`, from(i)), -401)],
      [
        'a wrong Bearer token',
        (i) => closes(WsClient.connect(system.gatewayUrl, { ...from(i), headers: { authorization: `Bearer ${wrong}` } }), -401),
      ],
      [
        'a wrong token as a subprotocol',
        (i) => closes(new WsClient(new WebSocket(system.gatewayUrl, tokenProtocols(wrong), from(i))), 1008),
      ],
      [
        'a request target that is not a URL',
        async () =>
          assert.equal(
            await sendRaw({ name: 'gateway', port: system.ports.gateway, tls: false }, 'GET http://x:99999/ HTTP/1.1\r\nHost: x\r\n\r\n'),
            400,
          ),
      ],
    ];
    for (const [, attempt] of kinds) await inParallel(EACH, 16, attempt);
    await sleep(300);
    const end = await metrics();
    assert.equal(refused(end, 'wrong-token') - refused(start, 'wrong-token'), 4 * EACH);
    assert.equal(refused(end, 'no-auth-frame') - refused(start, 'no-auth-frame'), EACH);
    assert.equal(refused(end, 'bad-request') - refused(start, 'bad-request'), EACH);
    const lines = gateway.lines.slice(mark).filter((l) => l.level >= 30);
    const bytes = gateway.raw.slice(mark).reduce((n, l) => n + l.length + 1, 0);
    process.stdout.write(`# ${kinds.length * EACH} refusals: ${lines.length} log lines, ${bytes} bytes\n`);
    // One warning for each of the three kinds (the repeats are summed up a minute later, once).
    assert.deepEqual(
      lines.map((l) => l.level),
      [40, 40, 40],
      lines.map((l) => l.msg).join(' | '),
    );
    assert.ok(gateway.running);
  });
});
