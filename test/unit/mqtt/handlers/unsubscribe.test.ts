/**
 * UNSUBSCRIBE (protocols/mqtt/handlers/unsubscribe.ts): one UNSUBACK, a reason code per filter in 5.0 and none
 * in 3.1.1, and deliveries on the removed subscriptions stop.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  messages,
  mqttHarness,
  publish,
  subscribe,
  unsubscribe,
  type FakeConnection,
  type MqttHarness,
} from '../../../helpers/fake-connection.js';

let h: MqttHarness | undefined;

afterEach(async () => {
  await h?.close();
  h = undefined;
});

function harness(options: Parameters<typeof mqttHarness>[0] = {}): MqttHarness {
  h = mqttHarness(options);
  return h;
}

async function publisher(h: MqttHarness): Promise<FakeConnection> {
  return h.connected({ clientId: 'publisher', version: 5 });
}

describe('UNSUBACK', () => {
  it('[MQTT-3.11.3-1] [MQTT-3.10.4-6] (5.0) one UNSUBACK with a reason per filter, in order: 0x00 removed, 0x11 none existed', async () => {
    const h = harness();
    const sub = await h.connected({ clientId: 'sub', version: 5 });
    await subscribe(sub, [{ topic: 'u/a', qos: 1 }, { topic: 'u/+', qos: 0 }, { topic: '$share/g/u/c', qos: 0 }]);
    const unsuback = await unsubscribe(sub, ['u/a', 'never/subscribed', '$share/g/u/c', 'u/a', 'u/+'], 77);
    expect(unsuback.messageId).toBe(77);
    // The second 'u/a' is gone by the time it is processed.
    expect(unsuback.granted).toEqual([0x00, 0x11, 0x00, 0x11, 0x00]);
    expect(await sub.drain()).toEqual([]);
  });

  it('[MQTT-3.10.4-4] [MQTT-3.10.4-5] (3.1.1) UNSUBACK carries the packet id and no payload, even when nothing was removed', async () => {
    const h = harness();
    const sub = await h.connected({ clientId: 'sub', version: 4 });
    await subscribe(sub, { topic: 'u/a', qos: 1 });
    const sentBefore = sub.sent.length;
    const unsuback = await unsubscribe(sub, ['u/a', 'never/subscribed'], 0x1234);
    expect(unsuback.messageId).toBe(0x1234);
    expect(sub.sent.slice(sentBefore)).toEqual([Buffer.from([0xb0, 0x02, 0x12, 0x34])]);
    await unsubscribe(sub, 'nothing/here', 0x0102);
    expect(sub.sent.at(-1)).toEqual(Buffer.from([0xb0, 0x02, 0x01, 0x02]));
  });
});

describe('an UNSUBSCRIBE without any filter', () => {
  it('[MQTT-3.10.3-2] (5.0) is a protocol error: DISCONNECT 0x82, no UNSUBACK', async () => {
    const h = harness();
    const sub = await h.connected({ clientId: 'sub', version: 5 });
    // UNSUBSCRIBE id 1, empty properties, no payload
    sub.deliverBytes([0xa2, 0x03, 0x00, 0x01, 0x00]);
    const reply = await sub.next();
    expect(reply.cmd).toBe('disconnect');
    expect((reply as { reasonCode?: number }).reasonCode).toBe(0x82);
    await sub.waitGone();
  });

  it('[MQTT-3.10.3-2] (3.1.1) is a protocol violation: closed, no UNSUBACK', async () => {
    const h = harness();
    const sub = await h.connected({ clientId: 'sub', version: 4 });
    sub.deliverBytes([0xa2, 0x02, 0x00, 0x01]);
    await sub.drain();
    expect(sub.packets.filter((p) => p.cmd === 'unsuback')).toEqual([]);
    await sub.waitGone();
    expect(sub.closedByModule).toBe(true);
  });
});

describe('deliveries', () => {
  it.each([4, 5] as const)('[MQTT-3.10.4-2] stop on the removed subscription; an overlapping one still delivers (v%i)', async (version) => {
    const h = harness();
    const sub = await h.connected({ clientId: 'sub', version });
    await subscribe(sub, [{ topic: 'd/exact', qos: 1 }, { topic: 'd/#', qos: 0 }]);
    const pub = await publisher(h);
    await publish(pub, 'd/exact', 'both', { qos: 1 });
    // Overlapping subscriptions: one copy at the higher QoS [MQTT-3.3.4-2].
    expect(messages(await sub.drain()).map((m) => [m.payload, m.qos])).toEqual([['both', 1]]);
    sub.deliver({ cmd: 'puback', messageId: (sub.packets.at(-1) as { messageId: number }).messageId });

    await unsubscribe(sub, 'd/exact');
    await publish(pub, 'd/exact', 'wildcard only', { qos: 1 });
    expect(messages(await sub.drain()).map((m) => [m.payload, m.qos])).toEqual([['wildcard only', 0]]);

    await unsubscribe(sub, 'd/#');
    await publish(pub, 'd/exact', 'none', { qos: 1 });
    await publish(pub, 'd/other', 'none', { qos: 1 });
    expect(await sub.drain()).toEqual([]);
  });

  it('[MQTT-3.10.4-1] filters are compared character by character, wildcards included', async () => {
    const h = harness();
    const sub = await h.connected({ clientId: 'sub', version: 5 });
    await subscribe(sub, [{ topic: 'c/b', qos: 0 }, { topic: 'c/+', qos: 0 }]);
    // 'c/#' and 'C/b' match nothing held; 'c/+' removes only the wildcard subscription.
    expect((await unsubscribe(sub, ['c/#', 'C/b', 'c/+'])).granted).toEqual([0x11, 0x11, 0x00]);
    const pub = await publisher(h);
    await publish(pub, 'c/b', 'exact still', { qos: 0 });
    await publish(pub, 'c/x', 'wildcard gone', { qos: 0 });
    expect(messages(await sub.drain()).map((m) => m.payload)).toEqual(['exact still']);
  });

  it('[MQTT-3.10.4-2] a shared subscription removed: the other member of the group gets every message', async () => {
    const h = harness();
    const a = await h.connected({ clientId: 'member-a', version: 5 });
    const b = await h.connected({ clientId: 'member-b', version: 5 });
    await subscribe(a, { topic: '$share/g/s/t', qos: 0 });
    await subscribe(b, { topic: '$share/g/s/t', qos: 0 });
    expect((await unsubscribe(a, '$share/g/s/t')).granted).toEqual([0]);
    const pub = await publisher(h);
    for (const n of [1, 2, 3, 4]) await publish(pub, 's/t', `m${n}`);
    expect(await a.drain()).toEqual([]);
    expect(messages(await b.drain()).map((m) => m.payload)).toEqual(['m1', 'm2', 'm3', 'm4']);
  });

  it('[MQTT-3.10.4-3] a QoS 2 delivery already started completes after the unsubscribe', async () => {
    const h = harness();
    const sub = await h.connected({ clientId: 'sub', version: 5 });
    await subscribe(sub, { topic: 'q2/t', qos: 2 });
    const pub = await publisher(h);
    await publish(pub, 'q2/t', 'in flight', { qos: 2 });
    const message = await sub.expect('publish');
    await unsubscribe(sub, 'q2/t');
    sub.deliver({ cmd: 'pubrec', messageId: message.messageId });
    const pubrel = await sub.expect('pubrel');
    expect(pubrel.messageId).toBe(message.messageId);
    sub.deliver({ cmd: 'pubcomp', messageId: message.messageId });
    expect(await sub.drain()).toEqual([]);
    expect(h.session('sub')?.inflightCount).toBe(0);
  });

  it('a subscription kept in a resumed session can be removed, and the filter subscribed again', async () => {
    const h = harness();
    const first = await h.connected({ clientId: 'sub', version: 4, clean: false });
    await subscribe(first, { topic: 'r/t', qos: 1 });
    first.drop();
    const second = await h.connected({ clientId: 'sub', version: 4, clean: false });
    await unsubscribe(second, 'r/t');
    const pub = await publisher(h);
    await publish(pub, 'r/t', 'after unsubscribe', { qos: 1 });
    expect(await second.drain()).toEqual([]);
    expect((await subscribe(second, { topic: 'r/t', qos: 1 })).granted).toEqual([1]);
    await publish(pub, 'r/t', 'after resubscribe', { qos: 1 });
    expect(messages(await second.drain()).map((m) => m.payload)).toEqual(['after resubscribe']);
  });
});
