/** The command-line client's own logic: its options, the sweep's shape, and the frames it encodes. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { describeClose, FrameEncoder, parseClientArgs, sweepAt, UsageError } from '@gravity-led/client';
import { parseGravityBinary, parseGravityText } from '@gravity-led/shared';

const NO_ENV = { DATA_DIR: '/nonexistent-gravity-led' };
const files = mkdtempSync(join(tmpdir(), 'gravity-led-client-options-'));
after(() => rmSync(files, { recursive: true, force: true }));
const RECORDING = join(files, 'good.jsonl');
writeFileSync(RECORDING, '{"format":"gravity-led-recording","version":1}\n{"t":0,"x":0,"y":40,"z":91.65,"seq":1}\n');
const BAD_RECORDING = join(files, 'bad.jsonl');
writeFileSync(
  BAD_RECORDING,
  '{"format":"gravity-led-recording","version":1}\n{"t":0,"x":0,"y":40,"z":91.65}\n{"t":1,"x":0,"y":4000,"z":1}\n',
);

describe('client options', () => {
  it('defaults to the seed text format on ws://localhost:5678 and reads GATEWAY_TOKEN', () => {
    const options = parseClientArgs([], { ...NO_ENV, GATEWAY_TOKEN: 'from-the-environment' });
    assert.equal(options?.url.href, 'ws://localhost:5678/');
    assert.equal(options?.format, 'text');
    assert.equal(options?.token, 'from-the-environment');
    assert.equal(options?.sweep, undefined);
    assert.deepEqual(options?.trust, { kind: 'system' });
  });

  it('reads the sweep, the format and a fingerprint with or without colons', () => {
    const options = parseClientArgs(
      [
        '--url',
        'wss://pi.local:5679',
        '--token',
        't',
        '--sweep',
        '--period',
        '2.5',
        '--rate',
        '50',
        '--binary',
        '--fingerprint',
        `${'ab:'.repeat(31)}ab`,
      ],
      NO_ENV,
    );
    assert.deepEqual(options?.sweep, { period: 2.5, rate: 50, amplitude: 80, duration: undefined });
    assert.equal(options?.format, 'binary');
    assert.deepEqual(options?.trust, { kind: 'fingerprint', sha256: 'AB'.repeat(32) });
    assert.equal(parseClientArgs(['--help'], NO_ENV), undefined);
  });

  it('reads --record and --replay (the file read and checked at once), --speed, --loop', () => {
    assert.equal(parseClientArgs(['--record', 'out.jsonl'], NO_ENV)?.record, 'out.jsonl');
    const options = parseClientArgs(['--replay', RECORDING, '--speed', '2.5', '--loop'], NO_ENV);
    assert.equal(options?.replay?.file, RECORDING);
    assert.equal(options?.replay?.speed, 2.5);
    assert.equal(options?.replay?.loop, true);
    assert.deepEqual(options?.replay?.recording.frames, [{ t: 0, x: 0, y: 40, z: 91.65, seq: 1 }]);
    assert.equal(options?.mqtt, undefined);
    assert.equal(parseClientArgs(['--replay', RECORDING], NO_ENV)?.replay?.speed, 1);
  });

  it('--mqtt takes the account from the options, the environment, or the secrets file, and the topic prefix', () => {
    const given = parseClientArgs(
      ['--replay', RECORDING, '--mqtt', 'mqtts://pi:8883', '--mqtt-username', 'op', '--mqtt-password', 'secret-pw', '--insecure'],
      NO_ENV,
    );
    assert.equal(given?.mqtt?.url.href, 'mqtts://pi:8883');
    assert.deepEqual(given?.mqtt?.account, { username: 'op', password: 'secret-pw' });
    assert.equal(given?.mqtt?.topicPrefix, 'gravity-led');
    assert.equal(given?.token, undefined, 'no gateway token goes to a broker');
    assert.deepEqual(given?.trust, { kind: 'insecure' });
    const fromEnv = parseClientArgs(['--replay', RECORDING, '--mqtt', 'mqtt://pi'], {
      ...NO_ENV,
      MQTT_USERNAME: 'env-op',
      MQTT_PASSWORD: 'env-password',
      TOPIC_PREFIX: 'house/leds',
    });
    assert.deepEqual(fromEnv?.mqtt?.account, { username: 'env-op', password: 'env-password' });
    assert.equal(fromEnv?.mqtt?.topicPrefix, 'house/leds');
    const dataDir = mkdtempSync(join(files, 'data-'));
    writeFileSync(join(dataDir, 'secrets.json'), JSON.stringify({ operatorUsername: 'stored-op', operatorPassword: 'stored-password' }));
    const stored = parseClientArgs(['--replay', RECORDING, '--mqtt', 'mqtt://localhost:1883', '--topic-prefix', 'x'], {
      DATA_DIR: dataDir,
    });
    assert.deepEqual(stored?.mqtt?.account, { username: 'stored-op', password: 'stored-password' });
    assert.equal(stored?.mqtt?.topicPrefix, 'x');
    assert.equal(parseClientArgs(['--replay', RECORDING, '--mqtt', 'mqtt://pi'], NO_ENV)?.mqtt?.account, undefined);
  });

  it('refuses what it cannot use, with a line naming the option', () => {
    const cases: [string[], RegExp][] = [
      [['--json', '--binary'], /--json and --binary exclude each other/],
      [['--url', 'http://pi:5678'], /expected a ws:\/\/ or wss:\/\/ URL/],
      [['--url', 'not a url'], /is not a URL/],
      [['--rate', '10'], /--rate applies to --sweep only/],
      [['--sweep', '--rate', '0'], /--rate "0": expected a number above 0/],
      [['--sweep', '--amplitude', '120'], /at most 100/],
      [['--ca', 'x.pem'], /--ca applies to wss:\/\/ URLs only/],
      [['--url', 'wss://pi', '--insecure', '--fingerprint', 'AB'.repeat(32)], /exclude each other/],
      [['--url', 'wss://pi', '--fingerprint', 'abc'], /64 hex digits/],
      [['--url', 'wss://pi', '--ca', '/nonexistent/ca.pem'], /--ca \/nonexistent\/ca.pem: ENOENT/],
      [['--colour'], /Unknown option '--colour'/],
      [['--speed', '2'], /--speed applies to --replay only/],
      [['--loop'], /--loop applies to --replay only/],
      [['--mqtt', 'mqtt://pi:1883'], /--mqtt applies to --replay only/],
      [['--topic-prefix', 'x'], /--topic-prefix applies to --mqtt only/],
      [['--replay', RECORDING, '--sweep'], /--replay and --sweep exclude each other/],
      [['--replay', RECORDING, '--record', 'out.jsonl'], /--replay and --record exclude each other/],
      [['--replay', RECORDING, '--speed', '0'], /--speed "0": expected a number above 0/],
      [['--replay', RECORDING, '--speed', 'fast'], /--speed "fast"/],
      [['--replay', RECORDING, '--speed', '5000'], /at most 1000/],
      [['--replay', '/nonexistent/r.jsonl'], /--replay \/nonexistent\/r.jsonl: ENOENT/],
      [['--replay', BAD_RECORDING], /--replay .*bad\.jsonl line 3: y must be within ±1000/],
      [['--replay', RECORDING, '--mqtt', 'http://pi'], /--mqtt "http:\/\/pi": expected an mqtt:\/\/, mqtts:\/\/, ws:\/\/ or wss:\/\/ URL/],
      [['--replay', RECORDING, '--mqtt', 'mqtt://pi', '--url', 'ws://pi:5678'], /--url is for the gateway; --mqtt publishes to the broker/],
      [['--replay', RECORDING, '--mqtt', 'mqtt://pi', '--binary'], /--binary is for the gateway/],
      [['--replay', RECORDING, '--mqtt', 'mqtt://pi', '--mqtt-username', 'u'], /go together/],
      [['--replay', RECORDING, '--mqtt', 'mqtt://pi', '--topic-prefix', 'a b'], /--topic-prefix "a b": expected letters/],
      [['--replay', RECORDING, '--mqtt', 'mqtt://pi', '--ca', 'x.pem'], /--ca applies to mqtts:\/\/ and wss:\/\/ broker URLs only/],
    ];
    for (const [args, message] of cases) {
      assert.throws(
        () => parseClientArgs(args, NO_ENV),
        (error: Error) => error instanceof UsageError && message.test(error.message),
        args.join(' '),
      );
    }
  });
});

describe('client sweep and frames', () => {
  it('swings y through ±amplitude as a sine while the vector keeps length 100', () => {
    const sweep = { period: 4, amplitude: 80 };
    assert.equal(sweepAt(sweep, 0).y, 0);
    assert.equal(sweepAt(sweep, 1).y, 80);
    assert.equal(sweepAt(sweep, 3).y, -80);
    for (let t = 0; t < 4; t += 0.1) {
      const g = sweepAt(sweep, t);
      assert.ok(Math.abs(Math.hypot(g.x, g.y, g.z) - 100) < 0.05, `length at ${t}`);
    }
  });

  it('encodes a typed line in each format so that the gateway reads the same vector', () => {
    const text = new FrameEncoder('text').line('0 40 91.6');
    assert.deepEqual(text, { frame: '0 40 91.6', sent: { x: 0, y: 40, z: 91.6, seq: 1 } });
    assert.deepEqual(new FrameEncoder('text').line('1 2'), { frame: '1 2' }, 'sent as typed, nothing to record');
    const json = new FrameEncoder('json').line('0 40 91.6');
    assert.ok('frame' in json && typeof json.frame === 'string');
    assert.deepEqual(parseGravityText(json.frame as string), { ok: true, value: { x: 0, y: 40, z: 91.6, seq: 1 } });
    const binary = new FrameEncoder('binary').line('0 40 91.6');
    assert.ok('frame' in binary && binary.frame instanceof Uint8Array);
    const decoded = parseGravityBinary(binary.frame as Uint8Array);
    assert.ok(decoded.ok && decoded.value.y === 40 && Math.abs(decoded.value.z - 91.6) < 1e-4);
    assert.deepEqual(new FrameEncoder('binary').line('1 2'), { error: 'expected three numbers "x y z", got 2' });
  });

  it('words the close codes a person meets', () => {
    assert.equal(describeClose(1013, 'device in use'), 'the device is in use (close code 1013: device in use)');
    assert.match(describeClose(1008, 'no auth frame within 5 s'), /refused the client/);
  });
});
