/** SUBSCRIBE, PUBLISH, REGISTER, CALL and CANCEL options: defaults, and wrong types refused. */
import { describe, expect, it } from 'vitest';
import { callOptions, cancelMode, matchOption, OptionError, publishOptions, registerOptions } from '../../../protocols/wamp/options.js';

function refused(read: () => unknown, ...fragments: string[]): void {
  let caught: unknown;
  try {
    read();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(OptionError);
  for (const fragment of fragments) expect((caught as Error).message).toContain(fragment);
}

describe('matchOption', () => {
  it('defaults to exact', () => {
    expect(matchOption({})).toBe('exact');
  });

  it.each(['exact', 'prefix', 'wildcard'] as const)('accepts %s', (match) => {
    expect(matchOption({ match })).toBe(match);
  });

  it.each([['regex'], ['Exact'], [1], [null], [['prefix']]])('refuses %j, naming the allowed values', (match) => {
    refused(() => matchOption({ match }), "'match'", 'exact', 'prefix', 'wildcard');
  });

  it('does not accept tail (MQTT only)', () => {
    refused(() => matchOption({ match: 'tail' }), "'match'");
  });
});

describe('publishOptions', () => {
  it('defaults: no acknowledge (QoS 0), no retain, exclude_me, no disclose, no lists', () => {
    expect(publishOptions({})).toEqual({
      acknowledge: false,
      qos: 0,
      retain: false,
      excludeMe: true,
      disclose: false,
      exclude: undefined,
      eligible: undefined,
      excludeAuthid: undefined,
      eligibleAuthid: undefined,
      excludeAuthrole: undefined,
      eligibleAuthrole: undefined,
    });
  });

  it('reads every option', () => {
    expect(
      publishOptions({
        acknowledge: true,
        retain: true,
        exclude_me: false,
        disclose_me: true,
        exclude: [1, 2],
        eligible: [3],
        exclude_authid: ['a'],
        eligible_authid: ['b'],
        exclude_authrole: ['c'],
        eligible_authrole: [],
      }),
    ).toEqual({
      acknowledge: true,
      qos: 1,
      retain: true,
      excludeMe: false,
      disclose: true,
      exclude: [1, 2],
      eligible: [3],
      excludeAuthid: ['a'],
      eligibleAuthid: ['b'],
      excludeAuthrole: ['c'],
      eligibleAuthrole: [],
    });
  });

  it('ignores options it does not know', () => {
    expect(publishOptions({ x_custom: 1 }).excludeMe).toBe(true);
  });

  it.each(['acknowledge', 'retain', 'exclude_me', 'disclose_me'])('%s must be a boolean', (key) => {
    refused(() => publishOptions({ [key]: 'true' }), `'${key}'`, 'boolean');
    refused(() => publishOptions({ [key]: 1 }), `'${key}'`);
    refused(() => publishOptions({ [key]: null }), `'${key}'`);
  });

  it.each(['exclude', 'eligible'])('%s must be a list of valid ids', (key) => {
    refused(() => publishOptions({ [key]: 1 }), `'${key}'`, 'ids');
    refused(() => publishOptions({ [key]: [0] }), `'${key}'`);
    refused(() => publishOptions({ [key]: [1.5] }), `'${key}'`);
    refused(() => publishOptions({ [key]: [2 ** 53] }), `'${key}'`);
    refused(() => publishOptions({ [key]: ['1'] }), `'${key}'`);
    expect(publishOptions({ [key]: [Number.MAX_SAFE_INTEGER] })).toMatchObject({ [key]: [Number.MAX_SAFE_INTEGER] });
  });

  it.each(['exclude_authid', 'eligible_authid', 'exclude_authrole', 'eligible_authrole'])('%s must be a list of strings', (key) => {
    refused(() => publishOptions({ [key]: 'alice' }), `'${key}'`, 'strings');
    refused(() => publishOptions({ [key]: ['alice', 2] }), `'${key}'`);
    refused(() => publishOptions({ [key]: { 0: 'a' } }), `'${key}'`);
  });
});

describe('registerOptions', () => {
  it('defaults: exact match, single invoke, no disclose_caller', () => {
    expect(registerOptions({})).toEqual({ match: 'exact', invoke: 'single', discloseCaller: false });
  });

  it.each(['single', 'roundrobin', 'random', 'first', 'last'] as const)('accepts invoke %s', (invoke) => {
    expect(registerOptions({ invoke }).invoke).toBe(invoke);
  });

  it('reads match and disclose_caller', () => {
    expect(registerOptions({ match: 'wildcard', disclose_caller: true })).toEqual({ match: 'wildcard', invoke: 'single', discloseCaller: true });
  });

  it('refuses an unknown invoke policy, naming the allowed ones', () => {
    refused(() => registerOptions({ invoke: 'all' }), "'invoke'", 'single', 'roundrobin', 'random', 'first', 'last');
  });

  it('refuses a bad match and a non-boolean disclose_caller', () => {
    refused(() => registerOptions({ match: 'regex' }), "'match'");
    refused(() => registerOptions({ disclose_caller: 'yes' }), "'disclose_caller'");
  });
});

describe('callOptions', () => {
  it('defaults: no timeout, no disclose', () => {
    expect(callOptions({})).toEqual({ timeoutMs: 0, disclose: false });
  });

  it('reads timeout (ms) and disclose_me', () => {
    expect(callOptions({ timeout: 1500, disclose_me: true })).toEqual({ timeoutMs: 1500, disclose: true });
    expect(callOptions({ timeout: 0 })).toEqual({ timeoutMs: 0, disclose: false });
  });

  it.each([[-1], [1.5], ['100'], [null], [Number.NaN], [Number.POSITIVE_INFINITY]])('refuses timeout %j', (timeout) => {
    refused(() => callOptions({ timeout }), "'timeout'");
  });

  it('refuses a non-boolean disclose_me', () => {
    refused(() => callOptions({ disclose_me: 1 }), "'disclose_me'");
  });
});

describe('cancelMode', () => {
  it('defaults to killnowait', () => {
    expect(cancelMode({})).toBe('killnowait');
  });

  it.each(['skip', 'kill', 'killnowait'] as const)('accepts %s', (mode) => {
    expect(cancelMode({ mode })).toBe(mode);
  });

  it('refuses another mode, naming the allowed ones', () => {
    refused(() => cancelMode({ mode: 'abort' }), "'mode'", 'skip', 'kill', 'killnowait');
  });
});
