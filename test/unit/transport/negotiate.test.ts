/** WebSocket subprotocol selection (RFC 6455 section 4.2.2; DESIGN.md "Data flow", step 2). */
import { describe, expect, it } from 'vitest';
import { negotiate, parseOffered } from '../../../src/transport/negotiate.js';

const SUPPORTED: ReadonlySet<string> = new Set(['wamp.2.json', 'wamp.2.cbor', 'mqtt']);

describe('parseOffered', () => {
  it.each<[string | string[] | undefined, string[]]>([
    [undefined, []],
    ['', []],
    ['   ', []],
    ['wamp.2.json', ['wamp.2.json']],
    ['wamp.2.cbor, wamp.2.json', ['wamp.2.cbor', 'wamp.2.json']],
    ['  wamp.2.cbor ,\twamp.2.json  ', ['wamp.2.cbor', 'wamp.2.json']],
    ['a,,b, ,', ['a', 'b']],
    [['mqtt', 'wamp.2.json'], ['mqtt', 'wamp.2.json']],
    [['mqtt, x', ' wamp.2.json '], ['mqtt', 'x', 'wamp.2.json']],
    [[], []],
  ])('%j -> %j', (header, expected) => {
    expect(parseOffered(header)).toEqual(expected);
  });
});

describe('negotiate', () => {
  it('the client’s first supported subprotocol wins, whatever the server’s order', () => {
    expect(negotiate('wamp.2.cbor, wamp.2.json', SUPPORTED, undefined)).toEqual({ kind: 'accept', protocol: 'wamp.2.cbor', echo: true });
    expect(negotiate('wamp.2.json, wamp.2.cbor', SUPPORTED, undefined)).toEqual({ kind: 'accept', protocol: 'wamp.2.json', echo: true });
    expect(negotiate('mqttv3.1, mqtt, wamp.2.json', SUPPORTED, undefined)).toEqual({ kind: 'accept', protocol: 'mqtt', echo: true });
  });

  it('skips unsupported ones before the first supported one', () => {
    expect(negotiate('graphql-ws, wamp.2.json', SUPPORTED, undefined)).toEqual({ kind: 'accept', protocol: 'wamp.2.json', echo: true });
  });

  it('tolerates whitespace around tokens and empty list items', () => {
    expect(negotiate(' ,  wamp.2.cbor\t ,', SUPPORTED, undefined)).toEqual({ kind: 'accept', protocol: 'wamp.2.cbor', echo: true });
  });

  it('joins repeated headers in order', () => {
    expect(negotiate(['foo', 'wamp.2.cbor, wamp.2.json'], SUPPORTED, undefined)).toEqual({ kind: 'accept', protocol: 'wamp.2.cbor', echo: true });
    expect(negotiate(['wamp.2.json', 'wamp.2.cbor'], SUPPORTED, undefined)).toEqual({ kind: 'accept', protocol: 'wamp.2.json', echo: true });
  });

  it('compares tokens exactly (case-sensitive)', () => {
    const result = negotiate('WAMP.2.JSON', SUPPORTED, undefined);
    expect(result.kind).toBe('reject');
  });

  it('an offered default protocol is echoed like any other', () => {
    expect(negotiate('wamp.2.cbor', SUPPORTED, 'wamp.2.json')).toEqual({ kind: 'accept', protocol: 'wamp.2.cbor', echo: true });
  });

  it('rejects with 400 and a body naming the offered and the supported ones when none is supported', () => {
    const result = negotiate('graphql-ws, soap', SUPPORTED, 'wamp.2.json');
    expect(result.kind).toBe('reject');
    if (result.kind !== 'reject') return;
    expect(result.status).toBe(400);
    for (const name of ['graphql-ws', 'soap', 'wamp.2.json', 'wamp.2.cbor', 'mqtt']) expect(result.body).toContain(name);
  });

  it('with none offered, accepts the default protocol without echo', () => {
    expect(negotiate(undefined, SUPPORTED, 'wamp.2.json')).toEqual({ kind: 'accept', protocol: 'wamp.2.json', echo: false });
    expect(negotiate('', SUPPORTED, 'wamp.2.cbor')).toEqual({ kind: 'accept', protocol: 'wamp.2.cbor', echo: false });
    expect(negotiate([], SUPPORTED, 'mqtt')).toEqual({ kind: 'accept', protocol: 'mqtt', echo: false });
  });

  it('with none offered and no default, rejects with 400 naming the supported ones', () => {
    for (const header of [undefined, '', ' , ', []]) {
      const result = negotiate(header, SUPPORTED, undefined);
      expect(result.kind).toBe('reject');
      if (result.kind !== 'reject') continue;
      expect(result.status).toBe(400);
      for (const name of SUPPORTED) expect(result.body).toContain(name);
    }
  });

  it('with none offered, a default that no module supports is refused too', () => {
    const result = negotiate(undefined, SUPPORTED, 'wamp.2.msgpack');
    expect(result.kind).toBe('reject');
    expect(result.kind === 'reject' && result.status).toBe(400);
  });
});
