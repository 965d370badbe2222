/**
 * The MQTT framing layer (protocols/mqtt/codec.ts): packets in any chunking, the maximum packet size checked on
 * the declared length, an unsupported protocol level told apart from other malformed input.
 */
import mqttPacket, { type Packet } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { Codec, packetSize, type CodecError } from '../../../protocols/mqtt/codec.js';

function make(maxPacketSize = 1024 * 1024): { codec: Codec; packets: Packet[]; errors: CodecError[] } {
  const packets: Packet[] = [];
  const errors: CodecError[] = [];
  const codec = new Codec(maxPacketSize, {
    packetDecoded: (packet) => packets.push(packet),
    codecFailed: (error) => errors.push(error),
  });
  return { codec, packets, errors };
}

function gen(packet: Record<string, unknown>, protocolVersion = 4): Buffer {
  return mqttPacket.generate(packet as unknown as Packet, { protocolVersion } as never);
}

function connect(protocolVersion = 4, extra: Record<string, unknown> = {}): Buffer {
  return gen({ cmd: 'connect', protocolId: 'MQTT', protocolVersion, clientId: 'c1', clean: true, keepalive: 30, ...extra }, protocolVersion);
}

function publish(topic: string, payload: string | Buffer, extra: Record<string, unknown> = {}, protocolVersion = 4): Buffer {
  return gen({ cmd: 'publish', topic, payload, qos: 0, retain: false, dup: false, ...extra }, protocolVersion);
}

/** A CONNECT with the given level byte (the protocol name is MQTT). */
function connectWithLevel(level: number): Buffer {
  const bytes = Buffer.from(connect(4));
  // fixed header (2 bytes) + name length (2) + "MQTT" (4): the level is at offset 8
  expect(bytes[8]).toBe(4);
  bytes[8] = level;
  return bytes;
}

describe('framing', () => {
  it('one packet in one chunk', () => {
    const { codec, packets, errors } = make();
    codec.feed(connect());
    expect(errors).toEqual([]);
    expect(packets).toHaveLength(1);
    expect(packets[0]).toMatchObject({ cmd: 'connect', clientId: 'c1', protocolVersion: 4, keepalive: 30 });
  });

  it('a packet split byte by byte is reassembled', () => {
    const { codec, packets, errors } = make();
    const bytes = Buffer.concat([connect(), publish('a/b', 'hello world')]);
    for (let i = 0; i < bytes.length; i++) codec.feed(bytes.subarray(i, i + 1));
    expect(errors).toEqual([]);
    expect(packets.map((p) => p.cmd)).toEqual(['connect', 'publish']);
    expect((packets[1] as { topic: string }).topic).toBe('a/b');
    expect((packets[1] as { payload: Buffer }).payload.toString()).toBe('hello world');
  });

  it('a packet split at every possible point is reassembled', () => {
    const whole = publish('x/y/z', Buffer.alloc(300, 7), { qos: 1, messageId: 42 });
    for (let cut = 1; cut < whole.length; cut++) {
      const { codec, packets, errors } = make();
      codec.feed(connect());
      codec.feed(whole.subarray(0, cut));
      expect(packets).toHaveLength(1);
      codec.feed(whole.subarray(cut));
      expect(errors).toEqual([]);
      expect(packets).toHaveLength(2);
      expect(packets[1]).toMatchObject({ cmd: 'publish', topic: 'x/y/z', qos: 1, messageId: 42 });
      expect((packets[1] as { payload: Buffer }).payload.length).toBe(300);
    }
  });

  it('several packets in one chunk come out in order', () => {
    const { codec, packets, errors } = make();
    codec.feed(
      Buffer.concat([
        connect(),
        publish('t/1', 'one'),
        gen({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a/#', qos: 1 }] }),
        publish('t/2', 'two', { qos: 2, messageId: 7 }),
        gen({ cmd: 'pingreq' }),
        gen({ cmd: 'disconnect' }),
      ]),
    );
    expect(errors).toEqual([]);
    expect(packets.map((p) => p.cmd)).toEqual(['connect', 'publish', 'subscribe', 'publish', 'pingreq', 'disconnect']);
    expect((packets[3] as { qos: number; messageId: number }).messageId).toBe(7);
  });

  it('packets spanning chunk boundaries: end of one and start of the next in the same chunk', () => {
    const { codec, packets, errors } = make();
    const bytes = Buffer.concat([connect(), publish('a', 'AAAA'), publish('b', 'BBBB'), publish('c', 'CCCC')]);
    const third = Math.floor(bytes.length / 3);
    codec.feed(bytes.subarray(0, third));
    codec.feed(bytes.subarray(third, 2 * third));
    codec.feed(bytes.subarray(2 * third));
    expect(errors).toEqual([]);
    expect(packets.map((p) => (p.cmd === 'publish' ? p.topic : p.cmd))).toEqual(['connect', 'a', 'b', 'c']);
  });

  it('the protocol level of CONNECT is kept, and 5.0 properties are parsed after a 5.0 CONNECT', () => {
    const { codec, packets, errors } = make();
    expect(codec.version).toBe(4);
    codec.feed(connect(5, { properties: { sessionExpiryInterval: 60, receiveMaximum: 5 } }));
    expect(codec.version).toBe(5);
    codec.feed(publish('p', 'x', { properties: { userProperties: { k: ['a', 'b'] }, contentType: 'text/plain' } }, 5));
    expect(errors).toEqual([]);
    expect(packets[0]).toMatchObject({ protocolVersion: 5, properties: { sessionExpiryInterval: 60, receiveMaximum: 5 } });
    expect(packets[1]).toMatchObject({ cmd: 'publish', properties: { userProperties: { k: ['a', 'b'] }, contentType: 'text/plain' } });
    expect((packets[1] as { payload: Buffer }).payload.toString()).toBe('x');
  });

  it('MQTT 3.1 (MQIsdp, level 3) is parsed and the level kept', () => {
    const { codec, packets, errors } = make();
    codec.feed(gen({ cmd: 'connect', protocolId: 'MQIsdp', protocolVersion: 3, clientId: 'old', clean: true, keepalive: 0 }, 3));
    expect(errors).toEqual([]);
    expect(packets[0]).toMatchObject({ protocolId: 'MQIsdp', protocolVersion: 3 });
    expect(codec.version).toBe(3);
  });
});

describe('encode', () => {
  it('encodes in the connection version: 3.1.1 without properties, 5.0 with them', () => {
    const v4 = make().codec;
    const v5 = make().codec;
    v5.feed(connect(5));
    const packet = { cmd: 'publish', topic: 't', payload: Buffer.from('p'), qos: 0, retain: false, dup: false, properties: { contentType: 'c' } } as unknown as Packet;
    const bytes4 = v4.encode(packet);
    const bytes5 = v5.encode(packet);
    const back4 = mqttPacket.parser({ protocolVersion: 4 });
    const back5 = mqttPacket.parser({ protocolVersion: 5 });
    const out: Packet[] = [];
    back4.on('packet', (p: Packet) => out.push(p));
    back5.on('packet', (p: Packet) => out.push(p));
    back4.parse(bytes4);
    back5.parse(bytes5);
    expect(out[0]).toMatchObject({ cmd: 'publish', topic: 't' });
    expect((out[0] as { properties?: unknown }).properties).toBeUndefined();
    expect(out[1]).toMatchObject({ cmd: 'publish', topic: 't', properties: { contentType: 'c' } });
    expect(bytes5.length).toBeGreaterThan(bytes4.length);
  });

  it('encodes a 5.0 CONNACK with a reason code and a 3.1.1 CONNACK with a return code', () => {
    const v5 = make().codec;
    v5.feed(connect(5));
    expect([...v5.encode({ cmd: 'connack', sessionPresent: false, reasonCode: 0x86, properties: {} } as never)]).toEqual([0x20, 0x03, 0x00, 0x86, 0x00]);
    const v4 = make().codec;
    expect([...v4.encode({ cmd: 'connack', sessionPresent: true, returnCode: 4 } as never)]).toEqual([0x20, 0x02, 0x01, 0x04]);
  });
});

describe('maximum packet size (MQTT 5.0 section 2.1.4: the whole packet, fixed header included)', () => {
  it('packetSize adds the fixed header byte and the Remaining Length bytes', () => {
    expect(packetSize(0)).toBe(2);
    expect(packetSize(127)).toBe(129);
    expect(packetSize(128)).toBe(131);
    expect(packetSize(16_383)).toBe(16_386);
    expect(packetSize(16_384)).toBe(16_388);
    expect(packetSize(2_097_151)).toBe(2_097_155);
    expect(packetSize(2_097_152)).toBe(2_097_157);
    expect(packetSize(268_435_455)).toBe(268_435_460);
  });

  it('a declared length past the maximum is reported at once, before the body arrives', () => {
    const { codec, packets, errors } = make(100);
    codec.feed(connect());
    const big = publish('t', Buffer.alloc(1000));
    // Only the fixed header and a few bytes: the declared remaining length is already known.
    codec.feed(big.subarray(0, 5));
    expect(errors).toEqual([{ kind: 'too-large', size: big.length }]);
    // Nothing more is reported or parsed afterwards.
    codec.feed(big.subarray(5));
    codec.feed(publish('small', 'x'));
    expect(errors).toHaveLength(1);
    expect(packets.map((p) => p.cmd)).toEqual(['connect']);
  });

  it('a packet of exactly the maximum is accepted; one byte more is refused', () => {
    const exact = publish('t', Buffer.alloc(100 - 5)); // 1 + 1 + (2 + 1 + 95) = 100 bytes
    expect(exact.length).toBe(100);
    const { codec, packets, errors } = make(100);
    codec.feed(exact.subarray(0, 2));
    codec.feed(exact.subarray(2));
    expect(errors).toEqual([]);
    expect(packets).toHaveLength(1);

    const over = publish('t', Buffer.alloc(100 - 4));
    expect(over.length).toBe(101);
    const second = make(100);
    second.codec.feed(over.subarray(0, 2));
    expect(second.errors).toEqual([{ kind: 'too-large', size: 101 }]);
  });

  it('a too-large packet arriving whole, in one chunk, is refused too', () => {
    const { codec, packets, errors } = make(100);
    codec.feed(connect());
    const big = publish('t', Buffer.alloc(1000));
    codec.feed(big);
    expect(errors).toEqual([{ kind: 'too-large', size: big.length }]);
    expect(packets.map((p) => p.cmd)).toEqual(['connect']);
  });

  it('a too-large packet followed by a small one in the same chunk is refused, and the small one not passed on', () => {
    const { codec, packets, errors } = make(100);
    codec.feed(connect());
    const big = publish('t', Buffer.alloc(1000));
    codec.feed(Buffer.concat([big, publish('t', 'small')]));
    expect(errors).toEqual([{ kind: 'too-large', size: big.length }]);
    expect(packets.map((p) => p.cmd)).toEqual(['connect']);
  });

  it('a declared length of 268435455 (the largest varint) with nothing after it is reported', () => {
    const { codec, errors } = make(1024);
    codec.feed(connect());
    codec.feed(Buffer.from([0x30, 0xff, 0xff, 0xff, 0x7f]));
    expect(errors).toEqual([{ kind: 'too-large', size: 268_435_460 }]);
  });
});

describe('unsupported protocol level', () => {
  it.each([0, 1, 2, 6, 7, 0x7f])('level %i in one chunk is bad-version with the level', (level) => {
    const { codec, packets, errors } = make();
    codec.feed(connectWithLevel(level));
    expect(packets).toEqual([]);
    expect(errors).toEqual([{ kind: 'bad-version', level }]);
  });

  it('a level with the top bit set (mqtt-packet\'s "bridge" bit) and an unknown level below it is bad-version with the raw byte', () => {
    const { codec, packets, errors } = make();
    codec.feed(connectWithLevel(0x86));
    expect(packets).toEqual([]);
    expect(errors).toEqual([{ kind: 'bad-version', level: 0x86 }]);
  });

  it('the level is found after a long protocol name too (MQIsdp, level 2)', () => {
    const { codec, errors } = make();
    const bytes = Buffer.from(gen({ cmd: 'connect', protocolId: 'MQIsdp', protocolVersion: 3, clientId: 'old', clean: true, keepalive: 0 }, 3));
    expect(bytes[10]).toBe(3);
    bytes[10] = 2;
    codec.feed(bytes);
    expect(errors).toEqual([{ kind: 'bad-version', level: 2 }]);
  });

  it('level 6 split across chunks is still bad-version with the level', () => {
    const { codec, packets, errors } = make();
    const bytes = connectWithLevel(6);
    codec.feed(bytes.subarray(0, 3));
    codec.feed(bytes.subarray(3));
    expect(packets).toEqual([]);
    expect(errors).toEqual([{ kind: 'bad-version', level: 6 }]);
  });

  it('level 6 arriving byte by byte is still bad-version with the level', () => {
    const { codec, errors } = make();
    const bytes = connectWithLevel(6);
    for (let i = 0; i < bytes.length; i++) codec.feed(bytes.subarray(i, i + 1));
    expect(errors).toEqual([{ kind: 'bad-version', level: 6 }]);
  });
});

describe('malformed input', () => {
  function expectMalformed(bytes: number[] | Buffer, setup: Buffer[] = []): CodecError {
    const { codec, errors } = make();
    for (const chunk of setup) codec.feed(chunk);
    codec.feed(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes));
    expect(errors).toHaveLength(1);
    expect(errors[0]!.kind).toBe('malformed');
    return errors[0]!;
  }

  it('an unknown protocol name', () => {
    const bytes = Buffer.from(connect());
    bytes.write('MQTX', 4, 'latin1');
    const error = expectMalformed(bytes);
    expect(error).toMatchObject({ message: expect.stringMatching(/protocolId/) });
  });

  it('reserved CONNECT flag bit 0 set [MQTT-3.1.2-3]', () => {
    const bytes = Buffer.from(connect());
    bytes[9] = bytes[9]! | 0x01; // connect flags follow the level
    expectMalformed(bytes);
  });

  it('a PUBLISH with both QoS bits set [MQTT-3.3.1-4]', () => {
    expectMalformed([0x36, 0x05, 0x00, 0x01, 0x74, 0x00, 0x01], [connect()]);
  });

  it('wrong fixed-header flags on SUBSCRIBE [MQTT-3.8.1-1]', () => {
    expectMalformed([0x80, 0x06, 0x00, 0x01, 0x00, 0x01, 0x61, 0x00], [connect()]);
  });

  it('wrong fixed-header flags on PUBREL [MQTT-3.6.1-1]', () => {
    expectMalformed([0x60, 0x02, 0x00, 0x01], [connect()]);
  });

  it('a remaining length with a fifth continuation byte', () => {
    expectMalformed([0x30, 0xff, 0xff, 0xff, 0xff, 0x01], [connect()]);
  });

  it('packet type 0 (reserved)', () => {
    expectMalformed([0x00, 0x00], [connect()]);
  });

  it('a SUBSCRIBE asking QoS 3 [MQTT-3.8.3-4]', () => {
    expectMalformed([0x82, 0x06, 0x00, 0x01, 0x00, 0x01, 0x61, 0x03], [connect()]);
  });

  it('a CONNECT cut short by its own declared length', () => {
    // Remaining length 4: just the protocol name length and "MQ".
    expectMalformed([0x10, 0x04, 0x00, 0x04, 0x4d, 0x51]);
  });

  it('after the first error nothing more is parsed or reported', () => {
    const { codec, packets, errors } = make();
    codec.feed(connect());
    codec.feed(Buffer.from([0x36, 0x05, 0x00, 0x01, 0x74, 0x00, 0x01]));
    codec.feed(publish('ok', 'fine'));
    codec.feed(Buffer.from([0x00, 0x00]));
    expect(errors).toHaveLength(1);
    expect(packets.map((p) => p.cmd)).toEqual(['connect']);
  });

  it('garbage bytes never throw out of feed', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const { codec } = make(4096);
      let x = seed;
      const bytes = Buffer.alloc(64);
      for (let i = 0; i < bytes.length; i++) {
        x = (x * 1103515245 + 12345) & 0x7fffffff;
        bytes[i] = x & 0xff;
      }
      expect(() => codec.feed(bytes)).not.toThrow();
    }
  });
});

describe('acknowledgements written without mqtt-packet', () => {
  // Codec.encode writes success PUBACK/PUBREC/PUBCOMP itself (they answer every QoS 1/2 message); every variant
  // must be byte for byte what mqtt-packet writes, whether or not the short path takes it.
  const cases: Array<[number, string, number, number | undefined, object | undefined]> = [];
  for (const version of [3, 4, 5])
    for (const cmd of ['puback', 'pubrec', 'pubcomp', 'pubrel'])
      for (const messageId of [1, 255, 256, 65535])
        for (const reasonCode of [undefined, 0, 0x10, 0x80])
          for (const properties of [undefined, { reasonString: 'why' }]) {
            if (version < 5 && properties !== undefined) continue;
            cases.push([version, cmd, messageId, reasonCode, properties]);
          }

  it.each(cases)('MQTT level %i %s id %i reason %s properties %o', (version, cmd, messageId, reasonCode, properties) => {
    const codec = new Codec(1 << 20, { packetDecoded: () => undefined, codecFailed: () => undefined });
    codec.version = version;
    const packet = { cmd, messageId, ...(reasonCode === undefined ? {} : { reasonCode }), ...(properties === undefined ? {} : { properties }) } as Packet;
    const expected = mqttPacket.generate(structuredClone(packet), { protocolVersion: version === 5 ? 5 : 4 } as never);
    expect(codec.encode(packet).equals(expected)).toBe(true);
  });
});
