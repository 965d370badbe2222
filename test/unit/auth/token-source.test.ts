import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { extractUpgradeToken } from '../../../src/auth/token-source.js';

const COOKIE = 'switchboard_token';

function request(headers: IncomingMessage['headers'], url = '/ws'): IncomingMessage {
  return { headers, url } as IncomingMessage;
}

describe('extractUpgradeToken', () => {
  it('finds nothing in a bare request', () => {
    expect(extractUpgradeToken(request({}), COOKIE)).toBeUndefined();
    expect(extractUpgradeToken({ headers: {} } as IncomingMessage, COOKIE)).toBeUndefined();
  });

  it('reads an Authorization Bearer header, whatever the scheme case', () => {
    expect(extractUpgradeToken(request({ authorization: 'Bearer abc.def.ghi' }), COOKIE)).toBe('abc.def.ghi');
    expect(extractUpgradeToken(request({ authorization: 'bearer abc' }), COOKIE)).toBe('abc');
    expect(extractUpgradeToken(request({ authorization: 'BEARER   abc  ' }), COOKIE)).toBe('abc');
  });

  it('ignores other schemes and malformed Bearer headers, falling through to the other sources', () => {
    const url = '/ws?access_token=from-query';
    expect(extractUpgradeToken(request({ authorization: 'Basic dXNlcjpwYXNz' }, url), COOKIE)).toBe('from-query');
    expect(extractUpgradeToken(request({ authorization: 'Bearer' }, url), COOKIE)).toBe('from-query');
    expect(extractUpgradeToken(request({ authorization: 'Bearer a b' }, url), COOKIE)).toBe('from-query');
    expect(extractUpgradeToken(request({ authorization: 'Bearerabc' }, url), COOKIE)).toBe('from-query');
  });

  it('reads the access_token query parameter, decoded', () => {
    expect(extractUpgradeToken(request({}, '/ws?x=1&access_token=abc.def&y=2'), COOKIE)).toBe('abc.def');
    expect(extractUpgradeToken(request({}, '/ws?access_token=a%2Bb%3D'), COOKIE)).toBe('a+b=');
    expect(extractUpgradeToken(request({}, '/ws?access_token='), COOKIE)).toBeUndefined();
    expect(extractUpgradeToken(request({}, '/ws?token=abc'), COOKIE)).toBeUndefined();
  });

  it('reads the named cookie among others', () => {
    const cookie = `a=1; ${COOKIE}=abc.def.ghi; b=2`;
    expect(extractUpgradeToken(request({ cookie }), COOKIE)).toBe('abc.def.ghi');
    expect(extractUpgradeToken(request({ cookie: `${COOKIE}=tok` }), COOKIE)).toBe('tok');
    expect(extractUpgradeToken(request({ cookie: `  ${COOKIE} = tok ;x=y` }), COOKIE)).toBe('tok');
  });

  it('splits a cookie on the first = only and URL-decodes the value', () => {
    expect(extractUpgradeToken(request({ cookie: `${COOKIE}=a=b==` }), COOKIE)).toBe('a=b==');
    expect(extractUpgradeToken(request({ cookie: `${COOKIE}=a%20b%3Bc` }), COOKIE)).toBe('a b;c');
    expect(extractUpgradeToken(request({ cookie: `${COOKIE}="quoted"` }), COOKIE)).toBe('quoted');
    // A malformed escape keeps the raw value rather than throwing.
    expect(extractUpgradeToken(request({ cookie: `${COOKIE}=100%` }), COOKIE)).toBe('100%');
  });

  it('does not confuse cookies whose names merely contain the name', () => {
    const cookie = `x${COOKIE}=wrong; ${COOKIE}x=wrong2; novalue; ${COOKIE}=right`;
    expect(extractUpgradeToken(request({ cookie }), COOKIE)).toBe('right');
    expect(extractUpgradeToken(request({ cookie: `x${COOKIE}=wrong` }), COOKIE)).toBeUndefined();
    expect(extractUpgradeToken(request({ cookie: `${COOKIE}=` }), COOKIE)).toBeUndefined();
  });

  it('honours a custom cookie name', () => {
    const cookie = `${COOKIE}=default; session=custom`;
    expect(extractUpgradeToken(request({ cookie }), 'session')).toBe('custom');
  });

  it('prefers the header, then the query, then the cookie', () => {
    const all = request(
      { authorization: 'Bearer from-header', cookie: `${COOKIE}=from-cookie` },
      '/ws?access_token=from-query',
    );
    expect(extractUpgradeToken(all, COOKIE)).toBe('from-header');
    const noHeader = request({ cookie: `${COOKIE}=from-cookie` }, '/ws?access_token=from-query');
    expect(extractUpgradeToken(noHeader, COOKIE)).toBe('from-query');
    expect(extractUpgradeToken(request({ cookie: `${COOKIE}=from-cookie` }), COOKIE)).toBe('from-cookie');
  });
});
