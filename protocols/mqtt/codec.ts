/**
 * Framing and encoding over mqtt-packet. Bytes arrive in any chunking (one WebSocket message may hold several
 * packets or part of one; TCP is a stream); the parser reassembles them and hands out typed packets.
 */
import mqttPacket, { type Packet } from 'mqtt-packet';

export type { Packet } from 'mqtt-packet';

export type CodecError =
  | { kind: 'malformed'; message: string }
  /** Well-formed bytes with a value the spec calls a Protocol Error (MQTT 5.0 section 3.8.3.1). */
  | { kind: 'protocol'; message: string }
  /** The declared remaining length is past the router's maximum packet size. */
  | { kind: 'too-large'; size: number }
  /** A CONNECT with a protocol level this router does not serve. */
  | { kind: 'bad-version'; level: number };

interface ParserInternals {
  packet: { length: number };
}

export class Codec {
  private readonly parser = mqttPacket.parser();
  private failed = false;
  /** MQTT protocol level of the connection: 3, 4 (3.1.1) or 5; set by CONNECT. */
  version = 4;

  constructor(
    private readonly maxPacketSize: number,
    private readonly onPacket: (packet: Packet) => void,
    private readonly onError: (error: CodecError) => void,
  ) {
    this.parser.on('packet', (packet: Packet) => {
      if (this.failed) return;
      // A packet that arrived whole in one chunk was never seen half-read by the check in feed().
      const size = packetSize(packet.length ?? 0);
      if (size > this.maxPacketSize) {
        this.failed = true;
        this.onError({ kind: 'too-large', size });
        return;
      }
      // Only the first CONNECT sets the version: a second one is refused, and must not switch the encoding.
      if (packet.cmd === 'connect' && this.head !== undefined) {
        this.version = packet.protocolVersion ?? 4;
        this.head = undefined;
      }
      this.onPacket(packet);
    });
    this.parser.on('error', (error: Error) => {
      if (this.failed) return;
      this.failed = true;
      this.onError(classify(error, this.head, this.version));
    });
  }

  /** The first bytes of the connection until CONNECT is parsed, to read a refused protocol level from. */
  private head: Buffer | undefined = Buffer.alloc(0);

  feed(data: Buffer): void {
    if (this.failed) return;
    if (this.head !== undefined && this.head.length < HEAD_BYTES) {
      this.head = Buffer.concat([this.head, data.subarray(0, HEAD_BYTES - this.head.length)]);
    }
    this.parser.parse(data);
    // mqtt-packet buffers a packet until its declared length has arrived; refuse a declared length past the
    // maximum at once, before the buffer grows to it (MQTT 5.0 section 3.2.2.3.6, reason 0x95).
    const declared = (this.parser as unknown as ParserInternals).packet.length;
    if (!this.failed && declared >= 0 && packetSize(declared) > this.maxPacketSize) {
      this.failed = true;
      this.onError({ kind: 'too-large', size: packetSize(declared) });
    }
  }

  encode(packet: Packet): Buffer {
    return shortAck(packet, this.version) ?? mqttPacket.generate(packet, { protocolVersion: this.version === 5 ? 5 : 4 } as never);
  }
}

/** Fixed header bytes of the acknowledgements that `shortAck` writes. */
const ACK_HEADERS: Partial<Record<Packet['cmd'], number>> = { puback: 0x40, pubrec: 0x50, pubcomp: 0x70 };

/**
 * PUBACK, PUBREC and PUBCOMP meaning success, with no properties: in every version four bytes, the header, a
 * Remaining Length of 2 and the packet id (MQTT 5.0 section 3.4.2.1 allows leaving out reason code 0 without
 * properties; mqtt-packet does so for an explicit 0). One of them answers every QoS 1/2 message, and mqtt-packet's generic writer (a stream, a concat)
 * cost more than the message's routing did. Byte for byte what mqtt-packet writes for these packets.
 */
function shortAck(packet: Packet, version: number): Buffer | undefined {
  const header = ACK_HEADERS[packet.cmd];
  if (header === undefined) return undefined;
  const ack = packet as { messageId?: number; reasonCode?: number; properties?: object };
  if (ack.messageId === undefined || ack.properties !== undefined) return undefined;
  // 5.0: mqtt-packet writes the short form only for an explicit reason code 0 (see handlers/publish.ts).
  if (version === 5 ? ack.reasonCode !== 0 : (ack.reasonCode ?? 0) !== 0) return undefined;
  const bytes = Buffer.allocUnsafe(4);
  bytes[0] = header;
  bytes[1] = 2;
  bytes.writeUInt16BE(ack.messageId, 2);
  return bytes;
}

/**
 * The whole size of a packet with this Remaining Length: the fixed header byte, the length's own bytes and the
 * rest. Maximum Packet Size counts all of it (MQTT 5.0 section 2.1.4).
 */
export function packetSize(remainingLength: number): number {
  const lengthBytes = remainingLength < 128 ? 1 : remainingLength < 16_384 ? 2 : remainingLength < 2_097_152 ? 3 : 4;
  return 1 + lengthBytes + remainingLength;
}

/** Enough of a CONNECT to reach its protocol level: header, length, name length, a long name, level. */
const HEAD_BYTES = 64;

/**
 * mqtt-packet errors for values that MQTT 5.0 calls a Protocol Error (0x82) rather than malformed; 3.1.1 calls
 * them malformed [MQTT-3.8.3-4].
 */
const PROTOCOL_ERRORS = new Set([
  'Invalid subscribe QoS, must be <= 2',
  'Invalid retain handling, must be <= 2',
  'Malformed subscribe, no payload specified',
  'Malformed unsubscribe, no payload specified',
]);

function classify(error: Error, data: Buffer | undefined, version: number): CodecError {
  if (error.message === 'Invalid protocol version' && data !== undefined) {
    const level = connectLevel(data);
    if (level !== undefined) return { kind: 'bad-version', level };
  }
  if (version === 5 && PROTOCOL_ERRORS.has(error.message)) return { kind: 'protocol', message: error.message };
  return { kind: 'malformed', message: error.message };
}

/** The protocol level byte of a CONNECT at the start of `data`, if it is one. */
function connectLevel(data: Buffer): number | undefined {
  if (data.length < 2 || data[0] !== 0x10) return undefined;
  let offset = 1;
  while (offset < 5 && offset < data.length && (data[offset]! & 0x80) !== 0) offset++;
  offset++; // past the remaining length
  if (offset + 2 > data.length) return undefined;
  const nameLength = data.readUInt16BE(offset);
  const levelAt = offset + 2 + nameLength;
  return levelAt < data.length ? data[levelAt] : undefined;
}
