/** Parsing of decoded WAMP messages (WAMP RFC draft, "Messages"): only what a client may send. */
import { describe, expect, it } from 'vitest';
import { Type } from '../../../protocols/wamp/codes.js';
import { parseMessage, isDict } from '../../../protocols/wamp/messages.js';

function reason(raw: unknown): string {
  const result = parseMessage(raw);
  expect(result.ok).toBe(false);
  return result.ok ? '' : result.reason;
}

describe('client messages that parse', () => {
  it('HELLO', () => {
    expect(parseMessage([1, 'realm1', { roles: {} }])).toEqual({ ok: true, message: { type: Type.HELLO, realm: 'realm1', details: { roles: {} } } });
  });

  it('HELLO keeps the realm unchecked for the handler (which knows the URI rule)', () => {
    expect(parseMessage([1, 42, {}])).toMatchObject({ ok: true, message: { realm: 42 } });
  });

  it('AUTHENTICATE', () => {
    expect(parseMessage([5, 'jwt.token.here', {}])).toEqual({ ok: true, message: { type: Type.AUTHENTICATE, signature: 'jwt.token.here', extra: {} } });
  });

  it('ABORT', () => {
    expect(parseMessage([3, { message: 'bye' }, 'wamp.error.x'])).toEqual({
      ok: true,
      message: { type: Type.ABORT, details: { message: 'bye' }, reason: 'wamp.error.x' },
    });
  });

  it('GOODBYE', () => {
    expect(parseMessage([6, {}, 'wamp.close.close_realm'])).toEqual({ ok: true, message: { type: Type.GOODBYE, details: {}, reason: 'wamp.close.close_realm' } });
  });

  it('ERROR, with and without payload', () => {
    expect(parseMessage([8, 68, 12, {}, 'com.example.oops'])).toEqual({
      ok: true,
      message: { type: Type.ERROR, requestType: 68, request: 12, details: {}, error: 'com.example.oops', args: undefined, kwargs: undefined },
    });
    expect(parseMessage([8, 68, 12, {}, 'com.example.oops', [1], { a: 1 }])).toMatchObject({ ok: true, message: { args: [1], kwargs: { a: 1 } } });
  });

  it('PUBLISH, with no payload, args, and args + kwargs', () => {
    expect(parseMessage([16, 1, {}, 'com.topic'])).toEqual({
      ok: true,
      message: { type: Type.PUBLISH, request: 1, options: {}, topic: 'com.topic', args: undefined, kwargs: undefined },
    });
    expect(parseMessage([16, 1, { acknowledge: true }, 'com.topic', ['a']])).toMatchObject({ ok: true, message: { args: ['a'], kwargs: undefined } });
    expect(parseMessage([16, 1, {}, 'com.topic', [], { k: 'v' }])).toMatchObject({ ok: true, message: { args: [], kwargs: { k: 'v' } } });
  });

  it('SUBSCRIBE', () => {
    expect(parseMessage([32, 2, { match: 'prefix' }, 'com'])).toEqual({
      ok: true,
      message: { type: Type.SUBSCRIBE, request: 2, options: { match: 'prefix' }, topic: 'com' },
    });
  });

  it('UNSUBSCRIBE', () => {
    expect(parseMessage([34, 3, 2 ** 40])).toEqual({ ok: true, message: { type: Type.UNSUBSCRIBE, request: 3, subscription: 2 ** 40 } });
  });

  it('CALL', () => {
    expect(parseMessage([48, 4, { timeout: 10 }, 'com.add', [1, 2]])).toEqual({
      ok: true,
      message: { type: Type.CALL, request: 4, options: { timeout: 10 }, procedure: 'com.add', args: [1, 2], kwargs: undefined },
    });
    expect(parseMessage([48, 4, {}, 'com.add'])).toMatchObject({ ok: true, message: { args: undefined } });
    expect(parseMessage([48, 4, {}, 'com.add', [], { x: 1 }])).toMatchObject({ ok: true, message: { kwargs: { x: 1 } } });
  });

  it('CANCEL', () => {
    expect(parseMessage([49, 4, { mode: 'kill' }])).toEqual({ ok: true, message: { type: Type.CANCEL, request: 4, options: { mode: 'kill' } } });
  });

  it('REGISTER', () => {
    expect(parseMessage([64, 5, { invoke: 'roundrobin' }, 'com.add'])).toEqual({
      ok: true,
      message: { type: Type.REGISTER, request: 5, options: { invoke: 'roundrobin' }, procedure: 'com.add' },
    });
  });

  it('UNREGISTER', () => {
    expect(parseMessage([66, 6, 7])).toEqual({ ok: true, message: { type: Type.UNREGISTER, request: 6, registration: 7 } });
  });

  it('YIELD, with no payload, args, and args + kwargs', () => {
    expect(parseMessage([70, 8, {}])).toEqual({ ok: true, message: { type: Type.YIELD, request: 8, options: {}, args: undefined, kwargs: undefined } });
    expect(parseMessage([70, 8, {}, [3]])).toMatchObject({ ok: true, message: { args: [3] } });
    expect(parseMessage([70, 8, {}, [], { r: 1 }])).toMatchObject({ ok: true, message: { args: [], kwargs: { r: 1 } } });
  });

  it('the largest id, 2^53 - 1, is accepted', () => {
    expect(parseMessage([48, Number.MAX_SAFE_INTEGER, {}, 'p'])).toMatchObject({ ok: true, message: { request: Number.MAX_SAFE_INTEGER } });
  });
});

describe('malformed messages', () => {
  it.each<[unknown, string]>([
    [null, 'non-empty list'],
    [{}, 'non-empty list'],
    ['[1]', 'non-empty list'],
    [[], 'non-empty list'],
    [['1', 'realm1', {}], 'integer'],
    [[1.5, 'realm1', {}], 'integer'],
    [[null], 'integer'],
  ])('%j is refused (%s)', (raw, expected) => {
    expect(reason(raw)).toContain(expected);
  });

  // [name, a valid message, one element too few, one element too many]
  const SHAPES: Array<[string, unknown[], unknown[], unknown[]]> = [
    ['HELLO', [1, 'r', {}], [1, 'r'], [1, 'r', {}, {}]],
    ['AUTHENTICATE', [5, 's', {}], [5, 's'], [5, 's', {}, {}]],
    ['ABORT', [3, {}, 'r'], [3, {}], [3, {}, 'r', [], {}, 'x']],
    ['GOODBYE', [6, {}, 'r'], [6, {}], [6, {}, 'r', []]],
    ['ERROR', [8, 68, 1, {}, 'e'], [8, 68, 1, {}], [8, 68, 1, {}, 'e', [], {}, 'x']],
    ['PUBLISH', [16, 1, {}, 't'], [16, 1, {}], [16, 1, {}, 't', [], {}, 'x']],
    ['SUBSCRIBE', [32, 1, {}, 't'], [32, 1, {}], [32, 1, {}, 't', []]],
    ['UNSUBSCRIBE', [34, 1, 2], [34, 1], [34, 1, 2, 3]],
    ['CALL', [48, 1, {}, 'p'], [48, 1, {}], [48, 1, {}, 'p', [], {}, 'x']],
    ['CANCEL', [49, 1, {}], [49, 1], [49, 1, {}, 'x']],
    ['REGISTER', [64, 1, {}, 'p'], [64, 1, {}], [64, 1, {}, 'p', 'x']],
    ['UNREGISTER', [66, 1, 2], [66, 1], [66, 1, 2, 3]],
    ['YIELD', [70, 1, {}], [70, 1], [70, 1, {}, [], {}, 'x']],
  ];

  describe.each(SHAPES)('%s', (name, valid, short, long) => {
    it('parses in its valid form', () => {
      expect(parseMessage(valid).ok).toBe(true);
    });

    it('refuses too few elements, naming the message', () => {
      const why = reason(short);
      expect(why).toContain(name);
      expect(why).toContain('elements');
    });

    it('refuses too many elements, naming the message', () => {
      const why = reason(long);
      expect(why).toContain(name);
      expect(why).toContain('elements');
    });
  });

  // [name, the message with its Details or Options at `at`, that position]
  const DICTS: Array<[string, unknown[], number]> = [
    ['HELLO', [1, 'r', {}], 2],
    ['AUTHENTICATE', [5, 's', {}], 2],
    ['ABORT', [3, {}, 'r'], 1],
    ['GOODBYE', [6, {}, 'r'], 1],
    ['ERROR', [8, 68, 1, {}, 'e'], 3],
    ['PUBLISH', [16, 1, {}, 't'], 2],
    ['SUBSCRIBE', [32, 1, {}, 't'], 2],
    ['CALL', [48, 1, {}, 'p'], 2],
    ['CANCEL', [49, 1, {}], 2],
    ['REGISTER', [64, 1, {}, 'p'], 2],
    ['YIELD', [70, 1, {}], 2],
  ];

  describe.each(DICTS)('%s with a Details/Options that is not a dict', (name, valid, at) => {
    it.each<[string, unknown]>([
      ['a list', []],
      ['null', null],
      ['a string', 'x'],
      ['a number', 1],
      ['bytes', Buffer.from([1])],
    ])('%s is refused, naming the message and the field', (_what, bad) => {
      const raw = [...valid];
      raw[at] = bad;
      const why = reason(raw);
      expect(why).toContain(name);
      expect(why).toContain('must be a dict');
    });
  });

  // [name, a message with an id, the position of each id field and its name]
  const IDS: Array<[string, unknown[], number, string]> = [
    ['ERROR', [8, 68, 1, {}, 'e'], 2, 'Request'],
    ['PUBLISH', [16, 1, {}, 't'], 1, 'Request'],
    ['SUBSCRIBE', [32, 1, {}, 't'], 1, 'Request'],
    ['UNSUBSCRIBE', [34, 1, 2], 1, 'Request'],
    ['UNSUBSCRIBE', [34, 1, 2], 2, 'Subscription'],
    ['CALL', [48, 1, {}, 'p'], 1, 'Request'],
    ['CANCEL', [49, 1, {}], 1, 'Request'],
    ['REGISTER', [64, 1, {}, 'p'], 1, 'Request'],
    ['UNREGISTER', [66, 1, 2], 1, 'Request'],
    ['UNREGISTER', [66, 1, 2], 2, 'Registration'],
    ['YIELD', [70, 1, {}], 1, 'Request'],
  ];

  describe.each(IDS)('%s with a bad id at %#', (name, valid, at, field) => {
    it.each<[string, unknown]>([
      ['0', 0],
      ['-1', -1],
      ['2^53', 2 ** 53],
      ['1.5', 1.5],
      ['a string', '1'],
      ['null', null],
      ['NaN', Number.NaN],
    ])('%s is refused, naming the message and the field', (_what, bad) => {
      const raw = [...valid];
      raw[at] = bad;
      const why = reason(raw);
      expect(why).toContain(`${name}.${field}`);
    });
  });

  it('ERROR with a Request.Type that is not an integer is refused', () => {
    expect(reason([8, 'CALL', 1, {}, 'e'])).toContain('ERROR.Request.Type');
    expect(reason([8, 48.5, 1, {}, 'e'])).toContain('ERROR.Request.Type');
  });

  it('AUTHENTICATE with a signature that is not a string is refused', () => {
    expect(reason([5, 123, {}])).toContain('AUTHENTICATE.Signature');
  });

  it.each<[string, unknown[]]>([
    ['PUBLISH', [16, 1, {}, 't', { not: 'a list' }]],
    ['CALL', [48, 1, {}, 'p', 'x']],
    ['YIELD', [70, 1, {}, null]],
    ['ERROR', [8, 68, 1, {}, 'e', {}]],
  ])('%s with Arguments that are not a list is refused', (name, raw) => {
    expect(reason(raw)).toContain(`${name}.Arguments must be a list`);
  });

  it.each<[string, unknown[]]>([
    ['PUBLISH', [16, 1, {}, 't', [], []]],
    ['CALL', [48, 1, {}, 'p', [], 'x']],
    ['YIELD', [70, 1, {}, [], null]],
    ['ERROR', [8, 68, 1, {}, 'e', [], [1]]],
  ])('%s with ArgumentsKw that is not a dict is refused', (name, raw) => {
    expect(reason(raw)).toContain(`${name}.ArgumentsKw must be a dict`);
  });
});

describe('messages a client may not send', () => {
  it.each<[string, unknown[]]>([
    ['WELCOME', [Type.WELCOME, 1, {}]],
    ['CHALLENGE', [Type.CHALLENGE, 'ticket', {}]],
    ['PUBLISHED', [Type.PUBLISHED, 1, 2]],
    ['SUBSCRIBED', [Type.SUBSCRIBED, 1, 2]],
    ['UNSUBSCRIBED', [Type.UNSUBSCRIBED, 1]],
    ['EVENT', [Type.EVENT, 1, 2, {}]],
    ['RESULT', [Type.RESULT, 1, {}]],
    ['REGISTERED', [Type.REGISTERED, 1, 2]],
    ['UNREGISTERED', [Type.UNREGISTERED, 1]],
    ['INVOCATION', [Type.INVOCATION, 1, 2, {}]],
    ['INTERRUPT', [Type.INTERRUPT, 1, {}]],
    ['an unknown type', [99, 1]],
    ['type 0', [0]],
    ['a negative type', [-1, {}]],
  ])('%s is refused, naming the type', (_name, raw) => {
    const why = reason(raw);
    expect(why).toContain(`message type ${String(raw[0])}`);
    expect(why).toContain('not one a client may send');
  });
});

describe('isDict', () => {
  it.each<[unknown, boolean]>([
    [{}, true],
    [{ a: 1 }, true],
    [Object.create(null), true],
    [[], false],
    [null, false],
    [undefined, false],
    ['x', false],
    [Buffer.from([1]), false],
    [new Uint8Array(1), false],
  ])('%j -> %s', (value, expected) => {
    expect(isDict(value)).toBe(expected);
  });
});
