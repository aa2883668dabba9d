/** The embedded broker's rules (broker/src/permissions.ts), with a multi-level TOPIC_PREFIX and a custom discovery prefix. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { filterReaches, Permissions } from '@gravity-led/broker';
import { topicsFor } from '@gravity-led/shared';

const secrets = {
  operator: { username: 'op', password: 'operator-password' },
  service: { username: 'svc', password: 'service-password' },
};

describe('broker permissions', () => {
  const permissions = new Permissions(secrets, 'home/leds', topicsFor('home/leds'), 'ha');

  it('a filter reaches a root when some topic at or under it matches [MQTT 4.7]', () => {
    const yes: [string, string][] = [
      ['#', 'home/leds'],
      ['+/#', 'home/leds'],
      ['home/#', 'home/leds'],
      ['home/+/state', 'home/leds'],
      ['home/leds', 'home/leds'],
      ['home/leds/gravity', 'home/leds'],
      ['+/+', 'home/leds'],
      ['$SYS/#', '$SYS'],
      ['$SYS/+/heartbeat', '$SYS'],
    ];
    const no: [string, string][] = [
      ['home', 'home/leds'],
      ['home/other/#', 'home/leds'],
      ['other/#', 'home/leds'],
      ['+', 'home/leds'],
      // [MQTT-4.7.2-1]: a wildcard first level does not match a topic that starts with $.
      ['#', '$SYS'],
      ['+/+/heartbeat', '$SYS'],
    ];
    for (const [filter, root] of yes) assert.ok(filterReaches(filter, root), `${filter} reaches ${root}`);
    for (const [filter, root] of no) assert.ok(!filterReaches(filter, root), `${filter} does not reach ${root}`);
  });

  it('the operator publishes the inputs and HA status only; the services anything under both prefixes', () => {
    for (const topic of [
      'home/leds/gravity',
      'home/leds/leds/set',
      'home/leds/leds/left/set',
      'home/leds/gateway/max-clients/set',
      'ha/status',
    ]) {
      assert.ok(permissions.mayPublish('operator', topic), topic);
    }
    for (const topic of [
      'home/leds/leds/state',
      'home/leds/leds/left/state',
      'home/leds/led-driver/status',
      'home/leds/gateway/clients',
      'ha/light/x/config',
      'homeassistant/status',
      'other',
      '$SYS/x',
    ]) {
      assert.ok(!permissions.mayPublish('operator', topic), topic);
    }
    for (const topic of ['home/leds/leds/state', 'ha/light/home_leds/left/config'])
      assert.ok(permissions.mayPublish('service', topic), topic);
    for (const topic of ['home/ledsx/a', 'home', 'other/x', '$SYS/x']) assert.ok(!permissions.mayPublish('service', topic), topic);
  });

  it('reading: both prefixes for everyone, $SYS for the operator only; subscriptions that reach nothing readable are refused', () => {
    assert.ok(permissions.mayRead('operator', 'home/leds/leds/state'));
    assert.ok(permissions.mayRead('operator', 'ha/light/a/config'));
    assert.ok(permissions.mayRead('operator', '$SYS/broker/heartbeat'));
    assert.ok(!permissions.mayRead('service', '$SYS/broker/heartbeat'));
    assert.ok(!permissions.mayRead('operator', 'home/other'));
    assert.ok(permissions.maySubscribe('operator', '#'));
    assert.ok(permissions.maySubscribe('operator', '$SYS/#'));
    assert.ok(!permissions.maySubscribe('service', '$SYS/#'));
    assert.ok(!permissions.maySubscribe('operator', 'zigbee2mqtt/#'));
    assert.ok(!permissions.maySubscribe('operator', '$share/group/home/leds/#'));
  });

  it('logins: each account by both its name and password; client id takeovers within an account, or by a service', () => {
    assert.equal(permissions.login('op', Buffer.from('operator-password')), 'operator');
    assert.equal(permissions.login('svc', Buffer.from('service-password')), 'service');
    assert.equal(permissions.login('op', Buffer.from('service-password')), undefined);
    assert.equal(permissions.login(undefined, undefined), undefined);
    assert.ok(permissions.mayTakeOver('operator', 'operator'));
    assert.ok(permissions.mayTakeOver('service', 'service'));
    assert.ok(permissions.mayTakeOver('service', 'operator'));
    assert.ok(!permissions.mayTakeOver('operator', 'service'));
  });
});
