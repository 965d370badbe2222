/**
 * Rule patterns, and the two pure questions a pattern subscription or registration asks of a rule: does an
 * allow rule cover the filter, could a deny rule overlap it. Table-driven, then checked against brute force
 * over a small universe of topics, then RuleSet (which walks the match index) against a naive scan.
 */
import { describe, expect, it } from 'vitest';
import {
  compileRoles,
  covers,
  overlaps,
  parsePattern,
  patternProblem,
  policyOf,
  RuleError,
  RuleSet,
  type RulePattern,
} from '../../../src/auth/rules.js';
import { matches, startsWithDollar } from '../../../src/core/match/matches.js';
import { WILDCARD, type Policy } from '../../../src/core/match/types.js';

const W = WILDCARD;

/** A filter as the protocols hand it to the core, written MQTT-style with `.`: `+` is any one, a last `#` a tail. */
interface Filter {
  pattern: string[];
  policy: Policy;
}

function filter(text: string, policy?: Policy): Filter {
  const parts = text === '' ? [] : text.split('.');
  if (policy === 'prefix' || policy === 'exact') return { pattern: parts, policy };
  const tail = parts[parts.length - 1] === '#';
  if (tail) parts.pop();
  const pattern = parts.map((c) => (c === '+' ? W : c));
  return { pattern, policy: tail ? 'tail' : pattern.includes(W) ? 'wildcard' : 'exact' };
}

/** `name` of a filter for test titles. */
const show = (f: Filter): string => `${f.policy} [${f.pattern.map((c) => (c === W ? '+' : c)).join(', ')}]`;

describe('patternProblem / parsePattern', () => {
  it.each([
    ['sensors', [['sensors'], false]],
    ['sensors.temp', [['sensors', 'temp'], false]],
    ['sensors.+.temp', [['sensors', W, 'temp'], false]],
    ['sensors.#', [['sensors'], true]],
    ['#', [[], true]],
    ['+', [[W], false]],
    ['+.#', [[W], true]],
    ['$SYS.#', [['$SYS'], true]],
    ['com.example-x_1.ü', [['com', 'example-x_1', 'ü'], false]],
  ] as const)('%j parses', (text, [components, tail]) => {
    expect(patternProblem(text)).toBeUndefined();
    expect(parsePattern(text)).toEqual({ components, tail });
  });

  it.each([
    ['', 'empty'],
    ['a..b', 'empty component'],
    ['.a', 'empty component'],
    ['a.', 'empty component'],
    ['#.a', "'#' may only be the whole last component"],
    ['a.#.b', "'#' may only be the whole last component"],
    ['a.b#', 'whole components'],
    ['a.+b', 'whole components'],
    ['a+', 'whole components'],
    ['a.##', 'whole components'],
    ['a b', 'whitespace'],
    ['a.\tb', 'whitespace'],
    ['a.\u0000', 'U+0000'],
  ])('%j is refused (%s)', (text, why) => {
    expect(patternProblem(text)).toContain(why);
    expect(() => parsePattern(text, 'realms.r.roles.u.allow.publish.0')).toThrow(RuleError);
    expect(() => parsePattern(text, 'realms.r.roles.u.allow.publish.0')).toThrow(/realms\.r\.roles\.u\.allow\.publish\.0/);
  });

  it.each([
    ['a.b', 'exact'],
    ['a.+', 'wildcard'],
    ['a.#', 'tail'],
    ['a.+.#', 'tail'],
    ['#', 'tail'],
  ] as const)('%j is stored under policy %s', (text, policy) => {
    expect(policyOf(parsePattern(text))).toBe(policy);
  });
});

/** [rule, filter, expected] */
type Row = readonly [string, Filter, boolean];

const COVERS: readonly Row[] = [
  // The examples of the issue.
  ['sensors.#', filter('sensors.+.temp'), true],
  ['sensors.#', filter('sensors.#'), true],
  ['sensors.+.temp', filter('sensors.#'), false],
  // A tail covers its own node and everything below it.
  ['sensors.#', filter('sensors'), true],
  ['sensors.#', filter('sensors.a.b'), true],
  ['sensors.#', filter('sensors.+'), true],
  ['sensors.#', filter('sensors.+.#'), true],
  ['sensors.#', filter('+.temp'), false],
  ['sensors.#', filter('#'), false],
  ['sensors.#', filter('other.#'), false],
  // One-level wildcards.
  ['sensors.+.temp', filter('sensors.+.temp'), true],
  ['sensors.+.temp', filter('sensors.a.temp'), true],
  ['sensors.+.temp', filter('sensors.+.+'), false],
  ['sensors.+.temp', filter('sensors.+.temp.#'), false],
  ['sensors.+.temp', filter('sensors.+'), false],
  ['sensors.+.temp', filter('sensors'), false],
  ['sensors.+.#', filter('sensors.a'), true],
  ['sensors.+.#', filter('sensors.+.x.#'), true],
  ['sensors.+.#', filter('sensors.#'), false], // `sensors.#` also matches `sensors` itself
  ['sensors.+.#', filter('sensors'), false],
  ['+.+', filter('+.+'), true],
  ['+.+', filter('a.+'), true],
  ['+.+', filter('+.#'), false],
  // Exact rules cover only their own topic.
  ['sensors.a', filter('sensors.a'), true],
  ['sensors.a', filter('sensors.+'), false],
  ['sensors.a', filter('sensors.a.#'), false],
  ['a.b.c', filter('a.b'), false],
  // The root tail.
  ['#', filter('#'), true],
  ['#', filter('+.x'), true],
  ['#', filter('a.b'), true],
  ['#', filter('x.#'), true],
  ['#', filter('+'), true],
  ['+.#', filter('#'), false], // `#` reaches the empty topic, `+.#` needs one component
  ['+.#', filter('+.+'), true],
  // `$` topics: `+` first or a root `#` does not allow them [MQTT-4.7.2-1]...
  ['#', filter('$SYS.x'), false],
  ['#', filter('$SYS.#'), false],
  ['+.x', filter('$SYS.x'), false],
  ['+.#', filter('$SYS'), false],
  // ...but filters that do not name their first component never receive them, so nothing is lost.
  ['+.x', filter('+.x'), true],
  ['+.x', filter('a.x'), true],
  // Naming the `$` component allows them.
  ['$SYS.#', filter('$SYS.x'), true],
  ['$SYS.#', filter('$SYS.#'), true],
  ['$SYS.#', filter('$SYS.+.y'), true],
  ['$SYS.#', filter('+.x'), false],
  ['$SYS.#', filter('#'), false],
  ['x.+', filter('x.$y'), true], // `$` matters only first
  // MQTT empty levels (`/a` is ['', 'a']) are literal components: a `+` covers them, a name does not.
  ['#', { pattern: ['', W], policy: 'wildcard' }, true],
  ['+.+', { pattern: ['', W], policy: 'wildcard' }, true],
  ['a.+', { pattern: ['', W], policy: 'wildcard' }, false],
  // WAMP `prefix` (string prefix on the last component): covered only by a `#` rule over the fixed components,
  // optionally with one `+` over the partial one.
  ['a.#', filter('a.b', 'prefix'), true],
  ['a.+.#', filter('a.b', 'prefix'), true],
  ['#', filter('a.b', 'prefix'), true],
  ['+.#', filter('a.b', 'prefix'), true],
  ['a.b.#', filter('a.b', 'prefix'), false], // prefix `a.b` also matches `a.bc`
  ['a.b', filter('a.b', 'prefix'), false],
  ['a.+', filter('a.b', 'prefix'), false], // prefix `a.b` also matches `a.b.c`
  ['a.bc.#', filter('a.b', 'prefix'), false],
  ['a.b.+.#', filter('a.b', 'prefix'), false],
  ['b.#', filter('a.b', 'prefix'), false],
  ['#', filter('a', 'prefix'), true],
  ['+.#', filter('a', 'prefix'), true],
  ['a.#', filter('a', 'prefix'), false], // prefix `a` matches `ab`
  ['#', filter('', 'prefix'), false], // the empty prefix matches nothing: refused, conservatively
  ['#', filter('$SYS.x', 'prefix'), false],
  ['$SYS.#', filter('$SYS.x', 'prefix'), true],
  ['a.b.#', filter('a.b.c', 'prefix'), true],
  ['a.+.#', filter('a.b.c', 'prefix'), true],
  ['a.+.c.#', filter('a.b.c', 'prefix'), false],
  // An exact filter may hold U+0000 only as a literal (protocols refuse it); only `+` reaches it.
  ['a.+', { pattern: ['a', W], policy: 'exact' }, true],
];

describe('covers(rule, filter)', () => {
  it.each(COVERS.map(([rule, f, expected]) => [rule, show(f), expected, f] as const))(
    '%j covers %s: %s',
    (rule, _name, expected, f) => {
      expect(covers(parsePattern(rule), f.pattern, f.policy)).toBe(expected);
    },
  );
});

const OVERLAPS: readonly Row[] = [
  ['sensors.secret', filter('sensors.#'), true],
  ['sensors.secret', filter('sensors.+'), true],
  ['sensors.secret', filter('+.secret'), true],
  ['sensors.secret', filter('#'), true],
  ['sensors.secret', filter('sensors.secret'), true],
  ['sensors.secret', filter('sensors.+.x'), false],
  ['sensors.secret', filter('other.#'), false],
  ['sensors.secret', filter('sensors.public'), false],
  ['sensors.secret', filter('sensors.secret.#'), true],
  ['sensors.secret', filter('sensors.secret.+'), false],
  ['sensors.+.secret', filter('sensors.#'), true],
  ['sensors.+.secret', filter('sensors.a.+'), true],
  ['sensors.+.secret', filter('sensors.+.+'), true],
  ['sensors.+.secret', filter('sensors.+'), false],
  ['sensors.+.secret', filter('sensors.a.public'), false],
  ['sensors.+.secret', filter('sensors.a.secret.#'), true],
  ['a.#', filter('a'), true],
  ['a.#', filter('+'), true],
  ['a.#', filter('#'), true],
  ['a.#', filter('+.b.c'), true],
  ['a.#', filter('b.+'), false],
  ['a.b.c.#', filter('a.+'), false], // the rule needs three components, the filter has two
  ['a.b.c.#', filter('a.+.#'), true],
  // Deny reads `$` topics without the exception: `#` and `+...` reach them.
  ['#', filter('$SYS.x'), true],
  ['#', filter('#'), true],
  ['#', filter('a', 'prefix'), true],
  ['+.secret', filter('$SYS.secret'), true],
  ['+.#', filter('$SYS'), true],
  // A filter that does not name its first component never receives a `$` topic.
  ['$SYS.#', filter('$SYS.x'), true],
  ['$SYS.#', filter('$SYS.#'), true],
  ['$SYS.#', filter('#'), false],
  ['$SYS.#', filter('+.x'), false],
  ['$SYS.x', filter('+.+'), false],
  // WAMP prefix.
  ['a.bc', filter('a.b', 'prefix'), true],
  ['a.b', filter('a.b', 'prefix'), true],
  ['a.x', filter('a.b', 'prefix'), false],
  ['a', filter('a.b', 'prefix'), false],
  ['a.#', filter('a.b', 'prefix'), true],
  ['a.bc.d', filter('a.b', 'prefix'), true],
  ['a.+.d', filter('a.b', 'prefix'), true],
  ['a.c.#', filter('a.b', 'prefix'), false],
  ['abc', filter('ab', 'prefix'), true],
  ['+', filter('ab', 'prefix'), true],
  ['$ab', filter('', 'prefix'), false],
  ['$ab', filter('$a', 'prefix'), false], // a root `$` prefix matches nothing [MQTT-4.7.2-1]
  ['#', filter('$a', 'prefix'), false],
  ['$ab.c', filter('$ab.c', 'prefix'), true],
];

describe('overlaps(denyRule, filter)', () => {
  it.each(OVERLAPS.map(([rule, f, expected]) => [rule, show(f), expected, f] as const))(
    '%j overlaps %s: %s',
    (rule, _name, expected, f) => {
      expect(overlaps(parsePattern(rule), f.pattern, f.policy)).toBe(expected);
    },
  );
});

// ---------------------------------------------------------------------------------------------------------
// Brute force over a small universe: every topic of up to 3 components over an alphabet with a `$` name.
// ---------------------------------------------------------------------------------------------------------

const ALPHABET = ['a', 'ab', 'b', '$s', '$sa', 'z'];
const TOPICS: string[][] = [[]];
for (let length = 1, layer: string[][] = [[]]; length <= 3; length++) {
  layer = layer.flatMap((topic) => ALPHABET.map((c) => [...topic, c]));
  TOPICS.push(...layer);
}

/** Every rule of up to two components over {a, b, $s, +}, with and without a trailing `#`. */
const RULES: RulePattern[] = [];
{
  const parts = ['a', 'b', '$s', '+'];
  const bodies: string[][] = [[]];
  for (const p of parts) bodies.push([p]);
  for (const p of parts) for (const q of parts) bodies.push([p, q]);
  for (const body of bodies) {
    if (body.length > 0) RULES.push(parsePattern(body.join('.')));
    RULES.push(parsePattern([...body, '#'].join('.')));
  }
}

/** Every filter of up to two components over {a, b, $s, any}, under every policy that can hold it. */
const FILTERS: Filter[] = [];
{
  const parts = ['a', 'b', '$s', W];
  const bodies: string[][] = [[]];
  for (const p of parts) bodies.push([p]);
  for (const p of parts) for (const q of parts) bodies.push([p, q]);
  for (const body of bodies) {
    const literal = !body.includes(W);
    if (literal) FILTERS.push({ pattern: body, policy: 'exact' });
    else FILTERS.push({ pattern: body, policy: 'wildcard' });
    FILTERS.push({ pattern: body, policy: 'tail' });
    if (literal) {
      FILTERS.push({ pattern: body, policy: 'prefix' });
      // Partial last components: `$` and `` as prefixes, too.
      if (body.length > 0) {
        FILTERS.push({ pattern: [...body.slice(0, -1), ''], policy: 'prefix' });
        FILTERS.push({ pattern: [...body.slice(0, -1), '$'], policy: 'prefix' });
      }
    }
  }
}

/** The allow reading of a rule: the index's own `matches`, `$` exception included. */
const allows = (rule: RulePattern, topic: readonly string[]): boolean => matches(rule.components, policyOf(rule), topic);

/** The deny reading: the same, without the `$` exception. */
function denies(rule: RulePattern, topic: readonly string[]): boolean {
  if (allows(rule, topic)) return true;
  return startsWithDollar(topic) && allows(rule, ['x', ...topic.slice(1)]) && (rule.components.length === 0 || rule.components[0] === W);
}

const ruleText = (rule: RulePattern): string => [...rule.components.map((c) => (c === W ? '+' : c)), ...(rule.tail ? ['#'] : [])].join('.');

describe('brute force over every topic of up to 3 components', () => {
  it(`covers is sound for ${RULES.length} rules x ${FILTERS.length} filters, and exact except for prefix filters`, () => {
    const wrong: string[] = [];
    for (const rule of RULES) {
      for (const f of FILTERS) {
        const reached = TOPICS.filter((topic) => matches(f.pattern, f.policy, topic));
        const truth = reached.every((topic) => allows(rule, topic));
        const claimed = covers(rule, f.pattern, f.policy);
        // Claiming coverage must be true; refusing it may be conservative only for prefix filters (their
        // topics reach past the universe: `ab` from prefix `a` is in it, `a$` is not).
        if (claimed && !truth) wrong.push(`${ruleText(rule)} claims to cover ${show(f)}`);
        if (!claimed && truth && f.policy !== 'prefix') wrong.push(`${ruleText(rule)} should cover ${show(f)}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('overlaps is exact: true if and only if some topic is reached by the filter and denied by the rule', () => {
    const wrong: string[] = [];
    for (const rule of RULES) {
      for (const f of FILTERS) {
        const truth = TOPICS.some((topic) => matches(f.pattern, f.policy, topic) && denies(rule, topic));
        const claimed = overlaps(rule, f.pattern, f.policy);
        // A miss would let a denied topic through; a false alarm only refuses more (allowed, but not expected).
        if (!claimed && truth) wrong.push(`${ruleText(rule)} misses ${show(f)}`);
        if (claimed && !truth) wrong.push(`${ruleText(rule)} claims to overlap ${show(f)}`);
      }
    }
    expect(wrong).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------------
// RuleSet: the index walk must agree with a naive scan.
// ---------------------------------------------------------------------------------------------------------

const SETS: ReadonlyArray<{ allow: string[]; deny: string[] }> = [
  { allow: [], deny: [] },
  { allow: ['#'], deny: [] },
  { allow: ['#'], deny: ['$s.#'] },
  { allow: ['#', '$s.#'], deny: ['a.b'] },
  { allow: ['a.#', 'b.+'], deny: ['a.$s'] },
  { allow: ['+.a', 'a.+.#', '$s.+'], deny: ['+.b.#'] },
  { allow: ['a', 'a.b', 'a.+', 'b.#'], deny: ['b.a.+', 'a.a'] },
  { allow: ['+.+.#', '+'], deny: ['#'] },
  { allow: ['$s.#', 'a.#'], deny: ['+.z'] },
];

describe('RuleSet', () => {
  it.each(SETS.map((set) => [JSON.stringify(set), set] as const))('agrees with a naive scan: %s', (_name, set) => {
    const rules = new RuleSet(set.allow, set.deny);
    const allow = set.allow.map((text) => parsePattern(text));
    const deny = set.deny.map((text) => parsePattern(text));
    const wrong: string[] = [];
    for (const f of FILTERS) {
      const naive = allow.some((rule) => covers(rule, f.pattern, f.policy)) && !deny.some((rule) => overlaps(rule, f.pattern, f.policy));
      if (rules.permits(f.pattern, f.policy) !== naive) wrong.push(show(f));
    }
    for (const topic of TOPICS) {
      const naive = allow.some((rule) => allows(rule, topic)) && !deny.some((rule) => denies(rule, topic));
      if (rules.permits(topic, 'exact') !== naive) wrong.push(`topic ${topic.join('.')}`);
    }
    expect(wrong).toEqual([]);
  });

  /** [allow, deny, filter, expected] */
  const ROWS: ReadonlyArray<readonly [string[], string[], Filter, boolean]> = [
    [['sensors.#'], [], filter('sensors.a.temp'), true],
    [['sensors.#'], ['sensors.secret.#'], filter('sensors.secret.x'), false],
    [['sensors.#'], ['sensors.secret.#'], filter('sensors.public.x'), true],
    [['sensors.#'], ['sensors.secret.#'], filter('sensors.+.x'), false], // might reach sensors.secret.x
    [['sensors.#'], ['sensors.secret.#'], filter('sensors.#'), false],
    [['sensors.#'], ['sensors.secret.#'], filter('sensors.public.#'), true],
    [['sensors.+.temp'], [], filter('sensors.#'), false],
    [['#'], ['$SYS.#'], filter('#'), true], // `#` never receives $SYS topics
    [['#'], ['$SYS.#'], filter('$SYS.x'), false],
    [['#', '$SYS.#'], ['+.secret'], filter('$SYS.secret'), false], // deny `+` reaches `$` topics
    [['#', '$SYS.#'], ['+.secret'], filter('$SYS.public'), true],
    [['#'], [], filter('$SYS.x'), false], // allow `#` does not reach them
    [['a', 'a.+.#'], [], filter('a.#'), false], // only the union covers `a.#`: refused, conservatively
    [[], [], filter('a'), false],
    [['a.#'], [], filter('a.b', 'prefix'), true],
    [['a.#'], ['a.bz'], filter('a.b', 'prefix'), false],
    [['a.#'], ['a.c'], filter('a.b', 'prefix'), true],
    [['a.b.#'], [], filter('a.b', 'prefix'), false],
  ];

  it.each(ROWS.map(([allow, deny, f, expected]) => [JSON.stringify(allow), JSON.stringify(deny), show(f), expected, f] as const))(
    'allow %s deny %s: %s is %s',
    (allow, deny, _name, expected, f) => {
      expect(new RuleSet(JSON.parse(allow) as string[], JSON.parse(deny) as string[]).permits(f.pattern, f.policy)).toBe(expected);
    },
  );

  it('counts distinct patterns; a repeated pattern is stored once', () => {
    expect(new RuleSet(['a.#', 'a.#', 'b'], ['c']).size).toEqual({ allow: 2, deny: 1 });
  });

  it('a bad pattern throws a RuleError naming its list and position', () => {
    expect(() => new RuleSet(['a', 'b.#.c'], [], { allow: 'x.allow.publish', deny: 'x.deny.publish' })).toThrow(/x\.allow\.publish\.1/);
    expect(() => new RuleSet([], ['ok', 'ok', ''], { allow: 'x.allow.publish', deny: 'x.deny.publish' })).toThrow(/x\.deny\.publish\.2/);
  });
});

describe('compileRoles', () => {
  it('compiles each role into one rule set per action; an action with no patterns permits nothing', () => {
    const roles = compileRoles({ user: { allow: { publish: ['a.#'] }, deny: { publish: ['a.secret'] } } });
    const user = roles.get('user');
    expect(user).toBeDefined();
    expect(user?.publish.permits(['a', 'x'], 'exact')).toBe(true);
    expect(user?.publish.permits(['a', 'secret'], 'exact')).toBe(false);
    for (const action of ['subscribe', 'call', 'register'] as const) expect(user?.[action].permits(['a', 'x'], 'exact')).toBe(false);
  });

  it('no roles, or undefined, compiles to an empty map', () => {
    expect(compileRoles(undefined).size).toBe(0);
    expect(compileRoles({}).size).toBe(0);
  });

  it('an error names the config key of the bad pattern', () => {
    expect(() => compileRoles({ user: { deny: { call: ['ok', 'bad..x'] } } }, 'realms.r1.roles')).toThrow(/realms\.r1\.roles\.user\.deny\.call\.1/);
  });
});
