import { describe, expect, it } from 'vitest';
import { isReservedForRouter } from '../../../src/core/reserved.js';

describe('isReservedForRouter', () => {
  it.each([
    [['wamp', 'session', 'on_join'], true],
    [['wamp'], true],
    [['$SYS', 'broker', 'uptime'], true],
    [['$SYS'], true],
    [['wampus', 'x'], false],
    [['$sys', 'x'], false],
    [['com', 'wamp'], false],
    [['$app', 'x'], false],
    [[], false],
  ])('%j -> %s', (topic, reserved) => {
    expect(isReservedForRouter(topic)).toBe(reserved);
  });
});
