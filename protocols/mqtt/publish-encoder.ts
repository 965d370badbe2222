/**
 * Encode once per fan-out. Every receiver of a publication that needs the same bytes (same protocol version,
 * same QoS and retain flag, no per-receiver properties such as subscription identifiers or topic aliases) gets
 * them from one encoding; for QoS 1/2 a copy is made and only its packet identifier is patched. The broker hands
 * receivers one publication at a time, so remembering the last encoding is enough.
 */
import type { Packet } from 'mqtt-packet';
import type { Codec } from './codec.js';

interface Memo {
  message: object | undefined;
  version: number;
  bytes: Buffer | undefined;
  /** Where the packet identifier sits in `bytes` (QoS > 0). */
  idOffset: number;
}

const memo: Memo = { message: undefined, version: 0, bytes: undefined, idOffset: 0 };

/**
 * The bytes of a PUBLISH for `message` with `packetId`, from the memo when the last call was for the same message
 * object and version. `build` makes the packet when the memo misses.
 */
export function encodeShared(codec: Codec, message: object, qos: number, packetId: number, build: () => Packet): Buffer {
  if (memo.message !== message || memo.version !== codec.version || memo.bytes === undefined) {
    const bytes = codec.encode(build());
    memo.message = message;
    memo.version = codec.version;
    memo.bytes = bytes;
    memo.idOffset = qos > 0 ? packetIdOffset(bytes) : 0;
    return bytes;
  }
  if (qos === 0) return memo.bytes;
  const copy = Buffer.from(memo.bytes);
  copy.writeUInt16BE(packetId, memo.idOffset);
  return copy;
}

/** Fixed header byte, the Remaining Length (1 to 4 bytes), the topic (2-byte length + bytes), then the id. */
function packetIdOffset(bytes: Buffer): number {
  let offset = 1;
  while ((bytes[offset]! & 0x80) !== 0) offset++;
  offset++;
  return offset + 2 + bytes.readUInt16BE(offset);
}
