import { addExtension, Decoder, Encoder } from 'cbor-x';
import { Type } from '../codes.js';
import { routerRoles } from '../features.js';
import type { Serializer } from './types.js';

// Records are a cbor-x extension other peers cannot read; maps decode to plain objects.
const encoder = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false });
// uint64 would otherwise decode to BigInt; WAMP ids stay below 2^53, so numbers are exact.
// `int64AsNumber` is a runtime option of cbor-x that its type declarations do not list.
const decoder = new Decoder({ useRecords: false, mapsAsObjects: true, int64AsNumber: true } as ConstructorParameters<typeof Decoder>[0]);

/**
 * A peer may write big integers as CBOR bignums (tags 2 and 3), which cbor-x decodes to BigInt. A BigInt inside
 * the router would break every JSON peer (JSON has no BigInt), so bignums decode to numbers, with the precision
 * of a double like every other number the router holds. The registration is decode-only and process-wide.
 */
function bignumToNumber(negative: boolean) {
  return (bytes: Uint8Array): number => {
    let value = 0;
    for (const byte of bytes) value = value * 256 + byte;
    return negative ? -1 - value : value;
  };
}
addExtension({ tag: 2, decode: bignumToNumber(false) } as unknown as Parameters<typeof addExtension>[0]);
addExtension({ tag: 3, decode: bignumToNumber(true) } as unknown as Parameters<typeof addExtension>[0]);

/**
 * `wamp.2.cbor`: binary frames. cbor-x writes integers beyond 32 bits as float64, which peers such as
 * autobahn-python refuse as ids; such integers are turned into BigInt first, which cbor-x writes as CBOR
 * integers.
 */
export const cborSerializer: Serializer = {
  protocol: 'wamp.2.cbor',
  binary: true,
  encode(message) {
    return encoder.encode(integersAsBigInt(message));
  },
  encodeWelcome(sessionId, details) {
    return cborSerializer.encode([Type.WELCOME, sessionId, { ...details, roles: routerRoles }], false);
  },
  decode(data) {
    return decoder.decode(data);
  },
};

/** An exact integer that cbor-x would write as a float. Larger whole numbers are doubles and stay floats. */
function isWideInteger(value: number): boolean {
  return Number.isSafeInteger(value) && (value > 0xffffffff || value < -0x80000000);
}

/** Returns the value with every wide integer as a BigInt, copying only the containers that change. */
export function integersAsBigInt(value: unknown): unknown {
  if (typeof value === 'number') return isWideInteger(value) ? BigInt(value) : value;
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      const next = integersAsBigInt(item);
      if (next !== item) {
        copy ??= value.slice();
        copy[i] = next;
      }
    }
    return copy ?? value;
  }
  const record = value as Record<string, unknown>;
  let copy: Record<string, unknown> | undefined;
  for (const key in record) {
    const item = record[key];
    const next = integersAsBigInt(item);
    if (next !== item) {
      copy ??= { ...record };
      copy[key] = next;
    }
  }
  return copy ?? value;
}
