/** What the WebSocket door counts as one source address, and how a token travels as a subprotocol (gateway/src/auth.ts, protocol.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sourceKey, TOKEN_PROTOCOL_PREFIX, tokenFromProtocols, tokenProtocols } from '@gravity-led/gateway';

describe('source addresses for the pending-auth limit', () => {
  it('an IPv4 address is itself, also when a dual-stack socket reports it IPv4-mapped', () => {
    assert.equal(sourceKey('192.168.1.20'), '192.168.1.20');
    assert.equal(sourceKey('::ffff:192.168.1.20'), '192.168.1.20');
    assert.equal(sourceKey('::FFFF:10.0.0.1'), '10.0.0.1');
  });

  it('every IPv6 address of one /64 is one source, however it is written', () => {
    const key = sourceKey('2001:db8:1:2:aaaa:bbbb:cccc:dddd');
    assert.equal(key, '2001:db8:1:2::/64');
    for (const address of ['2001:db8:1:2::1', '2001:0db8:0001:0002:0:0:0:9', '2001:DB8:1:2::abcd%eth0', '2001:db8:1:2:ffff::']) {
      assert.equal(sourceKey(address), key, address);
    }
    assert.notEqual(sourceKey('2001:db8:1:3::1'), key);
    assert.equal(sourceKey('::1'), '0:0:0:0::/64');
    assert.equal(sourceKey('fe80::1'), 'fe80:0:0:0::/64');
  });

  it('no address at all (a socket already gone) is one source too', () => {
    assert.equal(sourceKey(undefined), 'unknown');
  });
});

describe('the token as a subprotocol', () => {
  it('round-trips any token GATEWAY_TOKEN allows, and the first carrying protocol wins', () => {
    for (const token of ['AbC-_0123456789xyzXYZ', 'a/b+c=d~e.f-0123456789', 'ünïcødé']) {
      assert.equal(tokenFromProtocols(tokenProtocols(token)), token);
    }
    assert.equal(tokenFromProtocols(['x', `${TOKEN_PROTOCOL_PREFIX}dGhl`, `${TOKEN_PROTOCOL_PREFIX}b3RoZXI`]), 'the');
  });

  it('none offered is undefined (try the next way); a malformed or empty one is a wrong token', () => {
    assert.equal(tokenFromProtocols(['gravity-led', 'chat']), undefined);
    assert.equal(tokenFromProtocols([`${TOKEN_PROTOCOL_PREFIX}not/base64url`]), '');
    assert.equal(tokenFromProtocols([TOKEN_PROTOCOL_PREFIX]), '');
  });
});
