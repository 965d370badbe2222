/**
 * PUBLISH from a client and its acknowledgements (protocols/mqtt/handlers/publish.ts): QoS 1 and 2 flows,
 * exactly-once for QoS 2, topic aliases, topic name checks, Receive Maximum, authorization refusals.
 */
import type { IPublishPacket } from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import type { Authorizer } from '../../../../src/core/types.js';
import {
  messages,
  mqttHarness,
  publish,
  publishPacket,
  subscribe,
  type FakeConnection,
  type MqttHarness,
  type MqttVersion,
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

/** A connected client subscribed to `filter` at QoS 2 (so it sees every QoS as published). */
async function listener(h: MqttHarness, filter: string, version: MqttVersion = 5): Promise<FakeConnection> {
  const fake = await h.connected({ clientId: `listener-${filter}`, version });
  await subscribe(fake, { topic: filter, qos: 2 });
  return fake;
}

/** The PUBLISH packets a listener received, acknowledging QoS 1/2 ones so its window never fills. */
async function received(fake: FakeConnection): Promise<IPublishPacket[]> {
  const packets = (await fake.drain()).filter((p): p is IPublishPacket => p.cmd === 'publish');
  for (const packet of packets) {
    if (packet.qos === 1) fake.deliver({ cmd: 'puback', messageId: packet.messageId });
    if (packet.qos === 2) fake.deliver({ cmd: 'pubrec', messageId: packet.messageId });
  }
  return packets;
}

const denyPublishUnderSecret: Authorizer = {
  authorize: (_session, action, pattern) => !(action === 'publish' && pattern[0] === 'secret'),
};

describe('QoS 0 and 1', () => {
  it.each([4, 5] as const)('QoS 0 is routed and not acknowledged (v%i)', async (version) => {
    const h = harness();
    const sub = await listener(h, 'q0/#');
    const pub = await h.connected({ clientId: 'pub', version });
    pub.deliver(publishPacket('q0/a', 'zero'));
    expect(messages(await received(sub))).toEqual([{ topic: 'q0/a', payload: 'zero', qos: 0, retain: false }]);
    expect(await pub.drain()).toEqual([]);
  });

  it.each([4, 5] as const)('[MQTT-4.3.2-4] QoS 1 gets PUBACK with the packet id and reason 0x00 (v%i)', async (version) => {
    const h = harness();
    const sub = await listener(h, 'q1/#');
    const pub = await h.connected({ clientId: 'pub', version });
    pub.deliver(publishPacket('q1/a', 'one', { qos: 1, messageId: 7 }));
    const puback = await pub.expect('puback');
    expect(puback.messageId).toBe(7);
    expect(puback.reasonCode ?? 0).toBe(0);
    expect(messages(await received(sub))).toEqual([{ topic: 'q1/a', payload: 'one', qos: 1, retain: false }]);
  });

  it('[MQTT-4.3.2-5] a QoS 1 PUBLISH reusing an acknowledged packet id is a new message, even with DUP set', async () => {
    const h = harness();
    const sub = await listener(h, 'q1/#');
    const pub = await h.connected({ clientId: 'pub', version: 5 });
    pub.deliver(publishPacket('q1/a', 'first', { qos: 1, messageId: 3 }));
    await pub.expect('puback');
    pub.deliver(publishPacket('q1/a', 'second', { qos: 1, messageId: 3, dup: true }));
    await pub.expect('puback');
    expect(messages(await received(sub)).map((m) => m.payload)).toEqual(['first', 'second']);
  });

  it('[MQTT-3.3.1-3] the DUP flag of what the router forwards does not copy the incoming one', async () => {
    const h = harness();
    const sub = await listener(h, 'dup/#');
    const pub = await h.connected({ clientId: 'pub', version: 4 });
    pub.deliver(publishPacket('dup/a', 'x', { qos: 1, messageId: 5, dup: true }));
    await pub.expect('puback');
    const [message] = await received(sub);
    expect(message?.dup).toBe(false);
  });
});

describe('QoS 2', () => {
  it.each([4, 5] as const)('[MQTT-4.3.3-8] [MQTT-4.3.3-11] PUBREC, then PUBREL gets PUBCOMP 0x00, with the same packet id (v%i)', async (version) => {
    const h = harness();
    const sub = await listener(h, 'q2/#');
    const pub = await h.connected({ clientId: 'pub', version });
    pub.deliver(publishPacket('q2/a', 'two', { qos: 2, messageId: 11 }));
    const pubrec = await pub.expect('pubrec');
    expect(pubrec.messageId).toBe(11);
    expect(pubrec.reasonCode ?? 0).toBe(0);
    // Routed on PUBLISH, before PUBREL.
    expect(messages(await received(sub))).toEqual([{ topic: 'q2/a', payload: 'two', qos: 2, retain: false }]);
    pub.deliver({ cmd: 'pubrel', messageId: 11 });
    const pubcomp = await pub.expect('pubcomp');
    expect(pubcomp.messageId).toBe(11);
    expect(pubcomp.reasonCode ?? 0).toBe(0);
    expect(await received(sub)).toEqual([]);
  });

  it.each([4, 5] as const)('[MQTT-4.3.3-10] a resent QoS 2 PUBLISH before PUBREL gets PUBREC again and is routed once (v%i)', async (version) => {
    const h = harness();
    const sub = await listener(h, 'q2/#');
    const pub = await h.connected({ clientId: 'pub', version });
    pub.deliver(publishPacket('q2/a', 'once', { qos: 2, messageId: 12 }));
    expect((await pub.expect('pubrec')).messageId).toBe(12);
    pub.deliver(publishPacket('q2/a', 'once', { qos: 2, messageId: 12, dup: true }));
    expect((await pub.expect('pubrec')).messageId).toBe(12);
    pub.deliver(publishPacket('q2/a', 'once', { qos: 2, messageId: 12, dup: true }));
    expect((await pub.expect('pubrec')).messageId).toBe(12);
    expect(messages(await received(sub)).map((m) => m.payload)).toEqual(['once']);
    pub.deliver({ cmd: 'pubrel', messageId: 12 });
    expect((await pub.expect('pubcomp')).messageId).toBe(12);
  });

  it('[MQTT-4.3.3-12] after PUBCOMP the same packet id is a new message', async () => {
    const h = harness();
    const sub = await listener(h, 'q2/#');
    const pub = await h.connected({ clientId: 'pub', version: 5 });
    await publish(pub, 'q2/a', 'first', { qos: 2, messageId: 13 });
    await publish(pub, 'q2/a', 'second', { qos: 2, messageId: 13 });
    expect(messages(await received(sub)).map((m) => m.payload)).toEqual(['first', 'second']);
  });

  it('[MQTT-4.3.3-10] [MQTT-4.4.0-1] exactly once across a reconnect: the resent PUBLISH is not routed again, the PUBREL completes', async () => {
    const h = harness();
    const sub = await listener(h, 'q2/#');
    const properties = { sessionExpiryInterval: 60 };
    const first = await h.connected({ clientId: 'pub', version: 5, clean: false, properties });
    first.deliver(publishPacket('q2/a', 'across', { qos: 2, messageId: 21 }));
    await first.expect('pubrec');
    first.drop();
    const { fake: second, connack } = await h.connect({ clientId: 'pub', version: 5, clean: false, properties });
    expect(connack.sessionPresent).toBe(true);
    second.deliver(publishPacket('q2/a', 'across', { qos: 2, messageId: 21, dup: true }));
    expect((await second.expect('pubrec')).messageId).toBe(21);
    second.deliver({ cmd: 'pubrel', messageId: 21 });
    const pubcomp = await second.expect('pubcomp');
    expect(pubcomp.reasonCode ?? 0).toBe(0);
    expect(messages(await received(sub)).map((m) => m.payload)).toEqual(['across']);
  });

  it('[MQTT-4.3.3-11] (5.0) PUBREL for an unknown packet id gets PUBCOMP 0x92 (packet identifier not found)', async () => {
    const h = harness();
    const pub = await h.connected({ clientId: 'pub', version: 5 });
    pub.deliver({ cmd: 'pubrel', messageId: 99 });
    const pubcomp = await pub.expect('pubcomp');
    expect(pubcomp.messageId).toBe(99);
    expect(pubcomp.reasonCode).toBe(0x92);
    // A second PUBREL for a completed flow is unknown too.
    await publish(pub, 'q2/a', 'x', { qos: 2, messageId: 5 });
    pub.deliver({ cmd: 'pubrel', messageId: 5 });
    expect((await pub.expect('pubcomp')).reasonCode).toBe(0x92);
    expect(pub.gone).toBe(false);
  });

  it('[MQTT-4.3.3-11] (3.1.1) PUBREL for an unknown packet id still gets PUBCOMP', async () => {
    const h = harness();
    const pub = await h.connected({ clientId: 'pub', version: 4 });
    pub.deliver({ cmd: 'pubrel', messageId: 99 });
    expect((await pub.expect('pubcomp')).messageId).toBe(99);
    expect(pub.gone).toBe(false);
  });
});

describe('topic aliases (5.0)', () => {
  it('[MQTT-3.3.2-12] an alias set with a topic is used by a later PUBLISH with an empty topic', async () => {
    const h = harness();
    const sub = await listener(h, 'alias/#');
    const pub = await h.connected({ clientId: 'pub', version: 5 });
    pub.deliver(publishPacket('alias/one', 'set', { properties: { topicAlias: 1 } }));
    pub.deliver(publishPacket('', 'used', { properties: { topicAlias: 1 } }));
    // Setting the alias again with another topic remaps it.
    pub.deliver(publishPacket('alias/two', 'reset', { properties: { topicAlias: 1 } }));
    pub.deliver(publishPacket('', 'used again', { properties: { topicAlias: 1 } }));
    expect(messages(await received(sub)).map((m) => [m.topic, m.payload])).toEqual([
      ['alias/one', 'set'],
      ['alias/one', 'used'],
      ['alias/two', 'reset'],
      ['alias/two', 'used again'],
    ]);
    expect(pub.gone).toBe(false);
  });

  it('an alias that was never set is a protocol error: DISCONNECT 0x82', async () => {
    const h = harness();
    const sub = await listener(h, '#');
    const pub = await h.connected({ clientId: 'pub', version: 5 });
    pub.deliver(publishPacket('', 'lost', { properties: { topicAlias: 2 } }));
    expect((await pub.expect('disconnect')).reasonCode).toBe(0x82);
    await pub.waitGone();
    expect(await received(sub)).toEqual([]);
  });

  it.each([
    ['[MQTT-3.3.2-8] alias 0', 0],
    ['[MQTT-3.3.2-9] an alias above the Topic Alias Maximum (10)', 11],
  ])('%s gets DISCONNECT 0x94 (topic alias invalid)', async (_name, alias) => {
    const h = harness();
    const pub = await h.connected({ clientId: 'pub', version: 5 });
    pub.deliver(publishPacket('alias/x', 'x', { properties: { topicAlias: alias } }));
    expect((await pub.expect('disconnect')).reasonCode).toBe(0x94);
    await pub.waitGone();
  });

  it('[MQTT-3.3.2-9] with mqtt.topicAliasMaximum 0 any alias gets DISCONNECT 0x94', async () => {
    const h = harness({ mqtt: { topicAliasMaximum: 0 } });
    const { fake: pub, connack } = await h.connect({ clientId: 'pub', version: 5 });
    expect(connack.properties?.topicAliasMaximum ?? 0).toBe(0);
    pub.deliver(publishPacket('alias/x', 'x', { properties: { topicAlias: 1 } }));
    expect((await pub.expect('disconnect')).reasonCode).toBe(0x94);
  });

  it('[MQTT-3.3.2-7] aliases do not carry over to the next network connection of the same session', async () => {
    const h = harness();
    const properties = { sessionExpiryInterval: 60 };
    const first = await h.connected({ clientId: 'pub', version: 5, clean: false, properties });
    first.deliver(publishPacket('alias/one', 'set', { properties: { topicAlias: 1 } }));
    first.drop();
    const second = await h.connected({ clientId: 'pub', version: 5, clean: false, properties });
    second.deliver(publishPacket('', 'stale', { properties: { topicAlias: 1 } }));
    expect((await second.expect('disconnect')).reasonCode).toBe(0x82);
  });

  it('(5.0 section 3.3.2.1) an empty topic without an alias is a protocol error: DISCONNECT 0x82', async () => {
    const h = harness();
    const pub = await h.connected({ clientId: 'pub', version: 5 });
    pub.deliver(publishPacket('', 'nowhere'));
    expect((await pub.expect('disconnect')).reasonCode).toBe(0x82);
    await pub.waitGone();
  });
});

describe('topic names', () => {
  it.each(['a/+', 'a/#', '+', 'a/b#', 'a+/b'])('[MQTT-3.3.2-2] (5.0) "%s" has a wildcard: DISCONNECT 0x90, not routed', async (topic) => {
    const h = harness();
    const sub = await listener(h, '#');
    const pub = await h.connected({ clientId: 'pub', version: 5 });
    pub.deliver(publishPacket(topic, 'wild', { qos: 1, messageId: 1 }));
    const disconnect = await pub.expect('disconnect');
    expect(disconnect.reasonCode).toBe(0x90);
    await pub.waitGone();
    expect(await received(sub)).toEqual([]);
  });

  it('[MQTT-3.3.2-2] (3.1.1) a wildcard in the topic name closes the connection without an acknowledgement', async () => {
    const h = harness();
    const pub = await h.connected({ clientId: 'pub', version: 4 });
    pub.deliver(publishPacket('a/+/c', 'wild', { qos: 1, messageId: 1 }));
    await pub.waitGone();
    expect(pub.closedByModule).toBe(true);
    expect(pub.unread).toEqual([]);
  });
});

describe('Receive Maximum', () => {
  it('the CONNACK announces mqtt.maxInflight as Receive Maximum', async () => {
    const h = harness({ mqtt: { maxInflight: 2 } });
    const { connack } = await h.connect({ clientId: 'pub', version: 5 });
    expect(connack.properties?.receiveMaximum).toBe(2);
  });

  it('(5.0 section 3.3.4) more QoS 2 messages awaiting PUBREL than Receive Maximum: DISCONNECT 0x93', async () => {
    const h = harness({ mqtt: { maxInflight: 2 } });
    const pub = await h.connected({ clientId: 'pub', version: 5 });
    pub.deliver(publishPacket('rm/a', '1', { qos: 2, messageId: 1 }));
    pub.deliver(publishPacket('rm/a', '2', { qos: 2, messageId: 2 }));
    expect((await pub.expect('pubrec')).messageId).toBe(1);
    expect((await pub.expect('pubrec')).messageId).toBe(2);
    // Releasing one makes room again.
    pub.deliver({ cmd: 'pubrel', messageId: 1 });
    await pub.expect('pubcomp');
    pub.deliver(publishPacket('rm/a', '3', { qos: 2, messageId: 3 }));
    expect((await pub.expect('pubrec')).messageId).toBe(3);
    // A resend of one still in flight is not a new one.
    pub.deliver(publishPacket('rm/a', '2', { qos: 2, messageId: 2, dup: true }));
    expect((await pub.expect('pubrec')).messageId).toBe(2);
    pub.deliver(publishPacket('rm/a', '4', { qos: 2, messageId: 4 }));
    expect((await pub.expect('disconnect')).reasonCode).toBe(0x93);
    await pub.waitGone();
  });
});

describe('authorization refusal', () => {
  it('(5.0) a refused QoS 1 PUBLISH gets PUBACK 0x87 and is not routed; the connection stays', async () => {
    const h = harness({ authorizer: denyPublishUnderSecret });
    const sub = await listener(h, '#');
    const pub = await h.connected({ clientId: 'pub', version: 5 });
    pub.deliver(publishPacket('secret/a', 'no', { qos: 1, messageId: 4 }));
    const puback = await pub.expect('puback');
    expect(puback.messageId).toBe(4);
    expect(puback.reasonCode).toBe(0x87);
    expect(await received(sub)).toEqual([]);
    expect(pub.gone).toBe(false);
    // Allowed topics still go through.
    await publish(pub, 'open/a', 'yes', { qos: 1 });
    expect(messages(await received(sub)).map((m) => m.topic)).toEqual(['open/a']);
  });

  it('[MQTT-4.3.3-9] (5.0) a refused QoS 2 PUBLISH gets PUBREC 0x87; the same id is then a new message', async () => {
    const h = harness({ authorizer: denyPublishUnderSecret });
    const sub = await listener(h, '#');
    const pub = await h.connected({ clientId: 'pub', version: 5 });
    pub.deliver(publishPacket('secret/a', 'no', { qos: 2, messageId: 8 }));
    const pubrec = await pub.expect('pubrec');
    expect(pubrec.messageId).toBe(8);
    expect(pubrec.reasonCode).toBe(0x87);
    // The flow ended with the failure PUBREC: packet id 8 is free for a new message.
    pub.deliver(publishPacket('open/a', 'yes', { qos: 2, messageId: 8 }));
    expect((await pub.expect('pubrec')).reasonCode ?? 0).toBe(0);
    expect(messages(await received(sub)).map((m) => m.topic)).toEqual(['open/a']);
  });

  it('(3.1.1) a refused QoS 1 PUBLISH is still acknowledged with PUBACK, and not routed', async () => {
    const h = harness({ authorizer: denyPublishUnderSecret });
    const sub = await listener(h, '#', 4);
    const pub = await h.connected({ clientId: 'pub', version: 4 });
    pub.deliver(publishPacket('secret/a', 'no', { qos: 1, messageId: 4 }));
    expect((await pub.expect('puback')).messageId).toBe(4);
    expect(await received(sub)).toEqual([]);
    expect(pub.gone).toBe(false);
  });

  it('(3.1.1) a refused QoS 2 PUBLISH is still acknowledged with PUBREC, and PUBREL with PUBCOMP', async () => {
    const h = harness({ authorizer: denyPublishUnderSecret });
    const sub = await listener(h, '#', 4);
    const pub = await h.connected({ clientId: 'pub', version: 4 });
    pub.deliver(publishPacket('secret/a', 'no', { qos: 2, messageId: 6 }));
    expect((await pub.expect('pubrec')).messageId).toBe(6);
    pub.deliver({ cmd: 'pubrel', messageId: 6 });
    expect((await pub.expect('pubcomp')).messageId).toBe(6);
    expect(await received(sub)).toEqual([]);
  });

  it('a refused QoS 0 PUBLISH is dropped silently; a refused retained one is not stored', async () => {
    const h = harness({ authorizer: denyPublishUnderSecret });
    const pub = await h.connected({ clientId: 'pub', version: 5 });
    pub.deliver(publishPacket('secret/a', 'no', { retain: true }));
    expect(await pub.drain()).toEqual([]);
    expect(pub.gone).toBe(false);
    expect(h.realm.broker.retained.matching(['secret', 'a'], 'exact')).toEqual([]);
  });
});
