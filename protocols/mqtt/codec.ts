/**
 * Framing and encoding. Bytes arrive in any chunking (one WebSocket message may hold several packets or part of
 * one; TCP is a stream). The codec finds packet boundaries itself from the fixed header, reads the packets that
 * carry the traffic directly (fast-path.ts), and hands every other whole packet to mqtt-packet's parser.
 */
import mqttPacket, { type Packet, type Parser } from 'mqtt-packet';
import { decodeConnectFast, decodeFast, encodeConnackFast, encodePublishFast } from './fast-path.js';

export type { Packet } from 'mqtt-packet';

// mqtt-packet's writer otherwise builds, on its first use, a cache of 65,536 two-byte Buffers (one per packet id):
// 7 MB of heap held by every router process, for the packets that fast-path.ts and shortAck now write anyway.
mqttPacket.writeToStream.cacheNumbers = false;

export type CodecError =
  | { kind: 'malformed'; message: string }
  /** Well-formed bytes with a value the spec calls a Protocol Error (MQTT 5.0 section 3.8.3.1). */
  | { kind: 'protocol'; message: string }
  /** The declared remaining length is past the router's maximum packet size. */
  | { kind: 'too-large'; size: number }
  /** A CONNECT with a protocol level this router does not serve. */
  | { kind: 'bad-version'; level: number };

/** What mqtt-packet's parser reads besides the bytes: the connection's protocol level and bridge flag. */
interface ParserSettings {
  protocolVersion?: number;
  bridgeMode?: boolean;
}

/** Where a codec's packets and its one error go: the connection, called directly (no closures per connection). */
export interface CodecSink {
  packetDecoded(packet: Packet): void;
  codecFailed(error: CodecError): void;
}

/** Parser settings, one shared object per protocol level and bridge flag rather than one per connection. */
const SETTINGS = new Map<string, ParserSettings>();
function settingsFor(protocolVersion: number | undefined, bridgeMode: boolean | undefined): ParserSettings {
  const key = `${protocolVersion}/${bridgeMode}`;
  let settings = SETTINGS.get(key);
  if (settings === undefined) {
    settings = Object.freeze({ protocolVersion, bridgeMode });
    SETTINGS.set(key, settings);
  }
  return settings;
}
const BEFORE_CONNECT: ParserSettings = Object.freeze({});

export class Codec {
  private failed = false;
  /** MQTT protocol level of the connection: 3, 4 (3.1.1) or 5; set by CONNECT. */
  version = 4;
  private settings = BEFORE_CONNECT;
  /** The start of a packet whose end has not arrived yet, kept as the chunks came (joined once, when whole). */
  private pending: Buffer[] | undefined;
  private pendingBytes = 0;
  /** The whole size of the pending packet, or -1 while its Remaining Length is itself incomplete. */
  private pendingSize = -1;
  /** Whether the connection's CONNECT has been read: until then only CONNECT takes the direct path. */
  private connectRead = false;

  constructor(
    private readonly maxPacketSize: number,
    private readonly sink: CodecSink,
  ) {}

  feed(chunk: Buffer): void {
    if (this.failed) return;
    let data = chunk;
    if (this.pending !== undefined) {
      const joined = this.join(chunk);
      if (joined === undefined) return;
      data = joined;
    }
    let start = 0;
    while (start < data.length && !this.failed) {
      // Remaining Length: one to four bytes of seven bits, least significant first (MQTT 5.0 section 1.5.5).
      let remaining = 0;
      let multiplier = 1;
      let at = start + 1;
      let complete = false;
      while (at < data.length && at < start + 5) {
        const byte = data[at++]!;
        remaining += (byte & 0x7f) * multiplier;
        if ((byte & 0x80) === 0) {
          complete = true;
          break;
        }
        multiplier *= 128;
      }
      if (!complete) {
        // Four bytes all saying "more" is malformed; mqtt-packet reports it, in its words.
        if (at === start + 5) this.parseSlow(data.subarray(start));
        else this.stash(data.subarray(start), -1);
        return;
      }
      // Refuse a declared length past the maximum at once, before waiting for (and buffering) the rest
      // (MQTT 5.0 section 3.2.2.3.6, reason 0x95).
      if (packetSize(remaining) > this.maxPacketSize) {
        this.failed = true;
        this.sink.codecFailed({ kind: 'too-large', size: packetSize(remaining) });
        return;
      }
      const end = at + remaining;
      if (end > data.length) {
        // A header that is already wrong is refused now, as mqtt-packet would, not once the rest has come.
        if (headerIsMalformed(data[start]!)) this.parseSlow(data.subarray(start));
        else this.stash(data.subarray(start), end - start);
        return;
      }
      if (this.connectRead) {
        const packet = decodeFast(data, start, at, end, this.version);
        if (packet !== undefined) this.sink.packetDecoded(packet);
        else this.parseSlow(data.subarray(start, end));
      } else {
        const connect = data[start] === 0x10 ? decodeConnectFast(data, at, end) : undefined;
        if (connect !== undefined) this.parsed(connect);
        else this.parseSlow(data.subarray(start, end));
      }
      start = end;
    }
  }

  private stash(rest: Buffer, size: number): void {
    this.pending = [rest];
    this.pendingBytes = rest.length;
    this.pendingSize = size;
  }

  /** The pending bytes and `chunk` as one buffer once the pending packet is whole, or its header readable. */
  private join(chunk: Buffer): Buffer | undefined {
    const pending = this.pending!;
    pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingSize >= 0 && this.pendingBytes < this.pendingSize) return undefined;
    this.pending = undefined;
    return Buffer.concat(pending, this.pendingBytes);
  }

  /** One whole packet (or bytes mqtt-packet will refuse) through mqtt-packet. */
  private parseSlow(bytes: Buffer): void {
    const result = parseWhole(bytes, this.settings);
    if (result instanceof Error) {
      this.failed = true;
      // Before CONNECT, `bytes` start with what should be one: a refused protocol level is read from it.
      this.sink.codecFailed(classify(result, this.connectRead ? undefined : bytes, this.version));
      return;
    }
    if (result === undefined) {
      this.failed = true;
      this.sink.codecFailed({ kind: 'malformed', message: 'incomplete packet' });
      return;
    }
    this.parsed(result);
  }

  private parsed(result: Packet): void {
    // Only the first CONNECT sets the version: a second one is refused, and must not switch the encoding.
    if (result.cmd === 'connect' && !this.connectRead) {
      this.version = result.protocolVersion ?? 4;
      this.settings = settingsFor(result.protocolVersion, (result as { bridgeMode?: boolean }).bridgeMode);
      this.connectRead = true;
    }
    this.sink.packetDecoded(result);
  }

  encode(packet: Packet): Buffer {
    return (
      shortAck(packet, this.version) ??
      encodePublishFast(packet, this.version) ??
      encodeConnackFast(packet, this.version) ??
      mqttPacket.generate(packet, { protocolVersion: this.version === 5 ? 5 : 4 } as never)
    );
  }
}

/**
 * One mqtt-packet parser for every connection. It only ever gets one whole packet, which it reads synchronously,
 * so it is idle between calls and never holds a connection's bytes; its listeners only record the outcome, so no
 * other code runs while it parses. A parser per connection kept a stream-backed buffer list, a packet object and
 * two listeners (about 1.3 KB) for the connection's whole life.
 */
const shared: { parser: Parser | undefined; packet: Packet | undefined; error: Error | undefined } = {
  parser: undefined,
  packet: undefined,
  error: undefined,
};

function sharedParser(): Parser {
  if (shared.parser === undefined) {
    const parser = mqttPacket.parser();
    parser.on('packet', (packet: Packet) => {
      shared.packet = packet;
    });
    parser.on('error', (error: Error) => {
      shared.error = error;
    });
    shared.parser = parser;
  }
  return shared.parser;
}

/** The packet in `bytes`, mqtt-packet's error for it, or undefined if mqtt-packet wants more bytes. */
function parseWhole(bytes: Buffer, settings: ParserSettings): Packet | Error | undefined {
  const parser = sharedParser();
  shared.packet = undefined;
  shared.error = undefined;
  (parser as unknown as { settings: ParserSettings }).settings = settings;
  try {
    parser.parse(bytes);
    // After an error (some of which mqtt-packet reports without marking itself failed) or bytes that were not one
    // whole packet after all, the next call starts from a fresh parser rather than from a state half-way through.
    if (shared.packet === undefined || shared.error !== undefined) shared.parser = undefined;
  } catch (error) {
    shared.parser = undefined;
    return error instanceof Error ? error : new Error(String(error));
  }
  return shared.error ?? shared.packet;
}

/** Reserved fixed-header flags (MQTT 5.0 section 2.1.3): 0010 for PUBREL, SUBSCRIBE, UNSUBSCRIBE, else 0000. */
const REQUIRED_FLAGS = [-1, 0, 0, -1, 0, 0, 2, 0, 2, 0, 2, 0, 0, 0, 0, 0];

/** True when the first byte alone makes the packet malformed: wrong reserved flags, or QoS 3 on PUBLISH. */
function headerIsMalformed(first: number): boolean {
  const type = first >> 4;
  if (type === 3) return ((first >> 1) & 3) === 3;
  const required = REQUIRED_FLAGS[type]!;
  return required >= 0 && (first & 0x0f) !== required;
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
