/**
 * SUBSCRIBE (protocols/mqtt/handlers/subscribe.ts): one SUBACK code per filter in order, refusals per filter,
 * limits, protocol errors, retained messages after the SUBACK as Retain Handling says, authorization.
 */
import type { IPublishPacket, ISubackPacket } from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import type { Authorizer } from '../../../../src/core/types.js';
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

async function retain(h: MqttHarness, topic: string, payload: string, qos: 0 | 1 | 2 = 1): Promise<void> {
  const pub = await h.connected({ clientId: `retainer-${topic}`, version: 5 });
  await publish(pub, topic, payload, { qos, retain: true });
}

const publishes = (packets: { cmd: string }[]) => packets.filter((p): p is IPublishPacket => p.cmd === 'publish');

describe('SUBACK', () => {
  it.each([4, 5] as const)('[MQTT-3.8.4-1] [MQTT-3.8.4-2] [MQTT-3.8.4-6] one SUBACK, same packet id, one code per filter in order (v%i)', async (version) => {
    const h = harness();
    const sub = await h.connected({ clientId: 'sub', version });
    const suback = await subscribe(
      sub,
      [
        { topic: 'order/2', qos: 2 },
        { topic: 'order/0', qos: 0 },
        { topic: 'order/1', qos: 1 },
        { topic: 'order/+/x', qos: 1 },
        { topic: 'order/#', qos: 0 },
      ],
      { messageId: 321 },
    );
    expect(suback.messageId).toBe(321);
    expect(suback.granted).toEqual([2, 0, 1, 1, 0]);
    expect(await sub.drain()).toEqual([]);
  });

  it.each([
    [5, '0x8F', 0x8f],
    [4, '0x80', 0x80],
  ] as const)('(v%i) invalid filters get %s while the valid ones around them are granted and work', async (version, _label, failure) => {
    const h = harness();
    const sub = await h.connected({ clientId: 'sub', version });
    const suback = await subscribe(sub, [
      { topic: 'ok/one', qos: 1 },
      { topic: 'a/#/b', qos: 0 }, // [MQTT-4.7.1-1]: # must be last
      { topic: 'ok/+', qos: 2 },
      { topic: 'a+/b', qos: 0 }, // [MQTT-4.7.1-2]: + must be a whole level
      { topic: 'x/y#', qos: 0 },
      { topic: '$share/g', qos: 0 }, // [MQTT-4.8.2-2]: a filter must follow the share name
      { topic: '$share//t', qos: 0 }, // [MQTT-4.8.2-1]: the share name is at least one character
    ]);
    expect(suback.granted).toEqual([1, failure, 2, failure, failure, failure, failure]);
    const pub = await publisher(h);
    await publish(pub, 'ok/one', 'hello', { qos: 1 });
    expect(messages(await sub.drain())).toEqual([{ topic: 'ok/one', payload: 'hello', qos: 1, retain: false }]);
  });

  it('[MQTT-3.8.4-8] (5.0) [MQTT-3.8.4-6] (3.1.1) deliveries are at the lower of the granted and the published QoS', async () => {
    const h = harness();
    const sub = await h.connected({ clientId: 'sub', version: 4 });
    expect((await subscribe(sub, [{ topic: 'qos/0', qos: 0 }, { topic: 'qos/1', qos: 1 }, { topic: 'qos/2', qos: 2 }])).granted).toEqual([0, 1, 2]);
    const pub = await publisher(h);
    await publish(pub, 'qos/0', 'a', { qos: 2 });
    await publish(pub, 'qos/1', 'b', { qos: 2 });
    await publish(pub, 'qos/2', 'c', { qos: 1 });
    await publish(pub, 'qos/2', 'd', { qos: 2 });
    expect(messages(await sub.drain()).map((m) => [m.payload, m.qos])).toEqual([
      ['a', 0],
      ['b', 1],
      ['c', 1],
      ['d', 2],
    ]);
  });

  it.each([
    ['a Maximum QoS of 3', 0x03],
    ['a Retain Handling of 3', 0x30],
  ])('(5.0 section 3.8.3.1) %s is a protocol error: DISCONNECT 0x82, no SUBACK', async (_name, options) => {
    const h = harness();
    const sub = await h.connected({ clientId: 'sub', version: 5 });
    // SUBSCRIBE id 1, no properties, filter "a", then the options byte (mqtt-packet will not write these itself)
    sub.deliverBytes([0x82, 0x07, 0x00, 0x01, 0x00, 0x00, 0x01, 0x61, options]);
    const disconnect = await sub.expect('disconnect');
    expect(disconnect.reasonCode).toBe(0x82);
    await sub.waitGone();
  });

  it('[MQTT-3.8.3-2] (5.0) a SUBSCRIBE without any filter is a protocol error: DISCONNECT 0x82, no SUBACK', async () => {
    const h = harness();
    const sub = await h.connected({ clientId: 'sub', version: 5 });
    // SUBSCRIBE id 1, empty properties, no payload
    sub.deliverBytes([0x82, 0x03, 0x00, 0x01, 0x00]);
    const reply = await sub.next();
    expect(reply.cmd).toBe('disconnect');
    expect((reply as { reasonCode?: number }).reasonCode).toBe(0x82);
    await sub.waitGone();
  });

  it('[MQTT-3.8.3-3] (3.1.1) a SUBSCRIBE without any filter is a protocol violation: closed, no SUBACK', async () => {
    const h = harness();
    const sub = await h.connected({ clientId: 'sub', version: 4 });
    sub.deliverBytes([0x82, 0x02, 0x00, 0x01]);
    await sub.drain();
    expect(sub.packets.filter((p) => p.cmd === 'suback')).toEqual([]);
    await sub.waitGone();
    expect(sub.closedByModule).toBe(true);
  });

  it('[MQTT-3-8.3-4] (3.1.1) a requested QoS of 3 is malformed: the connection is closed, no SUBACK', async () => {
    const h = harness();
    const sub = await h.connected({ clientId: 'sub', version: 4 });
    sub.deliverBytes([0x82, 0x06, 0x00, 0x01, 0x00, 0x01, 0x61, 0x03]);
    await sub.waitGone();
    expect(sub.closedByModule).toBe(true);
    expect(sub.unread).toEqual([]);
  });

  it('[MQTT-3.8.4-3] subscribing again to the same filter replaces the subscription (new QoS), without a second copy', async () => {
    const h = harness();
    const sub = await h.connected({ clientId: 'sub', version: 5 });
    await subscribe(sub, { topic: 'again/t', qos: 0 });
    await subscribe(sub, { topic: 'again/t', qos: 1 });
    const pub = await publisher(h);
    await publish(pub, 'again/t', 'x', { qos: 1 });
    expect(messages(await sub.drain())).toEqual([{ topic: 'again/t', payload: 'x', qos: 1, retain: false }]);
  });
});

describe('limits', () => {
  it.each([
    [5, '0x97', 0x97],
    [4, '0x80', 0x80],
  ] as const)('(v%i) past mqtt.maxSubscriptions a new filter gets %s; renewing one still works; unsubscribing frees a slot', async (version, _label, failure) => {
    const h = harness({ mqtt: { maxSubscriptions: 2 } });
    const sub = await h.connected({ clientId: 'sub', version });
    expect((await subscribe(sub, [{ topic: 'l/1', qos: 1 }, { topic: 'l/2', qos: 1 }, { topic: 'l/3', qos: 1 }])).granted).toEqual([1, 1, failure]);
    expect((await subscribe(sub, { topic: 'l/2', qos: 2 })).granted).toEqual([2]);
    expect((await subscribe(sub, { topic: 'l/4', qos: 0 })).granted).toEqual([failure]);
    await unsubscribe(sub, 'l/1');
    expect((await subscribe(sub, { topic: 'l/4', qos: 0 })).granted).toEqual([0]);
    // The refused filter really was not subscribed.
    const pub = await publisher(h);
    await publish(pub, 'l/3', 'no', { qos: 1 });
    await publish(pub, 'l/4', 'yes', { qos: 1 });
    expect(messages(await sub.drain()).map((m) => m.topic)).toEqual(['l/4']);
  });
});

describe('protocol errors (5.0)', () => {
  it('[MQTT-3.8.3-4] No Local on a shared subscription: DISCONNECT 0x82, no SUBACK', async () => {
    const h = harness();
    const sub = await h.connected({ clientId: 'sub', version: 5 });
    sub.deliver({ cmd: 'subscribe', messageId: 5, subscriptions: [{ topic: '$share/g/t', qos: 1, nl: true, rap: false, rh: 0 }] });
    const disconnect = await sub.expect('disconnect');
    expect(disconnect.reasonCode).toBe(0x82);
    await sub.waitGone();
  });

  it('(5.0 section 3.8.2.1.2) a Subscription Identifier of 0: DISCONNECT 0x82, no SUBACK', async () => {
    const h = harness();
    const sub = await h.connected({ clientId: 'sub', version: 5 });
    sub.deliver({ cmd: 'subscribe', messageId: 6, properties: { subscriptionIdentifier: 0 }, subscriptions: [{ topic: 'id/t', qos: 0, nl: false, rap: false, rh: 0 }] });
    const disconnect = await sub.expect('disconnect');
    expect(disconnect.reasonCode).toBe(0x82);
    await sub.waitGone();
  });

  it('[MQTT-3.3.4-3] a valid Subscription Identifier comes back on the messages the subscription delivers', async () => {
    const h = harness();
    const sub = await h.connected({ clientId: 'sub', version: 5 });
    await subscribe(sub, { topic: 'id/+', qos: 0 }, { properties: { subscriptionIdentifier: 42 } });
    const pub = await publisher(h);
    await publish(pub, 'id/t', 'x');
    const [message] = publishes(await sub.drain());
    expect(message?.properties?.subscriptionIdentifier).toEqual(42);
  });
});

describe('retained messages', () => {
  it.each([4, 5] as const)('[MQTT-3.3.1-8] (3.1.1) [MQTT-3.3.1-9] (5.0) follow the SUBACK with RETAIN set, at the lower QoS (v%i)', async (version) => {
    const h = harness();
    await retain(h, 'r/a', 'kept-a', 2);
    await retain(h, 'r/b', 'kept-b', 0);
    const sub = await h.connected({ clientId: 'sub', version });
    sub.deliver({
      cmd: 'subscribe',
      messageId: 9,
      subscriptions: [version === 5 ? { topic: 'r/+', qos: 1, nl: false, rap: false, rh: 0 } : { topic: 'r/+', qos: 1 }],
    });
    const packets = await sub.drain();
    expect(packets[0]?.cmd).toBe('suback');
    expect(
      messages(packets)
        .map((m) => [m.topic, m.payload, m.qos, m.retain])
        .sort(),
    ).toEqual([
      ['r/a', 'kept-a', 1, true],
      ['r/b', 'kept-b', 0, true],
    ]);
  });

  it('[MQTT-3.3.1-9] (3.1.1) [MQTT-3.3.1-12] (5.0) a live delivery has RETAIN 0, even when published retained', async () => {
    const h = harness();
    const sub4 = await h.connected({ clientId: 'sub4', version: 4 });
    const sub5 = await h.connected({ clientId: 'sub5', version: 5 });
    await subscribe(sub4, { topic: 'live/t', qos: 0 });
    await subscribe(sub5, { topic: 'live/t', qos: 0 });
    await retain(h, 'live/t', 'now', 0);
    expect(messages(await sub4.drain())).toEqual([{ topic: 'live/t', payload: 'now', qos: 0, retain: false }]);
    expect(messages(await sub5.drain())).toEqual([{ topic: 'live/t', payload: 'now', qos: 0, retain: false }]);
  });

  it('[MQTT-3.3.1-13] (5.0) Retain As Published keeps RETAIN on live deliveries', async () => {
    const h = harness();
    const sub = await h.connected({ clientId: 'sub', version: 5 });
    await subscribe(sub, { topic: 'rap/t', qos: 0, rap: true });
    await retain(h, 'rap/t', 'now', 0);
    expect(messages(await sub.drain())).toEqual([{ topic: 'rap/t', payload: 'now', qos: 0, retain: true }]);
  });

  it('[MQTT-3.8.4-4] (5.0) Retain Handling 0 sends them again when the subscription is renewed', async () => {
    const h = harness();
    await retain(h, 'rh0/t', 'kept');
    const sub = await h.connected({ clientId: 'sub', version: 5 });
    await subscribe(sub, { topic: 'rh0/t', qos: 1, rh: 0 });
    expect(messages(await sub.drain()).map((m) => m.payload)).toEqual(['kept']);
    await subscribe(sub, { topic: 'rh0/t', qos: 1, rh: 0 });
    expect(messages(await sub.drain()).map((m) => m.payload)).toEqual(['kept']);
  });

  it('[MQTT-3.3.1-10] (5.0) Retain Handling 1 sends them for a new subscription only', async () => {
    const h = harness();
    await retain(h, 'rh1/t', 'kept', 0);
    const sub = await h.connected({ clientId: 'sub', version: 5 });
    await subscribe(sub, { topic: 'rh1/t', qos: 1, rh: 1 });
    expect(messages(await sub.drain())).toEqual([{ topic: 'rh1/t', payload: 'kept', qos: 0, retain: true }]);
    await subscribe(sub, { topic: 'rh1/t', qos: 1, rh: 1 });
    expect(await sub.drain()).toEqual([]);
    // Another session's subscription on the same filter is new for that session.
    const other = await h.connected({ clientId: 'other', version: 5 });
    await subscribe(other, { topic: 'rh1/t', qos: 1, rh: 1 });
    expect(messages(await other.drain()).map((m) => m.payload)).toEqual(['kept']);
  });

  it('[MQTT-3.3.1-11] (5.0) Retain Handling 2 never sends them', async () => {
    const h = harness();
    await retain(h, 'rh2/t', 'kept');
    const sub = await h.connected({ clientId: 'sub', version: 5 });
    await subscribe(sub, { topic: 'rh2/t', qos: 1, rh: 2 });
    expect(await sub.drain()).toEqual([]);
    // Live messages still arrive.
    const pub = await publisher(h);
    await publish(pub, 'rh2/t', 'live');
    expect(messages(await sub.drain()).map((m) => m.payload)).toEqual(['live']);
  });

  it('[MQTT-3.3.4-9] retained messages after the SUBACK respect the client\'s Receive Maximum', async () => {
    const h = harness();
    for (const n of [1, 2, 3, 4, 5]) await retain(h, `many/${n}`, `m${n}`, 1);
    const sub = await h.connected({ clientId: 'sub', version: 5, properties: { receiveMaximum: 2 } });
    await subscribe(sub, { topic: 'many/+', qos: 1 });
    let inFlight = publishes(await sub.drain());
    const seen: string[] = [];
    while (inFlight.length > 0) {
      expect(inFlight.length).toBeLessThanOrEqual(2);
      for (const message of inFlight) {
        seen.push(message.payload.toString());
        sub.deliver({ cmd: 'puback', messageId: message.messageId });
      }
      inFlight = publishes(await sub.drain());
    }
    expect(seen.sort()).toEqual(['m1', 'm2', 'm3', 'm4', 'm5']);
  });

  it('[MQTT-3.3.1-6] [MQTT-3.3.1-7] an empty retained PUBLISH is delivered to current subscribers and clears the retained message', async () => {
    const h = harness();
    await retain(h, 'clear/t', 'kept');
    const sub = await h.connected({ clientId: 'sub', version: 5 });
    await subscribe(sub, { topic: 'clear/t', qos: 1 });
    expect(messages(await sub.drain()).map((m) => m.payload)).toEqual(['kept']);
    await retain(h, 'clear/t', '', 1);
    expect(messages(await sub.drain()).map((m) => m.payload)).toEqual(['']);
    const late = await h.connected({ clientId: 'late', version: 5 });
    await subscribe(late, { topic: 'clear/t', qos: 1 });
    expect(await late.drain()).toEqual([]);
  });

  it('[MQTT-3.3.1-8] (5.0) a PUBLISH without RETAIN neither stores nor replaces the retained message', async () => {
    const h = harness();
    await retain(h, 'keep/t', 'kept');
    const pub = await publisher(h);
    await publish(pub, 'keep/t', 'not retained', { qos: 1 });
    await publish(pub, 'keep/u', 'not retained', { qos: 1 });
    const sub = await h.connected({ clientId: 'sub', version: 5 });
    await subscribe(sub, { topic: 'keep/+', qos: 1 });
    expect(messages(await sub.drain()).map((m) => [m.topic, m.payload])).toEqual([['keep/t', 'kept']]);
  });

  it('(5.0 section 4.8.2) a shared subscription gets no retained messages, but does get live ones', async () => {
    const h = harness();
    await retain(h, 'shared/t', 'kept');
    const sub = await h.connected({ clientId: 'sub', version: 5 });
    expect((await subscribe(sub, { topic: '$share/g/shared/+', qos: 1 })).granted).toEqual([1]);
    expect(await sub.drain()).toEqual([]);
    const pub = await publisher(h);
    await publish(pub, 'shared/t', 'live', { qos: 1 });
    expect(messages(await sub.drain())).toEqual([{ topic: 'shared/t', payload: 'live', qos: 1, retain: false }]);
  });
});

describe('matching', () => {
  it('[MQTT-4.7.1-1] "#" also matches the parent level; "+" matches one level, empty ones included', async () => {
    const h = harness();
    const tail = await h.connected({ clientId: 'tail', version: 5 });
    const one = await h.connected({ clientId: 'one', version: 5 });
    await subscribe(tail, { topic: 'sport/tennis/#', qos: 0 });
    await subscribe(one, [{ topic: 'sport/+', qos: 0 }, { topic: '+/+', qos: 0 }]);
    const pub = await publisher(h);
    for (const topic of ['sport/tennis', 'sport/tennis/p1', 'sport/tennis/p1/ranking', 'sport', 'sport/', '/finance', 'sport/tennisball']) {
      await publish(pub, topic, topic);
    }
    expect(messages(await tail.drain()).map((m) => m.topic)).toEqual(['sport/tennis', 'sport/tennis/p1', 'sport/tennis/p1/ranking']);
    // 'sport/+' matches 'sport/tennis', 'sport/' and 'sport/tennisball'; '+/+' also matches '/finance'. One copy each.
    expect(messages(await one.drain()).map((m) => m.topic)).toEqual(['sport/tennis', 'sport/', '/finance', 'sport/tennisball']);
  });
});

describe('topics beginning with $', () => {
  it('[MQTT-4.7.2-1] filters starting with a wildcard do not match topics beginning with $; an explicit $ filter does', async () => {
    const h = harness();
    const wild = await h.connected({ clientId: 'wild', version: 5 });
    const dollar = await h.connected({ clientId: 'dollar', version: 5 });
    await subscribe(wild, [{ topic: '#', qos: 0 }, { topic: '+/x', qos: 0 }]);
    await subscribe(dollar, { topic: '$test/#', qos: 0 });
    const pub = await publisher(h);
    await publish(pub, '$test/x', 'dollar');
    await publish(pub, 'plain/x', 'plain');
    expect(messages(await wild.drain()).map((m) => m.topic)).toEqual(['plain/x']);
    expect(messages(await dollar.drain()).map((m) => m.topic)).toEqual(['$test/x']);
  });

  it('[MQTT-4.7.2-1] a retained message on a $ topic is not sent to a "#" subscription', async () => {
    const h = harness();
    await retain(h, '$test/kept', 'dollar');
    await retain(h, 'plain/kept', 'plain');
    const sub = await h.connected({ clientId: 'sub', version: 5 });
    await subscribe(sub, { topic: '#', qos: 1 });
    expect(messages(await sub.drain()).map((m) => m.topic)).toEqual(['plain/kept']);
  });
});

describe('authorization refusal', () => {
  const denySecret: Authorizer = {
    authorize: (_session, action, pattern) => !(action === 'subscribe' && pattern[0] === 'secret'),
  };

  it.each([
    [5, '0x87', 0x87],
    [4, '0x80', 0x80],
  ] as const)('(v%i) a refused filter gets %s; the others are granted', async (version, _label, failure) => {
    const h = harness({ authorizer: denySecret });
    const sub = await h.connected({ clientId: 'sub', version });
    const suback: ISubackPacket = await subscribe(sub, [
      { topic: 'open/t', qos: 1 },
      { topic: 'secret/#', qos: 1 },
      { topic: '$share/g/secret/t', qos: 0 },
      { topic: 'open/u', qos: 0 },
    ]);
    expect(suback.granted).toEqual([1, failure, failure, 0]);
    expect(sub.gone).toBe(false);
    const pub = await publisher(h);
    await publish(pub, 'secret/t', 'hidden', { qos: 1 });
    await publish(pub, 'open/t', 'shown', { qos: 1 });
    expect(messages(await sub.drain()).map((m) => m.payload)).toEqual(['shown']);
  });
});
