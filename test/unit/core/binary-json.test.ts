/**
 * Byte arrays inside JSON text: a string of NUL followed by base64 (WAMP RFC draft, "Binary conversion of
 * JSON strings"), shared by the WAMP JSON serializer and the MQTT payload envelope.
 */
import { describe, expect, it } from 'vitest';
import { containsBinary, isEncodedBinary, reviveBinary, stringifyWithBinary } from '../../../src/core/binary-json.js';

describe('isEncodedBinary', () => {
  it('is true only for strings that start with NUL', () => {
    expect(isEncodedBinary('\u0000')).toBe(true);
    expect(isEncodedBinary('\u0000AQID')).toBe(true);
    expect(isEncodedBinary('')).toBe(false);
    expect(isEncodedBinary('AQID')).toBe(false);
    expect(isEncodedBinary('a\u0000')).toBe(false);
    expect(isEncodedBinary('\\u0000')).toBe(false);
  });
});

describe('stringifyWithBinary', () => {
  it('writes a byte array as NUL + base64', () => {
    expect(stringifyWithBinary(Buffer.from([1, 2, 3]))).toBe('"\\u0000AQID"');
    expect(stringifyWithBinary(Uint8Array.from([0xff]))).toBe('"\\u0000/w=="');
  });

  it('writes an empty byte array as a lone NUL', () => {
    expect(stringifyWithBinary(new Uint8Array(0))).toBe('"\\u0000"');
  });

  it('finds byte arrays nested in arrays and objects', () => {
    const value = [1, { a: Buffer.from([1, 2, 3]), b: [Uint8Array.from([0xff])] }, 'x'];
    expect(JSON.parse(stringifyWithBinary(value))).toEqual([1, { a: '\u0000AQID', b: ['\u0000/w=='] }, 'x']);
  });

  it('writes only the bytes of a view, not its whole backing buffer', () => {
    const backing = Buffer.from([9, 9, 1, 2, 3, 9]);
    expect(stringifyWithBinary(backing.subarray(2, 5))).toBe('"\\u0000AQID"');
    const typed = new Uint8Array(backing.buffer, backing.byteOffset + 2, 3);
    expect(stringifyWithBinary([typed])).toBe('["\\u0000AQID"]');
  });

  it('leaves everything else as JSON.stringify writes it', () => {
    const value = { n: 1, s: 'text', t: true, z: null, list: [1, 'a'], nested: { deep: 2.5 } };
    expect(stringifyWithBinary(value)).toBe(JSON.stringify(value));
  });

  it('does not write the Buffer.toJSON shape', () => {
    expect(stringifyWithBinary({ b: Buffer.from([1]) })).not.toContain('"type":"Buffer"');
  });
});

describe('containsBinary', () => {
  it.each<[string, unknown, boolean]>([
    ['a Buffer', Buffer.from([1]), true],
    ['a Uint8Array', new Uint8Array(0), true],
    ['bytes in an array', [1, [2, Buffer.from([1])]], true],
    ['bytes in an object', { a: { b: Uint8Array.from([1]) } }, true],
    ['null', null, false],
    ['undefined', undefined, false],
    ['a string', '\u0000AQID', false],
    ['a number', 3, false],
    ['plain JSON data', { a: [1, 'x', { b: null }] }, false],
    ['an empty array', [], false],
  ])('%s -> %s', (_name, value, expected) => {
    expect(containsBinary(value)).toBe(expected);
  });
});

describe('reviveBinary', () => {
  it('turns a NUL + base64 string into a Buffer', () => {
    const revived = reviveBinary('\u0000AQID');
    expect(revived).toBeInstanceOf(Buffer);
    expect([...(revived as Buffer)]).toEqual([1, 2, 3]);
  });

  it('turns a lone NUL into an empty Buffer', () => {
    const revived = reviveBinary('\u0000');
    expect(revived).toBeInstanceOf(Buffer);
    expect((revived as Buffer).length).toBe(0);
  });

  it('revives nested values in place and leaves other values alone', () => {
    const value = { a: ['\u0000AQID', 'plain', 1, null], b: { c: '\u0000/w==' }, d: 'a\u0000b' };
    const revived = reviveBinary(value) as typeof value;
    expect(revived).toBe(value);
    expect([...(revived.a[0] as unknown as Buffer)]).toEqual([1, 2, 3]);
    expect(revived.a.slice(1)).toEqual(['plain', 1, null]);
    expect([...(revived.b.c as unknown as Buffer)]).toEqual([0xff]);
    expect(revived.d).toBe('a\u0000b');
  });

  it.each([1, true, null, 'text'])('returns %j unchanged', (value) => {
    expect(reviveBinary(value)).toBe(value);
  });

  it('round-trips with stringifyWithBinary', () => {
    const value = { args: [Buffer.from([0, 1, 2, 253, 254, 255]), 'x'], kwargs: { empty: Buffer.alloc(0) } };
    const back = reviveBinary(JSON.parse(stringifyWithBinary(value))) as typeof value;
    expect([...(back.args[0] as Buffer)]).toEqual([0, 1, 2, 253, 254, 255]);
    expect(back.args[1]).toBe('x');
    expect(back.kwargs.empty).toBeInstanceOf(Buffer);
    expect(back.kwargs.empty.length).toBe(0);
  });

  it('an own __proto__ key from JSON.parse stays an own key and does not touch the prototype', () => {
    const value = JSON.parse('{"__proto__":{"x":"\\u0000AQ=="}}') as Record<string, unknown>;
    reviveBinary(value);
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });
});
