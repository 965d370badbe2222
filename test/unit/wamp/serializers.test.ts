/**
 * `wamp.2.json` and `wamp.2.cbor`, including the interop traps of DESIGN.md: binary in JSON, ids above 2^32
 * in CBOR, uint64 decoding, and cbor-x records.
 */
import { Decoder, Encoder } from 'cbor-x';
import { describe, expect, it } from 'vitest';
import { cborSerializer, integersAsBigInt } from '../../../protocols/wamp/serializers/cbor.js';
import { serializers } from '../../../protocols/wamp/serializers/index.js';
import { jsonSerializer } from '../../../protocols/wamp/serializers/json.js';
import { routerRoles } from '../../../protocols/wamp/features.js';

const MAX_ID = Number.MAX_SAFE_INTEGER;

describe('serializers', () => {
  it('are registered by subprotocol, JSON in text frames and CBOR in binary frames', () => {
    expect([...serializers.keys()].sort()).toEqual(['wamp.2.cbor', 'wamp.2.json']);
    expect(serializers.get('wamp.2.json')).toBe(jsonSerializer);
    expect(serializers.get('wamp.2.cbor')).toBe(cborSerializer);
    expect(jsonSerializer.binary).toBe(false);
    expect(cborSerializer.binary).toBe(true);
  });

  describe.each([jsonSerializer, cborSerializer])('$protocol', (serializer) => {
    it('round-trips a message', () => {
      const message = [36, 1, MAX_ID, { topic: 'com.x', n: null, t: true }, [1, 'two', 3.5, -4], { k: [{ deep: 'v' }] }];
      expect(serializer.decode(serializer.encode(message, false))).toEqual(message);
    });

    it('round-trips bytes nested anywhere', () => {
      const message = [48, 1, {}, 'com.bytes', [Buffer.from([0, 1, 2, 255])], { blob: Buffer.from([9]), empty: Buffer.alloc(0) }];
      const back = serializer.decode(serializer.encode(message, true)) as unknown[];
      const args = back[4] as unknown[];
      const kwargs = back[5] as Record<string, Uint8Array>;
      expect(args[0]).toBeInstanceOf(Uint8Array);
      expect([...(args[0] as Uint8Array)]).toEqual([0, 1, 2, 255]);
      expect([...(kwargs.blob as Uint8Array)]).toEqual([9]);
      expect(kwargs.empty).toBeInstanceOf(Uint8Array);
      expect(kwargs.empty?.length).toBe(0);
    });

    it('encodes WELCOME with the roles written once, byte for byte as the whole message encoded', () => {
      const details = [
        { realm: 'realm1', authid: 'anonymous-1a2b', authrole: 'anonymous', authmethod: 'anonymous', authprovider: 'static' },
        { realm: 'r', authid: 'caf\u00e9 \u2603 "quoted" \\', authrole: 'user', authmethod: 'ticket', authprovider: undefined },
        {},
      ];
      for (const sessionId of [1, 4294967296, MAX_ID]) {
        for (const detail of details) {
          expect(serializer.encodeWelcome(sessionId, detail)).toEqual(serializer.encode([2, sessionId, { ...detail, roles: routerRoles }], false));
        }
      }
    });

    it('throws on malformed input', () => {
      const garbage = serializer === jsonSerializer ? Buffer.from('[1, "realm1", {') : Buffer.from([0x9f, 0x01]);
      expect(() => serializer.decode(garbage)).toThrow();
    });
  });
});

describe('wamp.2.json: binary as NUL + base64', () => {
  it('encodes bytes as a string of NUL followed by base64', () => {
    const text = jsonSerializer.encode([70, 1, {}, [Buffer.from([1, 2, 3])]], true).toString('utf8');
    expect(text).toBe('[70,1,{},["\\u0000AQID"]]');
  });

  it('decodes NUL + base64 strings into bytes, anywhere in the message', () => {
    const decoded = jsonSerializer.decode(Buffer.from('[16,1,{},"t",["\\u0000AQID","x"],{"a":{"b":"\\u0000/w=="}}]')) as unknown[];
    const args = decoded[4] as unknown[];
    expect(args[0]).toBeInstanceOf(Buffer);
    expect([...(args[0] as Buffer)]).toEqual([1, 2, 3]);
    expect(args[1]).toBe('x');
    const b = ((decoded[5] as Record<string, Record<string, unknown>>).a as Record<string, unknown>).b;
    expect([...(b as Buffer)]).toEqual([0xff]);
  });

  it('leaves a string with a NUL elsewhere, or an escaped backslash, as text', () => {
    const decoded = jsonSerializer.decode(Buffer.from('[16,1,{},"t",["a\\u0000b","\\\\u0000AQID"]]')) as unknown[];
    expect(decoded[4]).toEqual(['a\u0000b', '\\u0000AQID']);
  });

  it('writes plain JSON when the message holds no bytes', () => {
    expect(jsonSerializer.encode([1, 'realm1', { roles: {} }], false).toString()).toBe('[1,"realm1",{"roles":{}}]');
  });

  it('writes ids up to 2^53 - 1 exactly', () => {
    expect(jsonSerializer.encode([2, MAX_ID, {}], false).toString()).toBe(`[2,${MAX_ID},{}]`);
  });
});

/** The bytes of one CBOR data item encoded alone, via a one-element message: [item] = 0x81 + item. */
function encodedItem(value: unknown): Buffer {
  const bytes = cborSerializer.encode([value], false);
  expect(bytes[0]).toBe(0x81);
  return bytes.subarray(1);
}

const majorType = (byte: number | undefined): number => (byte ?? 0) >> 5;

describe('wamp.2.cbor: integers', () => {
  it.each([2 ** 32, 2 ** 32 + 1, 2 ** 40, 2 ** 52 + 1, MAX_ID])('encodes the id %d as a uint64 (0x1b), never a float', (id) => {
    const item = encodedItem(id);
    expect(item[0]).toBe(0x1b);
    expect(item.length).toBe(9);
    expect(item.readBigUInt64BE(1)).toBe(BigInt(id));
  });

  it('encodes ids below 2^32 as CBOR unsigned integers too', () => {
    expect(encodedItem(1)[0]).toBe(0x01);
    expect(encodedItem(255)[0]).toBe(0x18);
    expect(encodedItem(0xffff)[0]).toBe(0x19);
    expect(encodedItem(0xffffffff)[0]).toBe(0x1a);
  });

  it.each([-(2 ** 31) - 1, -(2 ** 32), -(2 ** 40), -MAX_ID])('encodes the negative wide integer %d as a CBOR negative integer', (value) => {
    const item = encodedItem(value);
    expect(majorType(item[0])).toBe(1);
    expect(item[0]).not.toBe(0xfb);
    expect(cborSerializer.decode(cborSerializer.encode([value], false))).toEqual([value]);
  });

  it('encodes a WELCOME with a wide session id as integers throughout', () => {
    const bytes = cborSerializer.encode([2, MAX_ID, { roles: { broker: { features: {} } } }], false);
    // No float64 marker anywhere in this message, which holds no floats.
    expect(bytes.includes(0xfb)).toBe(false);
    expect(bytes.subarray(0, 3)).toEqual(Buffer.from([0x83, 0x02, 0x1b]));
  });

  it('finds wide integers nested in lists and dicts', () => {
    const bytes = cborSerializer.encode([36, 1, 2, { publisher: 2 ** 40 }, [[2 ** 41]], { n: { m: -(2 ** 42) } }], false);
    expect(bytes.includes(0xfb)).toBe(false);
    expect(cborSerializer.decode(bytes)).toEqual([36, 1, 2, { publisher: 2 ** 40 }, [[2 ** 41]], { n: { m: -(2 ** 42) } }]);
  });

  it('keeps floats as floats', () => {
    const item = encodedItem(1.5);
    expect([0xf9, 0xfa, 0xfb]).toContain(item[0]);
    expect(cborSerializer.decode(cborSerializer.encode([1.5, -0.25, 0.1], false))).toEqual([1.5, -0.25, 0.1]);
  });

  it.each([1e20, -1e20, 2 ** 64, 1e300])('keeps the large integer-valued float %d a number (no bignum tag, no BigInt)', (value) => {
    const item = encodedItem(value);
    expect(item[0]).not.toBe(0xc2);
    expect(item[0]).not.toBe(0xc3);
    const back = cborSerializer.decode(cborSerializer.encode([value], false)) as unknown[];
    expect(typeof back[0]).toBe('number');
    expect(back[0]).toBe(value);
  });

  it.each([
    ['uint64 2^53 - 1', '1b001fffffffffffff', MAX_ID],
    ['uint64 2^40', '1b0000010000000000', 2 ** 40],
    ['uint64 max', '1bffffffffffffffff', 2 ** 64],
    ['negative int64 -2^40', '3b000000ffffffffff', -(2 ** 40)],
  ])('decodes %s as a number, not a BigInt', (_name, hex, expected) => {
    const decoded = cborSerializer.decode(Buffer.from(`81${hex}`, 'hex')) as unknown[];
    expect(typeof decoded[0]).toBe('number');
    expect(decoded[0]).toBe(expected);
  });

  it('never hands a BigInt to the router: a CBOR bignum (tag 2/3) is a number or a refused message', () => {
    // [16, 1, {}, "t", [2^64, -2^64 - 1]] with both integers as bignums, as a peer's CBOR library may write them.
    // A BigInt that got through would make JSON.stringify throw while encoding the EVENT for JSON subscribers.
    const bignum = 'c249010000000000000000';
    const negative = 'c349010000000000000000';
    const bytes = Buffer.from('851001a0' + '6174' + `82${bignum}${negative}`, 'hex');
    // Well-formed CBOR: a plain decoder reads it.
    expect(new Decoder({ useRecords: false }).decode(bytes)).toHaveLength(5);
    let decoded: unknown;
    try {
      decoded = cborSerializer.decode(bytes);
    } catch {
      return; // refusing the message is fine: the peer gets a protocol violation
    }
    const hasBigInt = (value: unknown): boolean =>
      typeof value === 'bigint' || (value !== null && typeof value === 'object' && Object.values(value).some(hasBigInt));
    expect(hasBigInt(decoded)).toBe(false);
  });

  it('the integersAsBigInt helper copies only what changes', () => {
    const untouched = [1, 'a', { b: 2 }, [3]];
    expect(integersAsBigInt(untouched)).toBe(untouched);
    const nested = { keep: { x: 1 }, change: [2 ** 40] };
    const converted = integersAsBigInt(nested) as typeof nested;
    expect(converted).not.toBe(nested);
    expect(converted.keep).toBe(nested.keep);
    expect(converted.change[0]).toBe(BigInt(2 ** 40));
    expect(nested.change[0]).toBe(2 ** 40);
    const bytes = Buffer.from([1]);
    expect(integersAsBigInt(bytes)).toBe(bytes);
  });
});

describe('wamp.2.cbor: maps and records', () => {
  it('decodes maps as plain objects, not Map instances', () => {
    const decoded = cborSerializer.decode(cborSerializer.encode([1, 'realm1', { roles: { caller: {} } }], false)) as unknown[];
    const details = decoded[2];
    expect(details).not.toBeInstanceOf(Map);
    expect(Object.getPrototypeOf(details)).toBe(Object.prototype);
    expect(details).toEqual({ roles: { caller: {} } });
  });

  it('decodes maps written by another encoder (plain CBOR maps) as plain objects', () => {
    // [1, "r", {"a": 1}] written by hand: 0x83 0x01 0x61 'r' 0xa1 0x61 'a' 0x01
    const decoded = cborSerializer.decode(Buffer.from('830161' + '72' + 'a1' + '6161' + '01', 'hex')) as unknown[];
    expect(Object.getPrototypeOf(decoded[2])).toBe(Object.prototype);
    expect(decoded).toEqual([1, 'r', { a: 1 }]);
  });

  it('writes no cbor-x records: a plain decoder reads repeated object shapes back', () => {
    const message = [16, 1, {}, 'com.t', [{ a: 1, b: 'x' }, { a: 2, b: 'y' }, { a: 3, b: 'z' }], { same: { a: 4, b: 'w' } }];
    const bytes = cborSerializer.encode(message, false);
    // Records use tag 57343 (0xd9 0xdf 0xff) and its neighbours (0xd9 0xdf ..).
    expect(bytes.toString('hex')).not.toContain('d9df');
    expect(new Decoder({ useRecords: false }).decode(bytes)).toEqual(message);
  });

  it('writes bytes as a CBOR byte string (major type 2), not a tagged typed array', () => {
    const item = encodedItem(Buffer.from([1, 2, 3]));
    expect(item.toString('hex')).toBe('43010203');
    const plain = encodedItem(Uint8Array.from([4]));
    expect(plain.toString('hex')).toBe('4104');
  });

  it('decodes what a plain (non-record) cbor-x encoder of another peer writes', () => {
    const encoder = new Encoder({ useRecords: false, mapsAsObjects: true });
    const bytes = encoder.encode([32, 1, { match: 'prefix' }, 'com']);
    expect(cborSerializer.decode(bytes)).toEqual([32, 1, { match: 'prefix' }, 'com']);
  });
});
