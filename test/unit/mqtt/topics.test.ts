/**
 * MQTT topic names and filters (protocols/mqtt/topics.ts): validity with the spec's clause ids, `$share`
 * parsing, the configured limits, and the mapping to and from the core's component lists.
 */
import { describe, expect, it } from 'vitest';
import { WILDCARD } from '../../../src/core/match/types.js';
import { fromComponents, isValidTopicName, parseFilter, toComponents, type TopicLimits } from '../../../protocols/mqtt/topics.js';

const LIMITS: TopicLimits = { maxTopicLength: 65535, maxTopicLevels: 128 };

describe('isValidTopicName', () => {
  it.each(['a', 'a/b/c', '/', 'a/', '/a', 'a//b', 'sport/tennis/player1', '$SYS/broker', 'é/ü/€', ' ', 'a b'])('accepts %j', (topic) => {
    expect(isValidTopicName(topic, LIMITS)).toBe(true);
  });

  it('[MQTT-4.7.3-1] refuses the empty topic name', () => {
    expect(isValidTopicName('', LIMITS)).toBe(false);
  });

  it.each(['+', '#', 'a/+', 'a/#', 'a/b+', 'a#', '+/a', 'sport/tennis/#'])('[MQTT-3.3.2-2] refuses wildcard characters: %j', (topic) => {
    expect(isValidTopicName(topic, LIMITS)).toBe(false);
  });

  it.each(['\u0000', 'a\u0000b', 'a/\u0000'])('[MQTT-4.7.3-2] refuses U+0000: %j', (topic) => {
    expect(isValidTopicName(topic, LIMITS)).toBe(false);
  });

  it('applies maxTopicLength in UTF-8 bytes, not characters', () => {
    const limits = { maxTopicLength: 4, maxTopicLevels: 128 };
    expect(isValidTopicName('abcd', limits)).toBe(true);
    expect(isValidTopicName('abcde', limits)).toBe(false);
    // 'éé' is 2 characters but 4 bytes; 'ééa' is 5 bytes.
    expect(isValidTopicName('éé', limits)).toBe(true);
    expect(isValidTopicName('ééa', limits)).toBe(false);
    expect(isValidTopicName('€€', limits)).toBe(false); // 6 bytes
  });

  it('applies maxTopicLevels (levels = separators + 1)', () => {
    const limits = { maxTopicLength: 65535, maxTopicLevels: 3 };
    expect(isValidTopicName('a/b/c', limits)).toBe(true);
    expect(isValidTopicName('a/b/c/d', limits)).toBe(false);
    expect(isValidTopicName('//', limits)).toBe(true);
    expect(isValidTopicName('///', limits)).toBe(false);
  });
});

describe('parseFilter', () => {
  it('an exact filter keeps its levels', () => {
    expect(parseFilter('a/b/c', LIMITS)).toEqual({ pattern: ['a', 'b', 'c'], policy: 'exact' });
    expect(parseFilter('/', LIMITS)).toEqual({ pattern: ['', ''], policy: 'exact' });
    expect(parseFilter('a//b', LIMITS)).toEqual({ pattern: ['a', '', 'b'], policy: 'exact' });
  });

  it('+ becomes the core wildcard and the policy `wildcard`', () => {
    expect(parseFilter('+', LIMITS)).toEqual({ pattern: [WILDCARD], policy: 'wildcard' });
    expect(parseFilter('a/+/c', LIMITS)).toEqual({ pattern: ['a', WILDCARD, 'c'], policy: 'wildcard' });
    expect(parseFilter('+/+', LIMITS)).toEqual({ pattern: [WILDCARD, WILDCARD], policy: 'wildcard' });
    expect(parseFilter('/+', LIMITS)).toEqual({ pattern: ['', WILDCARD], policy: 'wildcard' });
  });

  it('a trailing # makes a tail pattern of the levels before it', () => {
    expect(parseFilter('#', LIMITS)).toEqual({ pattern: [], policy: 'tail' });
    expect(parseFilter('a/#', LIMITS)).toEqual({ pattern: ['a'], policy: 'tail' });
    expect(parseFilter('a/b/#', LIMITS)).toEqual({ pattern: ['a', 'b'], policy: 'tail' });
    expect(parseFilter('/#', LIMITS)).toEqual({ pattern: [''], policy: 'tail' });
  });

  it('+ and # together: tail wins as the policy, the + stays a wildcard level', () => {
    expect(parseFilter('a/+/#', LIMITS)).toEqual({ pattern: ['a', WILDCARD], policy: 'tail' });
    expect(parseFilter('+/#', LIMITS)).toEqual({ pattern: [WILDCARD], policy: 'tail' });
  });

  it.each(['a/#/b', '#/a', 'a#', 'a/b#', '#a', '##', 'a/#/#'])('[MQTT-4.7.1-2] # only as the whole last level: %j is invalid', (filter) => {
    expect(parseFilter(filter, LIMITS)).toBeUndefined();
  });

  it.each(['a+', '+a', 'a/b+/c', 'a/+b', '++', 'a/++'])('[MQTT-4.7.1-3] + only as a whole level: %j is invalid', (filter) => {
    expect(parseFilter(filter, LIMITS)).toBeUndefined();
  });

  it('[MQTT-4.7.3-1] the empty filter is invalid', () => {
    expect(parseFilter('', LIMITS)).toBeUndefined();
  });

  it.each(['\u0000', 'a/\u0000', 'a\u0000/#', '$share/g/\u0000', '$share/g\u0000/a'])('[MQTT-4.7.3-2] U+0000 is invalid: %j', (filter) => {
    expect(parseFilter(filter, LIMITS)).toBeUndefined();
  });

  describe('shared subscriptions', () => {
    it('$share/{group}/{filter} yields the group and the parsed filter', () => {
      expect(parseFilter('$share/g1/a/b', LIMITS)).toEqual({ pattern: ['a', 'b'], policy: 'exact', shareGroup: 'g1' });
      expect(parseFilter('$share/g1/a/+', LIMITS)).toEqual({ pattern: ['a', WILDCARD], policy: 'wildcard', shareGroup: 'g1' });
      expect(parseFilter('$share/g1/#', LIMITS)).toEqual({ pattern: [], policy: 'tail', shareGroup: 'g1' });
      expect(parseFilter('$share/grp/a/+/#', LIMITS)).toEqual({ pattern: ['a', WILDCARD], policy: 'tail', shareGroup: 'grp' });
      // the filter part may itself start with a separator
      expect(parseFilter('$share/g//a', LIMITS)).toEqual({ pattern: ['', 'a'], policy: 'exact', shareGroup: 'g' });
      // the filter part may itself look like $share
      expect(parseFilter('$share/g/$share/x', LIMITS)).toEqual({ pattern: ['$share', 'x'], policy: 'exact', shareGroup: 'g' });
    });

    it('a topic that merely starts with "$share" but not "$share/" is an ordinary filter', () => {
      expect(parseFilter('$share', LIMITS)).toEqual({ pattern: ['$share'], policy: 'exact' });
      expect(parseFilter('$shared/g/a', LIMITS)).toEqual({ pattern: ['$shared', 'g', 'a'], policy: 'exact' });
      expect(parseFilter('$SHARE/g/a', LIMITS)).toEqual({ pattern: ['$SHARE', 'g', 'a'], policy: 'exact' });
    });

    it.each(['$share/g+/a', '$share/+/a', '$share/g#/a', '$share/#/a', '$share//a', '$share/'])(
      '[MQTT-4.8.2-1] the share name is at least one character without + or #: %j is invalid',
      (filter) => {
        expect(parseFilter(filter, LIMITS)).toBeUndefined();
      },
    );

    it.each(['$share/g', '$share/g/'])('[MQTT-4.8.2-2] a topic filter must follow the share name: %j is invalid', (filter) => {
      expect(parseFilter(filter, LIMITS)).toBeUndefined();
    });

    it.each(['$share/g/a#', '$share/g/#/a', '$share/g/a+', '$share/g/+a'])('the filter after the share name follows the wildcard rules: %j is invalid', (filter) => {
      expect(parseFilter(filter, LIMITS)).toBeUndefined();
    });
  });

  describe('limits', () => {
    it('maxTopicLength counts UTF-8 bytes of the whole filter', () => {
      const limits = { maxTopicLength: 5, maxTopicLevels: 128 };
      expect(parseFilter('a/b/#', limits)).toBeDefined();
      expect(parseFilter('a/b/c#', limits)).toBeUndefined();
      expect(parseFilter('ab/c/#', limits)).toBeUndefined();
      expect(parseFilter('é/+/', limits)).toBeDefined(); // 5 bytes
      expect(parseFilter('é/+/a', limits)).toBeUndefined(); // 6 bytes
    });

    it('maxTopicLevels counts the levels, # included', () => {
      const limits = { maxTopicLength: 65535, maxTopicLevels: 3 };
      expect(parseFilter('a/b/c', limits)).toBeDefined();
      expect(parseFilter('a/b/#', limits)).toBeDefined();
      expect(parseFilter('a/b/c/#', limits)).toBeUndefined();
      expect(parseFilter('+/+/+/+', limits)).toBeUndefined();
    });

    it('the default limits accept 128 levels and refuse 129', () => {
      expect(parseFilter(Array(128).fill('x').join('/'), LIMITS)).toBeDefined();
      expect(parseFilter(Array(129).fill('x').join('/'), LIMITS)).toBeUndefined();
      expect(isValidTopicName(Array(128).fill('x').join('/'), LIMITS)).toBe(true);
      expect(isValidTopicName(Array(129).fill('x').join('/'), LIMITS)).toBe(false);
    });

    it('the default length limit is 65535 bytes (the most an MQTT string can hold)', () => {
      expect(isValidTopicName('a'.repeat(65535), LIMITS)).toBe(true);
      expect(isValidTopicName('a'.repeat(65536), LIMITS)).toBe(false);
      expect(parseFilter('a'.repeat(65535), LIMITS)).toBeDefined();
      expect(parseFilter('a'.repeat(65536), LIMITS)).toBeUndefined();
    });
  });
});

describe('toComponents / fromComponents', () => {
  it('toComponents splits on /, keeping empty levels', () => {
    expect(toComponents('a/b/c')).toEqual(['a', 'b', 'c']);
    expect(toComponents('a')).toEqual(['a']);
    expect(toComponents('/a/')).toEqual(['', 'a', '']);
    expect(toComponents('/')).toEqual(['', '']);
    expect(toComponents('a.b/c')).toEqual(['a.b', 'c']);
  });

  it('fromComponents joins with /', () => {
    expect(fromComponents(['a', 'b', 'c'])).toBe('a/b/c');
    expect(fromComponents(['a'])).toBe('a');
    expect(fromComponents(['', 'a', ''])).toBe('/a/');
    expect(fromComponents(['com', 'example.x'])).toBe('com/example.x');
  });

  it.each([
    ['a/b', 'c'],
    ['a+', 'b'],
    ['a', '#'],
    ['a', 'b\u0000'],
  ])('a component holding /, +, # or U+0000 has no MQTT spelling: %j', (...topic) => {
    expect(fromComponents(topic)).toBeUndefined();
  });

  it('the empty list has no MQTT spelling', () => {
    expect(fromComponents([])).toBeUndefined();
  });

  it('[MQTT-4.7.3-1] a single empty component would be the empty topic name, which has no MQTT spelling', () => {
    // [''] joins to '', which no PUBLISH may carry as its topic name.
    expect(fromComponents([''])).toBeUndefined();
  });

  it('round-trips every valid topic name', () => {
    for (const topic of ['a', 'a/b', '/', '//', 'a/', '/a', 'x/y/z/é', '$SYS/broker/uptime']) {
      expect(isValidTopicName(topic, LIMITS)).toBe(true);
      expect(fromComponents(toComponents(topic))).toBe(topic);
    }
  });
});
