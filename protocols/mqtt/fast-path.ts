/**
 * The packets that carry the traffic, read and written straight from and to bytes: PUBLISH, the four
 * acknowledgements and PINGREQ in, PUBLISH out. Everything else, and every packet here that is not in its plain
 * well-formed shape, goes through mqtt-packet, so that errors keep one source.
 *
 * Why: in the fan-in benchmark (every message unique) mqtt-packet's generic parser and writer cost about a fifth
 * of the router's time (a stream-backed buffer list per connection, a packet object per state, `debug()` calls
 * that cost even when disabled, a concat per outgoing packet). The objects made here have the same fields and
 * values as mqtt-packet's, which `test/unit/mqtt/fast-path.test.ts` checks over generated packets.
 */
import type { Packet } from 'mqtt-packet';

const PUBLISH = 3;
const PUBACK = 4;
const PUBREC = 5;
const PUBREL = 6;
const PUBCOMP = 7;
const PINGREQ = 12;

/** The largest Remaining Length four bytes can say (MQTT 5.0 section 1.5.5). */
const MAX_REMAINING_LENGTH = 268_435_455;

const ACK_NAMES = ['', '', '', '', 'puback', 'pubrec', 'pubrel', 'pubcomp'] as const;

/**
 * The packet in `data[start, end)` (fixed header at `start`, variable header at `bodyStart`), or undefined when it
 * is not one this path reads; the caller then hands the same bytes to mqtt-packet.
 */
export function decodeFast(data: Buffer, start: number, bodyStart: number, end: number, version: number): Packet | undefined {
  const first = data[start]!;
  const type = first >> 4;
  const length = end - bodyStart;
  if (type === PUBLISH) {
    const qos = (first >> 1) & 3;
    if (qos === 3 || length < 2) return undefined;
    const topicEnd = bodyStart + 2 + data.readUInt16BE(bodyStart);
    if (topicEnd > end) return undefined;
    const topic = data.toString('utf8', bodyStart + 2, topicEnd);
    let offset = topicEnd;
    let messageId = 0;
    if (qos > 0) {
      if (offset + 2 > end) return undefined;
      messageId = data.readUInt16BE(offset);
      offset += 2;
    }
    if (version === 5) {
      // Only a PUBLISH without properties: a Property Length of 0 (MQTT 5.0 section 3.3.2.3.1).
      if (offset >= end || data[offset] !== 0) return undefined;
      offset++;
    }
    const retain = (first & 1) !== 0;
    const dup = (first & 8) !== 0;
    const payload = data.subarray(offset, end);
    return (
      qos > 0
        ? { cmd: 'publish', retain, qos, dup, length, topic, payload, messageId }
        : { cmd: 'publish', retain, qos, dup, length, topic, payload }
    ) as Packet;
  }
  if (type >= PUBACK && type <= PUBCOMP) {
    // Reserved flags: 0010 for PUBREL, 0000 for the others [MQTT-2.2.2-1]; wrong ones are mqtt-packet's error.
    if ((first & 0x0f) !== (type === PUBREL ? 2 : 0) || length !== 2) return undefined;
    const messageId = data.readUInt16BE(bodyStart);
    const cmd = ACK_NAMES[type];
    // mqtt-packet reads QoS from the flag bits of every packet: 1 for PUBREL's fixed 0010.
    const qos = type === PUBREL ? 1 : 0;
    // A 5.0 acknowledgement of Remaining Length 2 means success (MQTT 5.0 section 3.4.2.1), as mqtt-packet says.
    return (
      version === 5
        ? { cmd, retain: false, qos, dup: false, length, topic: null, payload: null, messageId, reasonCode: 0 }
        : { cmd, retain: false, qos, dup: false, length, topic: null, payload: null, messageId }
    ) as unknown as Packet;
  }
  if (type === PINGREQ && first === 0xc0 && length === 0) {
    return { cmd: 'pingreq', retain: false, qos: 0, dup: false, length, topic: null, payload: null } as unknown as Packet;
  }
  return undefined;
}

/**
 * A PUBLISH without properties, written in one allocation; undefined for anything else (the caller then uses
 * mqtt-packet). Byte for byte what mqtt-packet writes: an absent property set is a Property Length of 0 in 5.0.
 */
export function encodePublishFast(packet: Packet, version: number): Buffer | undefined {
  if (packet.cmd !== 'publish') return undefined;
  const { topic, payload, properties } = packet;
  const qos = packet.qos ?? 0;
  if (properties !== undefined || typeof topic !== 'string' || !Buffer.isBuffer(payload)) return undefined;
  if (qos > 0 && typeof packet.messageId !== 'number') return undefined;
  const topicLength = Buffer.byteLength(topic);
  const remaining = 2 + topicLength + (qos > 0 ? 2 : 0) + (version === 5 ? 1 : 0) + payload.length;
  if (remaining > MAX_REMAINING_LENGTH) return undefined;
  const lengthBytes = remaining < 0x80 ? 1 : remaining < 0x4000 ? 2 : remaining < 0x200000 ? 3 : 4;
  const bytes = Buffer.allocUnsafe(1 + lengthBytes + remaining);
  bytes[0] = 0x30 | (packet.dup ? 8 : 0) | (qos << 1) | (packet.retain ? 1 : 0);
  let offset = 1;
  let rest = remaining;
  do {
    let digit = rest & 0x7f;
    rest >>>= 7;
    if (rest > 0) digit |= 0x80;
    bytes[offset++] = digit;
  } while (rest > 0);
  bytes.writeUInt16BE(topicLength, offset);
  offset += 2;
  offset += bytes.write(topic, offset, 'utf8');
  if (qos > 0) {
    bytes.writeUInt16BE(packet.messageId!, offset);
    offset += 2;
  }
  if (version === 5) bytes[offset++] = 0;
  payload.copy(bytes, offset);
  return bytes;
}

/**
 * A 3.1.1 (or 3.1) CONNACK: four fixed bytes, the session-present flag and the return code. Written on every
 * login, where mqtt-packet's generic writer was 2% of the router's time opening connections. Undefined for 5.0,
 * whose CONNACK carries properties (mqtt-packet writes those).
 */
export function encodeConnackFast(packet: Packet, version: number): Buffer | undefined {
  if (packet.cmd !== 'connack' || version === 5) return undefined;
  const returnCode = (packet as { returnCode?: unknown }).returnCode;
  if (typeof returnCode !== 'number' || returnCode < 0 || returnCode > 255) return undefined;
  return Buffer.from([0x20, 0x02, packet.sessionPresent ? 1 : 0, returnCode]);
}

/**
 * A CONNECT in its plain shape, read directly: protocol MQTT or MQIsdp at level 3, 4 or 5, no bridge bit, and in
 * 5.0 no properties (nor will properties). Anything else, and anything mqtt-packet would refuse, gives undefined
 * and goes to mqtt-packet. Every login passes here, where mqtt-packet's parser was about 6% of the router's time
 * opening connections.
 */
export function decodeConnectFast(data: Buffer, bodyStart: number, end: number): Packet | undefined {
  let at = bodyStart;
  /** The 2-byte length and bytes at `at` (moving past them), or undefined if they run past the packet. */
  const field = (): Buffer | undefined => {
    if (at + 2 > end) return undefined;
    const stop = at + 2 + data.readUInt16BE(at);
    if (stop > end) return undefined;
    const bytes = data.subarray(at + 2, stop);
    at = stop;
    return bytes;
  };
  const text = (): string | undefined => field()?.toString('utf8');
  /** 5.0's property length before the client id and the will: only an empty set takes this path. */
  const noProperties = (): boolean => at < end && data[at++] === 0;

  const protocolId = text();
  if (protocolId !== 'MQTT' && protocolId !== 'MQIsdp') return undefined;
  if (at + 4 > end) return undefined; // level, flags and keepalive
  const protocolVersion = data[at]!;
  if (protocolVersion !== 3 && protocolVersion !== 4 && protocolVersion !== 5) return undefined;
  const flags = data[at + 1]!;
  const hasWill = (flags & 0x04) !== 0;
  const willQos = (flags >> 3) & 3;
  const willRetain = (flags & 0x20) !== 0;
  // Reserved bit 0 [MQTT-3.1.2-3], and will QoS or retain without a will: mqtt-packet's errors.
  if ((flags & 0x01) !== 0 || (!hasWill && (willQos !== 0 || willRetain))) return undefined;
  const keepalive = data.readUInt16BE(at + 2);
  at += 4;
  if (protocolVersion === 5 && !noProperties()) return undefined;
  const clientId = text();
  if (clientId === undefined) return undefined;
  let will: { retain: boolean; qos: number; topic: string; payload: Buffer } | undefined;
  if (hasWill) {
    if (protocolVersion === 5 && !noProperties()) return undefined;
    const topic = text();
    const payload = topic === undefined ? undefined : field();
    if (payload === undefined) return undefined;
    will = { retain: willRetain, qos: willQos, topic: topic!, payload };
  }
  const packet: Record<string, unknown> = { cmd: 'connect', retain: false, qos: 0, dup: false, length: end - bodyStart, topic: null, payload: null, protocolId, protocolVersion };
  if (will !== undefined) packet.will = will;
  packet.clean = (flags & 0x02) !== 0;
  packet.keepalive = keepalive;
  packet.clientId = clientId;
  if ((flags & 0x80) !== 0) {
    packet.username = text();
    if (packet.username === undefined) return undefined;
  }
  if ((flags & 0x40) !== 0) {
    packet.password = field();
    if (packet.password === undefined) return undefined;
  }
  return packet as unknown as Packet;
}
