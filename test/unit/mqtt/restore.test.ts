/**
 * A restart, in process: a second router (a new harness) starts over the store the first one wrote, as the real
 * router does over its data directory. What comes back: sessions with their subscriptions and options, their
 * queue, their expiry counted from when the client went, and the wills they still owe.
 */
import type { IPublishPacket } from 'mqtt-packet';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemoryStore } from '../../../src/store/memory/store.js';
import { messages, mqttHarness, subscribe, type MqttHarness } from '../../helpers/fake-connection.js';

const harnesses: MqttHarness[] = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const h of harnesses.splice(0)) await h.close();
});

function start(store: MemoryStore): MqttHarness {
  const h = mqttHarness({ persistence: store });
  harnesses.push(h);
  return h;
}

const persistent = (clientId: string, extra: Record<string, unknown> = {}) => ({
  clientId,
  version: 5 as const,
  clean: false,
  properties: { sessionExpiryInterval: 600 },
  ...extra,
});

describe('a restart over the same store', () => {
  it('resumes a session with Session Present 1, its subscription options and what was queued meanwhile', async () => {
    const store = new MemoryStore();
    const before = start(store);
    const device = await before.connected(persistent('dev'));
    device.deliver({ cmd: 'subscribe', messageId: 1, properties: { subscriptionIdentifier: 42 }, subscriptions: [{ topic: 'cmd/#', qos: 1 }] });
    await device.expect('suback');
    device.drop();
    const publisher = await before.connected({ clientId: 'p1', version: 5 });
    publisher.deliver({ cmd: 'publish', topic: 'cmd/a', payload: Buffer.from('queued before'), qos: 1, messageId: 1 });
    await publisher.expect('puback');

    const after = start(store);
    // Offline, yet subscribed: a publication after the restart is queued for it too.
    const publisher2 = await after.connected({ clientId: 'p2', version: 5 });
    publisher2.deliver({ cmd: 'publish', topic: 'cmd/b', payload: Buffer.from('queued after'), qos: 1, messageId: 1 });
    await publisher2.expect('puback');
    const { fake, connack } = await after.connect(persistent('dev'));
    expect(connack.sessionPresent).toBe(true);
    const got = (await fake.drain()).filter((p): p is IPublishPacket => p.cmd === 'publish');
    expect(got.map((m) => m.payload.toString())).toEqual(['queued before', 'queued after']);
    // The Subscription Identifier chosen before the restart still tags deliveries [MQTT-3.3.4-3].
    expect(got.map((m) => m.properties?.subscriptionIdentifier)).toEqual([42, 42]);
  });

  it('a session whose expiry ran out while the router was down is gone', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout'] });
    const store = new MemoryStore();
    const before = start(store);
    const device = await before.connected(persistent('short', { properties: { sessionExpiryInterval: 30 } }));
    device.deliver({ cmd: 'disconnect', reasonCode: 0 });
    await device.waitGone();
    vi.setSystemTime(Date.now() + 31_000);
    const after = start(store);
    expect(after.session('short')).toBeUndefined();
    expect(store.sessions.load().map((s) => s.key)).not.toContain('realm1\u0000short');
    const { connack } = await after.connect(persistent('short'));
    expect(connack.sessionPresent).toBe(false);
  });

  it('the expiry keeps counting from when the client went, not from the restart', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout'] });
    const store = new MemoryStore();
    const before = start(store);
    const device = await before.connected(persistent('half', { properties: { sessionExpiryInterval: 60 } }));
    device.deliver({ cmd: 'disconnect', reasonCode: 0 });
    await device.waitGone();
    vi.setSystemTime(Date.now() + 40_000);
    const after = start(store);
    expect(after.session('half')).toBeDefined();
    vi.advanceTimersByTime(21_000);
    expect(after.session('half')).toBeUndefined();
  });

  it('a client connected when the router died owes its will: sent after the Will Delay, unless it returns first', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout'] });
    const store = new MemoryStore();
    const before = start(store);
    const will = { topic: 'will/lamp', payload: 'lamp lost', qos: 1 as const, properties: { willDelayInterval: 10 } };
    await before.connected(persistent('lamp', { will }));
    await before.connected(persistent('fan', { will: { ...will, topic: 'will/fan', payload: 'fan lost' } }));

    const after = start(store);
    const watch = await after.connected({ clientId: 'watch', version: 5 });
    await subscribe(watch, { topic: 'will/#', qos: 1 });
    vi.advanceTimersByTime(9_000);
    expect(messages(await watch.drain())).toEqual([]);
    // The fan comes back in time: its will is not sent [MQTT-3.1.3-9].
    await after.connected(persistent('fan', { will: { ...will, topic: 'will/fan' } }));
    vi.advanceTimersByTime(2_000);
    expect(messages(await watch.drain()).map((m) => m.payload)).toEqual(['lamp lost']);
  });

  it('QoS 2 ids received before the restart still make a resent PUBLISH a duplicate [MQTT-4.3.3-10]', async () => {
    const store = new MemoryStore();
    const before = start(store);
    const sub = await before.connected(persistent('sub2'));
    await subscribe(sub, { topic: 'x/#', qos: 2 });
    sub.drop();
    const pub = await before.connected(persistent('pub2'));
    pub.deliver({ cmd: 'publish', topic: 'x/1', payload: Buffer.from('once'), qos: 2, messageId: 9 });
    await pub.expect('pubrec');

    const after = start(store);
    const { fake: again, connack } = await after.connect(persistent('pub2'));
    expect(connack.sessionPresent).toBe(true);
    // The publisher never saw PUBREC (say) and sends the PUBLISH again, then PUBREL.
    again.deliver({ cmd: 'publish', topic: 'x/1', payload: Buffer.from('once'), qos: 2, messageId: 9, dup: true });
    await again.expect('pubrec');
    again.deliver({ cmd: 'pubrel', messageId: 9 });
    expect((await again.expect('pubcomp')).reasonCode ?? 0).toBe(0);
    const { fake: back } = await after.connect(persistent('sub2'));
    const delivered = messages(await back.drain());
    expect(delivered.map((m) => m.payload)).toEqual(['once']);
  });
});
