/**
 * The direct read and write of PUBLISH, the acknowledgements and PINGREQ (protocols/mqtt/fast-path.ts) must give
 * exactly what mqtt-packet gives: the same packet objects in, the same bytes out, over every combination of
 * version, QoS, flags, packet id, topic and payload size. Shapes the fast path does not read must reach
 * mqtt-packet unchanged, errors included.
 */
import mqttPacket, { type Packet } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { Codec, type CodecError } from '../../../protocols/mqtt/codec.js';
import { decodeConnectFast, decodeFast, encodeConnackFast, encodePublishFast } from '../../../protocols/mqtt/fast-path.js';

const VERSIONS = [3, 4, 5];
const TOPICS = ['a', 'sensors/line-4/temperature', 'ünïcødé/温度/🙂', 'x'.repeat(300)];
const PAYLOADS = [0, 1, 64, 120, 127, 128, 16_383, 16_384, 70_000].map((size) => Buffer.alloc(size, size % 251));
const IDS = [1, 255, 256, 65_535];

function generate(packet: Record<string, unknown>, version: number): Buffer {
  return mqttPacket.generate(packet as unknown as Packet, { protocolVersion: version === 5 ? 5 : 4 } as never);
}

/** What mqtt-packet's own parser makes of `bytes` on a connection of `version`, as a plain object. */
function reference(bytes: Buffer, version: number): Record<string, unknown> {
  const parser = mqttPacket.parser({ protocolVersion: version } as never);
  let out: Record<string, unknown> | undefined;
  parser.on('packet', (packet: Packet) => {
    out = { ...packet };
  });
  parser.on('error', (error: Error) => {
    throw error;
  });
  parser.parse(bytes);
  return out!;
}

/** The fast path's packet for one whole packet in `bytes`, or undefined when it leaves it to mqtt-packet. */
function fast(bytes: Buffer, version: number): Record<string, unknown> | undefined {
  let bodyStart = 1;
  while ((bytes[bodyStart]! & 0x80) !== 0) bodyStart++;
  bodyStart++;
  const packet = decodeFast(bytes, 0, bodyStart, bytes.length, version);
  return packet === undefined ? undefined : { ...packet };
}

function publishes(): Array<{ version: number; packet: Record<string, unknown> }> {
  const list: Array<{ version: number; packet: Record<string, unknown> }> = [];
  for (const version of VERSIONS)
    for (const qos of [0, 1, 2])
      for (const retain of [false, true])
        for (const dup of [false, true])
          for (const topic of TOPICS)
            for (const payload of PAYLOADS)
              list.push({ version, packet: { cmd: 'publish', topic, payload, qos, retain, dup, ...(qos > 0 ? { messageId: IDS[payload.length % IDS.length] } : {}) } });
  return list;
}

describe('reading PUBLISH directly', () => {
  it('gives the object mqtt-packet gives, for every version, QoS, flag, topic and payload size', () => {
    let count = 0;
    for (const { version, packet } of publishes()) {
      const bytes = generate(packet, version);
      const mine = fast(bytes, version);
      expect(mine, JSON.stringify({ version, qos: packet.qos, topic: packet.topic })).toBeDefined();
      // Payloads compared as bytes: a deep comparison of 70 KB buffers would take the test's whole time.
      const { payload: theirs, ...theirFields } = reference(bytes, version);
      const { payload: ours, ...ourFields } = mine!;
      expect(ourFields).toStrictEqual(theirFields);
      expect(Buffer.isBuffer(ours) && (ours as Buffer).equals(theirs as Buffer)).toBe(true);
      count++;
    }
    expect(count).toBe(3 * 3 * 2 * 2 * TOPICS.length * PAYLOADS.length);
  });

  it('leaves a 5.0 PUBLISH with properties to mqtt-packet, which the codec then uses', () => {
    const bytes = generate({ cmd: 'publish', topic: 't', payload: Buffer.from('x'), qos: 1, messageId: 7, properties: { contentType: 'text/plain', userProperties: { a: 'b' } } }, 5);
    expect(fast(bytes, 5)).toBeUndefined();
    const packets: Packet[] = [];
    const codec = connectedCodec(5, packets);
    codec.feed(bytes);
    expect({ ...packets[0] }).toStrictEqual(reference(bytes, 5));
  });

  it('leaves QoS 3 and a topic running past the packet to mqtt-packet, which calls them malformed', () => {
    const good = generate({ cmd: 'publish', topic: 'abc', payload: Buffer.from('x'), qos: 0 }, 4);
    const qos3 = Buffer.from(good);
    qos3[0] = 0x36;
    expect(fast(qos3, 4)).toBeUndefined();
    const longTopic = Buffer.from(good);
    longTopic.writeUInt16BE(200, 2);
    expect(fast(longTopic, 4)).toBeUndefined();
    for (const bytes of [qos3, longTopic]) {
      const errors: CodecError[] = [];
      const codec = connectedCodec(4, [], errors);
      codec.feed(bytes);
      expect(errors).toHaveLength(1);
      expect(errors[0]!.kind).toBe('malformed');
    }
  });
});

describe('reading acknowledgements and PINGREQ directly', () => {
  it('gives the object mqtt-packet gives for PUBACK, PUBREC, PUBREL, PUBCOMP and PINGREQ in every version', () => {
    for (const version of VERSIONS) {
      for (const cmd of ['puback', 'pubrec', 'pubrel', 'pubcomp'])
        for (const messageId of IDS) {
          const bytes = Buffer.from([{ puback: 0x40, pubrec: 0x50, pubrel: 0x62, pubcomp: 0x70 }[cmd]!, 2, messageId >> 8, messageId & 0xff]);
          const mine = fast(bytes, version);
          expect(mine).toBeDefined();
          expect(mine).toStrictEqual(reference(bytes, version));
        }
      const ping = Buffer.from([0xc0, 0]);
      expect(fast(ping, version)).toStrictEqual(reference(ping, version));
    }
  });

  it('leaves 5.0 acknowledgements with a reason code, and wrong reserved flags, to mqtt-packet', () => {
    expect(fast(Buffer.from([0x40, 3, 0, 1, 0x10]), 5)).toBeUndefined();
    expect(fast(Buffer.from([0x60, 2, 0, 1]), 4)).toBeUndefined(); // PUBREL must have flags 0010
    const errors: CodecError[] = [];
    connectedCodec(4, [], errors).feed(Buffer.from([0x60, 2, 0, 1]));
    expect(errors).toEqual([{ kind: 'malformed', message: expect.stringContaining('Invalid header flag bits') }]);
  });
});

/** mqtt-packet's reading of a whole CONNECT, or its error. */
function referenceOrError(bytes: Buffer): Record<string, unknown> | Error {
  const parser = mqttPacket.parser();
  let out: Record<string, unknown> | Error | undefined;
  parser.on('packet', (packet: Packet) => {
    out ??= { ...packet };
  });
  parser.on('error', (error: Error) => {
    out ??= error;
  });
  try {
    parser.parse(bytes);
  } catch (error) {
    return error as Error;
  }
  return out ?? new Error('incomplete');
}

function fastConnect(bytes: Buffer): Record<string, unknown> | undefined {
  let bodyStart = 1;
  while ((bytes[bodyStart]! & 0x80) !== 0) bodyStart++;
  bodyStart++;
  const packet = decodeConnectFast(bytes, bodyStart, bytes.length);
  return packet === undefined ? undefined : { ...packet };
}

/** CONNECT packets over every combination mqtt-packet can write (it refuses, for one, an empty 3.1 client id). */
function connects(): Array<Record<string, unknown>> {
  const list: Array<Record<string, unknown>> = [];
  for (const protocolVersion of [3, 4, 5])
    for (const clientId of ['', 'c', 'dévice-🙂', 'x'.repeat(200)])
      for (const will of [undefined, { topic: 'w/t', payload: Buffer.from('gone'), qos: 0, retain: false }, { topic: 'ü', payload: Buffer.alloc(300, 7), qos: 2, retain: true }])
        for (const [username, password] of [[undefined, undefined], ['user', undefined], ['user', Buffer.from('secret')], [undefined, Buffer.from('p')]] as const)
          for (const clean of [true, false])
            pushIfWritable(list, {
              cmd: 'connect',
              protocolId: protocolVersion === 3 ? 'MQIsdp' : 'MQTT',
              protocolVersion,
              clean,
              keepalive: clientId.length * 7,
              clientId,
              ...(will ? { will } : {}),
              ...(username !== undefined ? { username } : {}),
              ...(password !== undefined ? { password } : {}),
            });
  return list;
}

function pushIfWritable(list: Array<Record<string, unknown>>, packet: Record<string, unknown>): void {
  try {
    generate(packet, packet.protocolVersion as number);
    list.push(packet);
  } catch {
    // not a CONNECT a client could send
  }
}

describe('reading CONNECT directly', () => {
  it('gives the object mqtt-packet gives, for every version, will, credential and clean-start combination', () => {
    let count = 0;
    for (const packet of connects()) {
      const bytes = generate(packet, packet.protocolVersion as number);
      const mine = fastConnect(bytes);
      expect(mine, JSON.stringify(packet).slice(0, 120)).toBeDefined();
      expect(mine).toStrictEqual(referenceOrError(bytes));
      count++;
    }
    expect(count).toBeGreaterThan(150);
  });

  it('leaves 5.0 properties, the bridge bit and every mutated CONNECT mqtt-packet refuses to mqtt-packet', () => {
    const withProperties = generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: 'c', clean: true, keepalive: 10, properties: { sessionExpiryInterval: 60 } }, 5);
    expect(fastConnect(withProperties)).toBeUndefined();
    const bridge = Buffer.from(generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'c', clean: true, keepalive: 10 }, 4));
    bridge[8] = 0x84;
    expect(fastConnect(bridge)).toBeUndefined();
    // Random byte changes: whenever the direct path reads a packet, mqtt-packet reads the same one; whenever
    // mqtt-packet refuses, the direct path has left it alone.
    let random = 7;
    let read = 0;
    let refused = 0;
    for (const packet of connects()) {
      const original = generate(packet, packet.protocolVersion as number);
      // Only the body changes: the fixed header is the codec's framing, not the CONNECT reader's.
      let bodyStart = 1;
      while ((original[bodyStart]! & 0x80) !== 0) bodyStart++;
      bodyStart++;
      for (let round = 0; round < 12; round++) {
        const bytes = Buffer.from(original);
        for (let flips = 0; flips <= round % 3; flips++) {
          random = (random * 1103515245 + 12345) % 2 ** 31;
          const at = bodyStart + (random % (bytes.length - bodyStart));
          bytes[at] = (random >> 8) & 0xff;
        }
        const mine = fastConnect(bytes);
        const theirs = referenceOrError(bytes);
        if (theirs instanceof Error) {
          refused++;
          expect(mine, theirs.message).toBeUndefined();
        } else if (mine !== undefined) {
          read++;
          expect(mine).toStrictEqual(theirs);
        }
      }
    }
    expect(read).toBeGreaterThan(100);
    expect(refused).toBeGreaterThan(100);
  });

  it('goes through the codec, which reads a refused protocol level from the packet itself', () => {
    const errors: CodecError[] = [];
    const packets: Packet[] = [];
    const codec = new Codec(1 << 20, { packetDecoded: (packet) => packets.push(packet), codecFailed: (error) => errors.push(error) });
    const bytes = Buffer.from(generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'c', clean: true, keepalive: 10 }, 4));
    bytes[8] = 6;
    for (const byte of bytes) codec.feed(Buffer.from([byte]));
    expect(packets).toEqual([]);
    expect(errors).toEqual([{ kind: 'bad-version', level: 6 }]);
  });
});

describe('writing PUBLISH directly', () => {
  it('writes byte for byte what mqtt-packet writes, for every version, QoS, flag, topic and payload size', () => {
    for (const { version, packet } of publishes()) {
      const mine = encodePublishFast(packet as unknown as Packet, version);
      expect(mine).toBeDefined();
      expect(mine!.equals(generate(packet, version)), JSON.stringify({ version, qos: packet.qos, topic: packet.topic })).toBe(true);
    }
  });

  it('leaves PUBLISH with properties, and other packets, to mqtt-packet', () => {
    expect(encodePublishFast({ cmd: 'publish', topic: 't', payload: Buffer.alloc(1), qos: 0, retain: false, dup: false, properties: { contentType: 'a' } } as Packet, 5)).toBeUndefined();
    expect(encodePublishFast({ cmd: 'pingresp' } as Packet, 4)).toBeUndefined();
  });

  it('writes a 3.1.1 CONNACK byte for byte as mqtt-packet does, and leaves 5.0 to it', () => {
    for (const version of [3, 4])
      for (const returnCode of [0, 1, 2, 3, 4, 5])
        for (const sessionPresent of [false, true]) {
          const packet = { cmd: 'connack', returnCode, sessionPresent };
          expect(encodeConnackFast(packet as unknown as Packet, version)!.equals(generate(packet, version))).toBe(true);
        }
    expect(encodeConnackFast({ cmd: 'connack', reasonCode: 0, sessionPresent: false } as unknown as Packet, 5)).toBeUndefined();
  });

  it('goes through the codec: encode gives the same bytes as mqtt-packet', () => {
    const codec = connectedCodec(5, []);
    const packet = { cmd: 'publish', topic: 'a/b', payload: Buffer.from('hello'), qos: 2, retain: true, dup: true, messageId: 9 };
    expect(codec.encode(packet as unknown as Packet).equals(generate(packet, 5))).toBe(true);
  });
});

describe('framing many packets in any chunking', () => {
  it('a stream of mixed packets split into random chunks comes out whole and in order', () => {
    const version = 4;
    const stream: Buffer[] = [];
    const expected: Array<Record<string, unknown>> = [];
    for (let i = 0; i < 400; i++) {
      const kind = i % 5;
      const packet =
        kind === 0
          ? { cmd: 'subscribe', messageId: i + 1, subscriptions: [{ topic: `f/${i}/#`, qos: 1 }] }
          : kind === 1
            ? { cmd: 'puback', messageId: i + 1 }
            : { cmd: 'publish', topic: `t/${i}`, payload: Buffer.alloc(i * 37 % 300, i), qos: i % 3, retain: i % 2 === 0, dup: false, ...(i % 3 ? { messageId: i + 1 } : {}) };
      const bytes = generate(packet, version);
      stream.push(bytes);
      expected.push(reference(bytes, version));
    }
    const all = Buffer.concat(stream);
    for (const seed of [1, 2, 3]) {
      const packets: Packet[] = [];
      const errors: CodecError[] = [];
      const codec = connectedCodec(version, packets, errors);
      let random = seed;
      for (let at = 0; at < all.length; ) {
        random = (random * 1103515245 + 12345) % 2 ** 31;
        const size = 1 + (random % 97);
        codec.feed(all.subarray(at, at + size));
        at += size;
      }
      expect(errors).toEqual([]);
      expect(packets.map((packet) => ({ ...packet }))).toStrictEqual(expected);
    }
  });

  it('a malformed packet on one connection leaves the shared parser clean for the next', () => {
    const errors: CodecError[] = [];
    connectedCodec(4, [], errors).feed(Buffer.from([0x82, 3, 0, 1, 0])); // SUBSCRIBE with no topic filter
    expect(errors).toHaveLength(1);
    const packets: Packet[] = [];
    const other = connectedCodec(4, packets);
    const subscribe = generate({ cmd: 'subscribe', messageId: 5, subscriptions: [{ topic: 'a/#', qos: 1 }] }, 4);
    other.feed(subscribe);
    expect({ ...packets[0] }).toStrictEqual(reference(subscribe, 4));
  });
});

/** A codec that has read a CONNECT of `version`, collecting what comes after. */
function connectedCodec(version: number, packets: Packet[], errors: CodecError[] = []): Codec {
  let connected = false;
  const codec = new Codec(1024 * 1024, {
    packetDecoded: (packet) => {
      if (connected) packets.push(packet);
      connected = true;
    },
    codecFailed: (error) => errors.push(error),
  });
  codec.feed(generate({ cmd: 'connect', protocolId: version === 3 ? 'MQIsdp' : 'MQTT', protocolVersion: version, clientId: 'c', clean: true, keepalive: 0 }, version));
  expect(codec.version).toBe(version);
  return codec;
}
