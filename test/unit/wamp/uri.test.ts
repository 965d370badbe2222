/** WAMP URI rules (WAMP RFC draft, "URIs"; "Pattern-based Subscriptions/Registrations"). */
import { describe, expect, it } from 'vitest';
import { fromComponents, isValidUri, toComponents, toPolicy } from '../../../protocols/wamp/uri.js';
import { WILDCARD } from '../../../src/port.js';

describe('isValidUri: loose', () => {
  it.each(['realm1', 'com.example.topic', 'com.Example.Topic', 'a-b.c_d.e1', 'com.myapp.émoji', 'x', 'a.b:c.$d'])('accepts %j', (uri) => {
    expect(isValidUri(uri, 'loose')).toBe(true);
    expect(isValidUri(uri, 'loose', 'exact')).toBe(true);
    expect(isValidUri(uri, 'loose', 'prefix')).toBe(true);
  });

  it.each([
    ['empty', ''],
    ['an empty component', 'a..b'],
    ['a leading dot', '.a'],
    ['a trailing dot', 'a.'],
    ['a lone dot', '.'],
    ['a space', 'a b.c'],
    ['a tab', 'a\tb'],
    ['a newline', 'a.b\n'],
    ['a #', 'a.#'],
    ['a # inside', 'a.b#c'],
    ['a NUL', 'a.\u0000.b'],
    ['a NUL inside a component', 'a.b\u0000c'],
  ])('refuses %s', (_name, uri) => {
    expect(isValidUri(uri, 'loose')).toBe(false);
  });

  it.each([undefined, null, 1, ['a'], { uri: 'a' }])('refuses the non-string %j', (value) => {
    expect(isValidUri(value, 'loose')).toBe(false);
    expect(isValidUri(value, 'strict', 'wildcard')).toBe(false);
  });
});

describe('isValidUri: strict', () => {
  it.each(['realm1', 'com.example.topic', 'a_b.c1', '0.1'])('accepts %j', (uri) => {
    expect(isValidUri(uri, 'strict')).toBe(true);
  });

  it.each(['Com.example', 'a-b.c', 'com.myapp.émoji', 'a:b', 'a..b', 'a.', '', 'a b'])('refuses %j', (uri) => {
    expect(isValidUri(uri, 'strict')).toBe(false);
  });
});

describe('isValidUri: wildcard patterns may have empty components', () => {
  it.each(['a..c', '.b.c', 'a.b.', '..c', 'a..', '.', '..'])('accepts %j (loose and strict)', (uri) => {
    expect(isValidUri(uri, 'loose', 'wildcard')).toBe(true);
    expect(isValidUri(uri, 'strict', 'wildcard')).toBe(true);
  });

  it('still accepts a pattern without empty components', () => {
    expect(isValidUri('a.b.c', 'loose', 'wildcard')).toBe(true);
  });

  it.each(['', 'a..b c', 'a.#.c', 'a.\u0000.c', '\u0000', 'a.\u0000'])('refuses %j', (uri) => {
    expect(isValidUri(uri, 'loose', 'wildcard')).toBe(false);
  });

  it('applies the strict rule to the non-empty components', () => {
    expect(isValidUri('Com..x', 'strict', 'wildcard')).toBe(false);
    expect(isValidUri('Com..x', 'loose', 'wildcard')).toBe(true);
  });

  it('empty components are only for wildcard patterns', () => {
    expect(isValidUri('a..c', 'loose', 'exact')).toBe(false);
    expect(isValidUri('a..c', 'loose', 'prefix')).toBe(false);
  });
});

describe('toComponents', () => {
  it('splits on dots', () => {
    expect(toComponents('com.example.topic')).toEqual(['com', 'example', 'topic']);
    expect(toComponents('x')).toEqual(['x']);
  });

  it('under wildcard, turns empty components into the core wildcard', () => {
    expect(toComponents('a..c', 'wildcard')).toEqual(['a', WILDCARD, 'c']);
    expect(toComponents('.b.', 'wildcard')).toEqual([WILDCARD, 'b', WILDCARD]);
    expect(toComponents('a.b', 'wildcard')).toEqual(['a', 'b']);
  });

  it('under exact and prefix, an empty component stays a literal empty string', () => {
    expect(toComponents('a..c')).toEqual(['a', '', 'c']);
    expect(toComponents('a..c', 'prefix')).toEqual(['a', '', 'c']);
  });

  it('prefix patterns keep their last, partial component', () => {
    expect(toComponents('a.b.emergency', 'prefix')).toEqual(['a', 'b', 'emergency']);
  });
});

describe('toPolicy', () => {
  it('maps each WAMP match onto the core policy of the same name', () => {
    expect(toPolicy('exact')).toBe('exact');
    expect(toPolicy('prefix')).toBe('prefix');
    expect(toPolicy('wildcard')).toBe('wildcard');
  });
});

describe('fromComponents', () => {
  it('joins components that have a WAMP spelling', () => {
    expect(fromComponents(['com', 'example', 'topic'])).toBe('com.example.topic');
    expect(fromComponents(['sensor-1', '$SYS', 'a+b'])).toBe('sensor-1.$SYS.a+b');
  });

  it.each<[string, string[]]>([
    ['a component with a dot', ['a', 'b.c']],
    ['a component with #', ['a', '#']],
    ['a component with a space', ['a', 'b c']],
    ['a component with a tab', ['a\tb']],
    ['a component with a newline', ['a\n']],
    ['an empty component', ['a', '', 'c']],
    ['a leading empty component (MQTT "/a")', ['', 'a']],
    ['the core wildcard', ['a', WILDCARD]],
    ['a NUL inside a component', ['a\u0000b']],
    ['no components at all', []],
  ])('refuses %s', (_name, topic) => {
    expect(fromComponents(topic)).toBeUndefined();
  });

  it('round-trips with toComponents for valid URIs', () => {
    for (const uri of ['a', 'com.example.topic', 'x-1.y_2']) expect(fromComponents(toComponents(uri))).toBe(uri);
  });
});
