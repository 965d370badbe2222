import { describe, expect, it } from 'vitest';
import { cookieOriginAllowed, originAllowed } from '../../../src/transport/origin.js';

describe('originAllowed', () => {
  it.each([
    [undefined, ['https://a.example'], false, true],
    ['https://a.example', [], false, true],
    ['https://a.example', ['https://a.example'], false, true],
    ['https://A.example', ['https://a.example'], false, true],
    ['https://b.example', ['https://a.example'], false, false],
    ['https://b.example', ['*'], false, true],
    ['https://b.example', ['https://a.example'], true, true],
  ] as const)('origin %s, list %j, allow all %s -> %s', (origin, list, allowAll, expected) => {
    expect(originAllowed(origin, list, allowAll)).toBe(expected);
  });
});

describe('cookieOriginAllowed', () => {
  it.each([
    [undefined, '127.0.0.1:8080', [], true],
    ['http://127.0.0.1:8080', '127.0.0.1:8080', [], true],
    ['https://evil.example', '127.0.0.1:8080', [], false],
    ['https://app.example', 'router.example', ['https://app.example'], true],
    ['https://evil.example', 'router.example', ['*'], true],
    ['not a url', 'router.example', [], false],
  ] as const)('origin %s, host %s, list %j -> %s', (origin, host, list, expected) => {
    expect(cookieOriginAllowed(origin, host, list)).toBe(expected);
  });
});
