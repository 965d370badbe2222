/**
 * CONNECT and the connection's life before and around it (protocols/mqtt/handlers/connect.ts and connection.ts),
 * driven through the real module on a real router with an in-memory connection. Test names carry the MQTT
 * normative statement ids; "(3.1.1)" / "(5.0)" says which spec the id is from when the two number it differently.
 */
import type { IConnackPacket, IDisconnectPacket, Packet } from 'mqtt-packet';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  connackCode,
  connectPacket,
  encode,
  jwtTokens,
  messages,
  mqttHarness,
  publish,
  publishPacket,
  subscribe,
  type MqttHarness,
} from '../../../helpers/fake-connection.js';
import { hs256, SECRET } from '../../../helpers/tokens.js';

let h: MqttHarness | undefined;

afterEach(async () => {
  await h?.close();
  h = undefined;
  vi.useRealTimers();
});

function harness(options: Parameters<typeof mqttHarness>[0] = {}): MqttHarness {
  h = mqttHarness(options);
  return h;
}

const acceptingConnacks = (packets: Packet[]) => packets.filter((p) => p.cmd === 'connack' && connackCode(p) === 0);

describe('the first packet', () => {
  it.each([4, 5] as const)('[MQTT-3.1.0-1] a PUBLISH before CONNECT closes the connection without a reply (v%i)', async (version) => {
    const h = harness();
    const fake = h.open({ version });
    fake.deliver(publishPacket('a/b', 'x'));
    await fake.waitGone();
    expect(fake.closedByModule).toBe(true);
    // Nothing at all: no CONNACK, and no DISCONNECT before a CONNACK [MQTT-3.14.0-1].
    expect(fake.packets).toEqual([]);
  });

  it.each(['pingreq', 'subscribe', 'disconnect'] as const)('[MQTT-3.1.0-1] %s as the first packet closes the connection', async (cmd) => {
    const h = harness();
    const fake = h.open({ version: 4 });
    const packet = cmd === 'subscribe' ? { cmd, messageId: 1, subscriptions: [{ topic: 'a', qos: 0 }] } : { cmd };
    fake.deliver(packet);
    await fake.waitGone();
    expect(fake.closedByModule).toBe(true);
    expect(fake.packets).toEqual([]);
    expect(h.module.hub.sessions.size).toBe(0);
  });
});

describe('a second CONNECT', () => {
  it('[MQTT-3.1.0-2] after CONNACK is a protocol error: 5.0 gets DISCONNECT 0x82, then the close', async () => {
    const h = harness();
    const fake = await h.connected({ clientId: 'c2', version: 5 });
    fake.deliver(connectPacket({ clientId: 'c2', version: 5 }));
    const disconnect = await fake.expect('disconnect');
    expect(disconnect.reasonCode).toBe(0x82);
    await fake.waitGone();
    expect(fake.closedByModule).toBe(true);
  });

  it('[MQTT-3.1.0-2] after CONNACK closes a 3.1.1 connection without a reply', async () => {
    const h = harness();
    const fake = await h.connected({ clientId: 'c2', version: 4 });
    fake.deliver(connectPacket({ clientId: 'c2', version: 4 }));
    await fake.waitGone();
    expect(fake.closedByModule).toBe(true);
    expect(fake.unread).toEqual([]);
  });

  it('[MQTT-3.1.0-2] (3.1.1) a second CONNECT claiming level 5 gets no 5.0 DISCONNECT: a 3.1.1 client is never sent one', async () => {
    const h = harness();
    const fake = await h.connected({ clientId: 'c2', version: 4 });
    const sentBefore = fake.sent.length;
    fake.deliverBytes(encode(connectPacket({ clientId: 'c2', version: 5 }), 5));
    await fake.waitGone();
    expect(fake.closedByModule).toBe(true);
    // 3.1.1 has no server-to-client DISCONNECT; the connection is just closed.
    expect(fake.sent.slice(sentBefore)).toEqual([]);
  });

  it.each([4, 5] as const)('[MQTT-3.1.0-2] [MQTT-3.2.0-2] before CONNACK (same frame) closes the connection and no CONNACK accepts it (v%i)', async (version) => {
    const h = harness();
    const fake = h.open({ version });
    fake.deliverAll([connectPacket({ clientId: 'early', version }), connectPacket({ clientId: 'early', version })]);
    await fake.waitGone();
    await fake.drain();
    expect(fake.closedByModule).toBe(true);
    expect(acceptingConnacks(fake.packets)).toEqual([]);
    expect(fake.packets.filter((p) => p.cmd === 'connack').length).toBeLessThanOrEqual(1);
    expect(h.session('early')).toBeUndefined();
  });
});

describe('protocol name and level', () => {
  async function refusedWith(version: 4 | 5, protocolId: string, level: number): Promise<{ connack: IConnackPacket; gone: boolean }> {
    const h = harness();
    const fake = h.open({ version });
    fake.deliverBytes(encode({ ...connectPacket({ clientId: 'p', version: 4 }), protocolId, protocolVersion: level }, level === 5 ? 5 : 4));
    const connack = await fake.expect('connack');
    await fake.waitGone();
    return { connack, gone: fake.closedByModule };
  }

  it('[MQTT-3.1.2-1] "MQTT" with level 3 is refused with 0x01 (unacceptable protocol version) and closed', async () => {
    const { connack, gone } = await refusedWith(4, 'MQTT', 3);
    expect(connack.returnCode).toBe(0x01);
    expect(connack.sessionPresent).toBe(false);
    expect(gone).toBe(true);
  });

  it('[MQTT-3.1.2-1] "MQIsdp" with level 4 is refused with 0x01 and closed', async () => {
    const { connack, gone } = await refusedWith(4, 'MQIsdp', 4);
    expect(connack.returnCode).toBe(0x01);
    expect(gone).toBe(true);
  });

  it('[MQTT-3.1.2-1] "MQIsdp" with level 5 is refused with 5.0 CONNACK 0x84 and closed', async () => {
    const { connack, gone } = await refusedWith(5, 'MQIsdp', 5);
    expect(connack.reasonCode).toBe(0x84);
    expect(connack.sessionPresent).toBe(false);
    expect(gone).toBe(true);
  });

  it('[MQTT-3.1.2-1] "MQIsdp" with level 3 (MQTT 3.1) is accepted', async () => {
    const h = harness();
    const { fake, connack } = await h.connect({ clientId: 'old', version: 3 });
    expect(connack.returnCode).toBe(0);
    expect(fake.gone).toBe(false);
  });

  it('[MQTT-3.1.2-2] an unsupported level above 5 is answered with 5.0 CONNACK 0x84 and closed', async () => {
    const h = harness();
    const fake = h.open({ version: 5 });
    const bytes = Buffer.from(encode(connectPacket({ clientId: 'p', version: 5 }), 5));
    // fixed header (2) + name length (2) + "MQTT" (4): the level byte is at offset 8
    expect(bytes[8]).toBe(5);
    bytes[8] = 6;
    fake.deliverBytes(bytes);
    const connack = await fake.expect('connack');
    expect(connack.reasonCode).toBe(0x84);
    await fake.waitGone();
  });
});

describe('CONNECT flags', () => {
  it('[MQTT-3.1.2-22] [MQTT-3.1.4-1] (3.1.1) a password without a user name is refused: closed, never accepted', async () => {
    const h = harness();
    const fake = h.open({ version: 4 });
    // CONNECT "MQTT" 4, flags 0x42 (password, clean session), keepalive 0, client id "c", password "p"
    fake.deliverBytes([0x10, 0x10, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x42, 0x00, 0x00, 0x00, 0x01, 0x63, 0x00, 0x01, 0x70]);
    await fake.drain(10); // authentication (if it got that far) has long finished
    expect(fake.closedByModule).toBe(true);
    expect(acceptingConnacks(fake.packets)).toEqual([]);
  });

  it.each([4, 5] as const)('[MQTT-3.1.2-12] (5.0) [MQTT-3.1.2-14] (3.1.1) a Will QoS of 3 is refused: closed, never accepted (v%i)', async (version) => {
    const h = harness();
    const fake = h.open({ version });
    const bytes = Buffer.from(encode(connectPacket({ clientId: 'wq', version, will: { topic: 'will/wq', payload: 'x', qos: 2 } }), version));
    // fixed header (2) + name length (2) + "MQTT" (4) + level (1): the connect flags; Will QoS is bits 3-4
    expect(bytes[9]! & 0x18).toBe(0x10);
    bytes[9] = bytes[9]! | 0x18;
    fake.deliverBytes(bytes);
    await fake.drain(10);
    expect(fake.closedByModule).toBe(true);
    expect(acceptingConnacks(fake.packets)).toEqual([]);
    expect(h.session('wq')).toBeUndefined();
  });
});

describe('client identifier', () => {
  it('[MQTT-3.1.3-6] [MQTT-3.1.3-7] [MQTT-3.2.2-16] (5.0) an empty client id gets a unique Assigned Client Identifier in CONNACK', async () => {
    const h = harness();
    const first = await h.connect({ clientId: '', version: 5 });
    const second = await h.connect({ clientId: '', version: 5 });
    expect(connackCode(first.connack)).toBe(0);
    const a = first.connack.properties?.assignedClientIdentifier;
    const b = second.connack.properties?.assignedClientIdentifier;
    expect(typeof a).toBe('string');
    expect(a!.length).toBeGreaterThan(0);
    expect(b).not.toBe(a);
    // Processed as if the client had sent that id: the session is held under it, and neither took the other over.
    expect(h.session(a!)).toBeDefined();
    expect(h.session(b!)).toBeDefined();
    expect(first.fake.gone).toBe(false);
    expect(second.fake.gone).toBe(false);
  });

  it('[MQTT-3.1.3-6] (3.1.1) an empty client id with clean session is accepted and made unique', async () => {
    const h = harness();
    const first = await h.connect({ clientId: '', version: 4, clean: true });
    const second = await h.connect({ clientId: '', version: 4, clean: true });
    expect(first.connack.returnCode).toBe(0);
    expect(second.connack.returnCode).toBe(0);
    expect(first.fake.gone).toBe(false);
    expect(h.module.hub.sessions.size).toBe(2);
  });

  it('[MQTT-3.1.3-8] (3.1.1) an empty client id with clean session 0 is refused with 0x02 (identifier rejected) and closed', async () => {
    const h = harness();
    const { fake, connack } = await h.connect({ clientId: '', version: 4, clean: false });
    expect(connack.returnCode).toBe(0x02);
    expect(connack.sessionPresent).toBe(false);
    await fake.waitGone();
    expect(fake.closedByModule).toBe(true);
    expect(h.module.hub.sessions.size).toBe(0);
  });

  it('(5.0) an empty client id with Clean Start 0 is accepted with an assigned id', async () => {
    const h = harness();
    const { connack } = await h.connect({ clientId: '', version: 5, clean: false });
    expect(connack.reasonCode).toBe(0);
    expect(connack.sessionPresent).toBe(false);
    expect(connack.properties?.assignedClientIdentifier).toBeTruthy();
  });
});

describe('CONNECT properties (5.0)', () => {
  it.each([
    ['Receive Maximum', { receiveMaximum: 0 }],
    ['Maximum Packet Size', { maximumPacketSize: 0 }],
  ])('[MQTT-4.13.1-1] %s 0 is a protocol error: the connection is closed, never accepted', async (_name, properties) => {
    const h = harness();
    const fake = h.open({ version: 5 });
    fake.deliver(connectPacket({ clientId: 'props', version: 5, properties }));
    await fake.waitGone();
    await fake.drain();
    expect(fake.closedByModule).toBe(true);
    // A CONNACK is optional here; if one is sent it carries 0x82 (Protocol Error) [MQTT-3.2.2-7].
    for (const packet of fake.packets) {
      expect(packet.cmd).toBe('connack');
      expect(connackCode(packet as IConnackPacket)).toBe(0x82);
    }
    expect(h.session('props')).toBeUndefined();
  });
});

describe('the client\'s Maximum Packet Size (5.0)', () => {
  it('[MQTT-3.1.2-24] [MQTT-3.14.2-3] bounds the DISCONNECT the router sends: the Reason String is left out when it does not fit', async () => {
    const h = harness();
    const fake = await h.connected({ clientId: 'small', version: 5, properties: { maximumPacketSize: 20 } });
    fake.deliver(publishPacket('a/+', 'x'));
    const disconnect = await fake.expect('disconnect');
    expect(disconnect.reasonCode).toBe(0x90);
    await fake.waitGone();
    for (const bytes of fake.sent) expect(bytes.length).toBeLessThanOrEqual(20);
  });

  it('[MQTT-3.2.2-19] bounds a refusing CONNACK: the Reason String is left out when it does not fit', async () => {
    const h = harness({ anonymousAllowed: false });
    const { fake, connack } = await h.connect({ clientId: 'small', version: 5, properties: { maximumPacketSize: 16 } });
    expect(connack.reasonCode).toBe(0x87);
    await fake.waitGone();
    for (const bytes of fake.sent) expect(bytes.length).toBeLessThanOrEqual(16);
  });

  it('[MQTT-3.1.2-24] bounds the takeover DISCONNECT too', async () => {
    const h = harness();
    const older = await h.connected({ clientId: 'small', version: 5, properties: { maximumPacketSize: 16 } });
    await h.connected({ clientId: 'small', version: 5 });
    expect((await older.expect('disconnect')).reasonCode).toBe(0x8e);
    for (const bytes of older.sent) expect(bytes.length).toBeLessThanOrEqual(16);
  });
});

describe('packets sent before CONNACK', () => {
  it.each([4, 5] as const)('are held while CONNECT is checked and processed in order after CONNACK (v%i)', async (version) => {
    const h = harness();
    const fake = h.open({ version });
    const subscription = version === 5 ? { topic: 'early/t', qos: 1, nl: false, rap: false, rh: 0 } : { topic: 'early/t', qos: 1 };
    fake.deliverAll([
      connectPacket({ clientId: 'early', version }),
      { cmd: 'subscribe', messageId: 1, subscriptions: [subscription] },
      publishPacket('early/t', 'hello', { qos: 1, messageId: 2 }),
      { cmd: 'pingreq' },
    ]);
    // Authentication is asynchronous: nothing may be answered before the CONNACK [MQTT-3.2.0-1].
    expect(fake.packets).toEqual([]);
    const connack = await fake.expect('connack');
    expect(connackCode(connack)).toBe(0);
    const rest = await fake.drain();
    expect(rest.map((p) => p.cmd)).toEqual(['suback', 'publish', 'puback', 'pingresp']);
    expect(messages(rest)).toEqual([{ topic: 'early/t', payload: 'hello', qos: 1, retain: false }]);
    expect((rest[2] as { messageId: number }).messageId).toBe(2);
  });

  it('[MQTT-3.1.4-6] are not processed when the CONNECT is refused', async () => {
    const h = harness({ anonymousAllowed: false });
    const fake = h.open({ version: 4 });
    fake.deliverAll([connectPacket({ clientId: 'refused', version: 4 }), publishPacket('x/y', 'should not route', { retain: true })]);
    const connack = await fake.expect('connack');
    expect(connack.returnCode).toBe(0x05);
    await fake.waitGone();
    await fake.drain();
    expect(h.realm.broker.retained.matching(['x', 'y'], 'exact')).toEqual([]);
  });
});

describe('session takeover', () => {
  it('[MQTT-3.1.4-3] (5.0) the older connection gets DISCONNECT 0x8E and is closed; the new one is accepted', async () => {
    const h = harness();
    const older = await h.connected({ clientId: 'dup', version: 5 });
    const { fake: newer, connack } = await h.connect({ clientId: 'dup', version: 5 });
    expect(connackCode(connack)).toBe(0);
    const disconnect = (await older.expect('disconnect')) as IDisconnectPacket;
    expect(disconnect.reasonCode).toBe(0x8e);
    await older.waitGone();
    expect(older.closedByModule).toBe(true);
    expect(newer.gone).toBe(false);
  });

  it('[MQTT-3.1.4-2] (3.1.1) the older connection is closed; the new one keeps working after the old close lands', async () => {
    const h = harness();
    const older = await h.connected({ clientId: 'dup', version: 4 });
    const newer = await h.connected({ clientId: 'dup', version: 4 });
    await older.waitGone();
    expect(older.closedByModule).toBe(true);
    expect(older.unread).toEqual([]);
    // The old connection's late `closed` must not detach or end the session the new connection now holds.
    await subscribe(newer, { topic: 'to/new', qos: 0 });
    const publisher = await h.connected({ clientId: 'pub', version: 4 });
    await publish(publisher, 'to/new', 'ping');
    await newer.drain();
    expect(messages(newer.packets)).toEqual([{ topic: 'to/new', payload: 'ping', qos: 0, retain: false }]);
    expect(h.session('dup')?.attachment).toBeDefined();
  });

  it('[MQTT-3.1.4-3] the older connection\'s will is published when it is taken over', async () => {
    const h = harness();
    const watcher = await h.connected({ clientId: 'watcher', version: 5 });
    await subscribe(watcher, { topic: 'will/#', qos: 0 });
    await h.connected({ clientId: 'dup', version: 5, will: { topic: 'will/dup', payload: 'old one gone' } });
    await h.connected({ clientId: 'dup', version: 5 });
    expect(messages(await watcher.drain()).map((m) => m.payload)).toEqual(['old one gone']);
  });

  it('[MQTT-3.1.4-2] (3.1.1) a persistent session taken over is resumed: Session Present, subscriptions kept', async () => {
    const h = harness();
    const older = await h.connected({ clientId: 'keep', version: 4, clean: false });
    await subscribe(older, { topic: 'keep/t', qos: 1 });
    const { fake: newer, connack } = await h.connect({ clientId: 'keep', version: 4, clean: false });
    expect(connack.sessionPresent).toBe(true);
    await older.waitGone();
    const publisher = await h.connected({ clientId: 'pub', version: 4 });
    await publish(publisher, 'keep/t', 'after', { qos: 1 });
    const message = await newer.expect('publish');
    expect(message.topic).toBe('keep/t');
    expect(older.sentAfterClose).toEqual([]);
  });
});

describe('Session Present', () => {
  it('[MQTT-3.2.2-2] [MQTT-3.2.2-3] (5.0) 0 on a first connection, 1 on resume with Clean Start 0, 0 with Clean Start 1', async () => {
    const h = harness();
    const properties = { sessionExpiryInterval: 300 };
    const first = await h.connect({ clientId: 's5', version: 5, clean: false, properties });
    expect(first.connack.sessionPresent).toBe(false);
    await subscribe(first.fake, { topic: 's5/t', qos: 1 });
    first.fake.drop();

    const resumed = await h.connect({ clientId: 's5', version: 5, clean: false, properties });
    expect(resumed.connack.reasonCode).toBe(0);
    expect(resumed.connack.sessionPresent).toBe(true);
    resumed.fake.drop();

    const fresh = await h.connect({ clientId: 's5', version: 5, clean: true, properties });
    expect(fresh.connack.sessionPresent).toBe(false);
    // Clean Start 1 discarded the old session, subscriptions included [MQTT-3.1.2-4].
    const publisher = await h.connected({ clientId: 'pub', version: 5 });
    await publish(publisher, 's5/t', 'gone?', { qos: 1 });
    expect(messages(await fresh.fake.drain())).toEqual([]);
  });

  it('[MQTT-3.2.2-3] (5.0) Session Expiry 0: the session ends with the connection, so a resume finds none', async () => {
    const h = harness();
    const first = await h.connected({ clientId: 'e0', version: 5, clean: false });
    first.drop();
    await first.waitGone();
    const again = await h.connect({ clientId: 'e0', version: 5, clean: false });
    expect(again.connack.sessionPresent).toBe(false);
  });

  it('[MQTT-3.2.2-1] [MQTT-3.2.2-2] [MQTT-3.2.2-3] (3.1.1) clean session 0 resumes with Session Present 1; clean session 1 gets 0', async () => {
    const h = harness();
    const first = await h.connect({ clientId: 's4', version: 4, clean: false });
    expect(first.connack.sessionPresent).toBe(false);
    first.fake.drop();
    const resumed = await h.connect({ clientId: 's4', version: 4, clean: false });
    expect(resumed.connack.sessionPresent).toBe(true);
    resumed.fake.drop();
    const fresh = await h.connect({ clientId: 's4', version: 4, clean: true });
    expect(fresh.connack.sessionPresent).toBe(false);
  });
});

describe('keepalive cap (mqtt.maxKeepalive)', () => {
  it.each([
    [60, 30],
    [0, 30],
  ])('[MQTT-3.2.2-21] (5.0) a keepalive of %i is capped: CONNACK Server Keep Alive %i', async (asked, told) => {
    const h = harness({ mqtt: { maxKeepalive: 30 } });
    const { connack } = await h.connect({ clientId: 'ka', version: 5, keepalive: asked });
    expect(connack.reasonCode).toBe(0);
    expect(connack.properties?.serverKeepAlive).toBe(told);
  });

  it('[MQTT-3.2.2-22] (5.0) a keepalive within the cap is used as sent, with no Server Keep Alive', async () => {
    const h = harness({ mqtt: { maxKeepalive: 30 } });
    const { connack } = await h.connect({ clientId: 'ka', version: 5, keepalive: 20 });
    expect(connack.properties?.serverKeepAlive).toBeUndefined();
  });

  it('(3.1.1) a keepalive over the cap is accepted (3.1.1 cannot be told another one)', async () => {
    const h = harness({ mqtt: { maxKeepalive: 30 } });
    const { fake, connack } = await h.connect({ clientId: 'ka', version: 4, keepalive: 60 });
    expect(connack.returnCode).toBe(0);
    expect(fake.gone).toBe(false);
  });
});

describe('authentication', () => {
  it('an anonymous session takes the username as its authid', async () => {
    const h = harness();
    await h.connected({ clientId: 'dev1', version: 4, username: 'alice' });
    expect(h.session('dev1')?.core.authid).toBe('alice');
    expect(h.session('dev1')?.core.authrole).toBe('anonymous');
  });

  it('an anonymous session without a username (or with an empty one) takes the client id as its authid', async () => {
    const h = harness();
    await h.connected({ clientId: 'dev2', version: 5 });
    await h.connected({ clientId: 'dev3', version: 4, username: '' });
    expect(h.session('dev2')?.core.authid).toBe('dev2');
    expect(h.session('dev3')?.core.authid).toBe('dev3');
  });

  it('(5.0) an anonymous session with an assigned client id takes that id as its authid', async () => {
    const h = harness();
    const { connack } = await h.connect({ clientId: '', version: 5 });
    const id = connack.properties!.assignedClientIdentifier!;
    expect(h.session(id)?.core.authid).toBe(id);
  });

  it('without anonymous access and without credentials the CONNECT is refused: 5.0 0x87, 3.1.1 0x05', async () => {
    const h = harness({ anonymousAllowed: false });
    const v5 = await h.connect({ clientId: 'a5', version: 5 });
    const v4 = await h.connect({ clientId: 'a4', version: 4 });
    expect(v5.connack.reasonCode).toBe(0x87);
    expect(v4.connack.returnCode).toBe(0x05);
    expect(v5.connack.sessionPresent).toBe(false);
    await v5.fake.waitGone();
    await v4.fake.waitGone();
  });

  it.each([
    [5, '0x87', 0x87],
    [4, '0x05', 0x05],
  ] as const)('(v%i) a client id whose session belongs to another authid is refused with %s and the holder is untouched', async (version, _label, code) => {
    const h = harness();
    const holder = await h.connected({ clientId: 'shared-id', version, username: 'alice' });
    const { fake, connack } = await h.connect({ clientId: 'shared-id', version, username: 'bob' });
    expect(connackCode(connack)).toBe(code);
    expect(connack.sessionPresent).toBe(false);
    await fake.waitGone();
    expect(holder.gone).toBe(false);
    expect(holder.unread).toEqual([]);
    expect(h.session('shared-id')?.core.authid).toBe('alice');
  });

  it('a stored (offline) session of another authid is neither taken nor discarded by a refused login', async () => {
    const h = harness();
    const holder = await h.connected({ clientId: 'stored', version: 4, clean: false, username: 'alice' });
    await subscribe(holder, { topic: 'stored/t', qos: 1 });
    holder.drop();
    const intruder = await h.connect({ clientId: 'stored', version: 4, clean: true, username: 'bob' });
    expect(intruder.connack.returnCode).toBe(0x05);
    const back = await h.connect({ clientId: 'stored', version: 4, clean: false, username: 'alice' });
    expect(back.connack.sessionPresent).toBe(true);
  });

  describe('with JWT', () => {
    it('a token as the password sets the authid from its subject; another subject on the same client id is refused', async () => {
      const h = harness({ tokens: await jwtTokens(SECRET), anonymousAllowed: false });
      const alice = await h.connect({ clientId: 'jwt-1', version: 5, username: 'x', password: await hs256({ sub: 'alice' }) });
      expect(alice.connack.reasonCode).toBe(0);
      expect(h.session('jwt-1')?.core.authid).toBe('alice');
      expect(h.session('jwt-1')?.core.principal.authmethod).toBe('jwt');
      const bob = await h.connect({ clientId: 'jwt-1', version: 5, username: 'x', password: await hs256({ sub: 'bob' }) });
      expect(bob.connack.reasonCode).toBe(0x87);
      expect(alice.fake.gone).toBe(false);
      // The same subject takes the session over.
      const again = await h.connect({ clientId: 'jwt-1', version: 5, username: 'x', password: await hs256({ sub: 'alice' }) });
      expect(again.connack.reasonCode).toBe(0);
      expect((await alice.fake.expect('disconnect')).reasonCode).toBe(0x8e);
    });

    it('[MQTT-4.12.0-5] with Authentication Method JWT, the successful CONNACK carries the same Authentication Method', async () => {
      const h = harness({ tokens: await jwtTokens(SECRET), anonymousAllowed: false });
      const token = await hs256({ sub: 'carol' });
      const { connack } = await h.connect({
        clientId: 'enh',
        version: 5,
        properties: { authenticationMethod: 'JWT', authenticationData: Buffer.from(token) },
      });
      expect(connack.reasonCode).toBe(0);
      expect(h.session('enh')?.core.authid).toBe('carol');
      expect(connack.properties?.authenticationMethod).toBe('JWT');
    });

    it('[MQTT-4.12.0-1] an unsupported Authentication Method gets CONNACK 0x8C; JWT without data gets 0x86', async () => {
      const h = harness({ tokens: await jwtTokens(SECRET), anonymousAllowed: false });
      const other = await h.connect({ clientId: 'm1', version: 5, properties: { authenticationMethod: 'SCRAM-SHA-1' } });
      expect(other.connack.reasonCode).toBe(0x8c);
      await other.fake.waitGone();
      const empty = await h.connect({ clientId: 'm2', version: 5, properties: { authenticationMethod: 'JWT' } });
      expect(empty.connack.reasonCode).toBe(0x86);
      await empty.fake.waitGone();
    });

    it('[MQTT-4.12.0-6] without an Authentication Method in CONNECT, the CONNACK has none', async () => {
      const h = harness({ tokens: await jwtTokens(SECRET), anonymousAllowed: false });
      const { connack } = await h.connect({ clientId: 'pw', version: 5, username: 'alice', password: await hs256({ sub: 'alice' }) });
      expect(connack.reasonCode).toBe(0);
      expect(connack.properties?.authenticationMethod).toBeUndefined();
    });

    it('mqtt.requireUsernameMatch refuses a username other than the token subject (0x87 / 0x05)', async () => {
      const h = harness({ tokens: await jwtTokens(SECRET), anonymousAllowed: false, mqtt: { requireUsernameMatch: true } });
      const token = await hs256({ sub: 'alice' });
      expect((await h.connect({ clientId: 'u5', version: 5, username: 'mallory', password: token })).connack.reasonCode).toBe(0x87);
      expect((await h.connect({ clientId: 'u4', version: 4, username: 'mallory', password: token })).connack.returnCode).toBe(0x05);
      expect((await h.connect({ clientId: 'u6', version: 5, username: 'alice', password: token })).connack.reasonCode).toBe(0);
    });

    it('a bad token is refused: 5.0 0x86, 3.1.1 0x04', async () => {
      const h = harness({ tokens: await jwtTokens(SECRET), anonymousAllowed: false });
      const bad = await hs256({ sub: 'alice' }, 'another-secret-that-is-long-enough-for-hs256');
      const v5 = await h.connect({ clientId: 'bad5', version: 5, username: 'x', password: bad });
      const v4 = await h.connect({ clientId: 'bad4', version: 4, username: 'x', password: bad });
      expect(v5.connack.reasonCode).toBe(0x86);
      expect(v4.connack.returnCode).toBe(0x04);
    });

    it('packets sent while the token is being verified wait for the CONNACK', async () => {
      const h = harness({ tokens: await jwtTokens(SECRET), anonymousAllowed: false });
      const fake = h.open({ version: 5 });
      fake.deliverAll([
        connectPacket({ clientId: 'jwt-early', version: 5, username: 'x', password: await hs256({ sub: 'alice' }) }),
        { cmd: 'pingreq' },
      ]);
      expect(fake.packets).toEqual([]);
      expect((await fake.next()).cmd).toBe('connack');
      expect((await fake.next()).cmd).toBe('pingresp');
    });
  });
});

describe('keepalive', () => {
  function useFakeClock(): void {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  }

  it('[MQTT-3.1.2-22] (5.0) a client silent for 1.5 x keepalive is disconnected with 0x8D, not before', async () => {
    useFakeClock();
    const h = harness();
    const fake = await h.connected({ clientId: 'ka5', version: 5, keepalive: 10 });
    vi.advanceTimersByTime(14_999);
    await fake.drain();
    expect(fake.gone).toBe(false);
    vi.advanceTimersByTime(1);
    const disconnect = await fake.expect('disconnect');
    expect(disconnect.reasonCode).toBe(0x8d);
    await fake.waitGone();
    expect(fake.closedByModule).toBe(true);
  });

  it('[MQTT-3.1.2-24] (3.1.1) a client silent for 1.5 x keepalive is closed without a packet, not before', async () => {
    useFakeClock();
    const h = harness();
    const fake = await h.connected({ clientId: 'ka4', version: 4, keepalive: 4 });
    vi.advanceTimersByTime(5_999);
    await fake.drain();
    expect(fake.gone).toBe(false);
    vi.advanceTimersByTime(1);
    await fake.waitGone();
    expect(fake.closedByModule).toBe(true);
    expect(fake.unread).toEqual([]);
  });

  it('[MQTT-3.1.2-22] activity resets the watch: the limit runs from the last packet received', async () => {
    useFakeClock();
    const h = harness();
    const fake = await h.connected({ clientId: 'ka', version: 5, keepalive: 10 });
    vi.advanceTimersByTime(10_000);
    fake.deliver({ cmd: 'pingreq' });
    expect((await fake.next()).cmd).toBe('pingresp');
    vi.advanceTimersByTime(14_999); // 24.999 s: 14.999 s after the PINGREQ
    await fake.drain();
    expect(fake.gone).toBe(false);
    // Any packet counts, not only PINGREQ.
    fake.deliver(publishPacket('ka/t', 'x'));
    vi.advanceTimersByTime(14_999);
    await fake.drain();
    expect(fake.gone).toBe(false);
    vi.advanceTimersByTime(1);
    expect((await fake.expect('disconnect')).reasonCode).toBe(0x8d);
  });

  it('[MQTT-3.1.2-22] the keepalive close counts as a network failure: the will is published', async () => {
    useFakeClock();
    const h = harness();
    const watcher = await h.connected({ clientId: 'watcher', version: 5 });
    await subscribe(watcher, { topic: 'will/#', qos: 0 });
    const fake = await h.connected({ clientId: 'kaw', version: 4, keepalive: 2, will: { topic: 'will/kaw', payload: 'silent' } });
    vi.advanceTimersByTime(3_000);
    await fake.waitGone();
    expect(messages(await watcher.drain()).map((m) => m.payload)).toEqual(['silent']);
  });

  it('keepalive 0 turns the watch off', async () => {
    useFakeClock();
    const h = harness();
    const fake = await h.connected({ clientId: 'ka0', version: 4, keepalive: 0 });
    vi.advanceTimersByTime(24 * 3600 * 1000);
    await fake.drain();
    expect(fake.gone).toBe(false);
  });

  it('[MQTT-3.2.2-21] (5.0) a capped keepalive is enforced at 1.5 x the Server Keep Alive', async () => {
    useFakeClock();
    const h = harness({ mqtt: { maxKeepalive: 30 } });
    const { fake, connack } = await h.connect({ clientId: 'cap', version: 5, keepalive: 600 });
    expect(connack.properties?.serverKeepAlive).toBe(30);
    vi.advanceTimersByTime(44_999);
    await fake.drain();
    expect(fake.gone).toBe(false);
    vi.advanceTimersByTime(1);
    expect((await fake.expect('disconnect')).reasonCode).toBe(0x8d);
  });
});
