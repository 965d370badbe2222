/**
 * The rule authorizer, asked about real sessions joined through Router -> Realm, and once through the broker
 * and dealer to see a refusal arrive as `wamp.error.not_authorized`.
 */
import { describe, expect, it } from 'vitest';
import { ADMIN_ROLE, allowAll, createAuthorizer, RuleAuthorizer } from '../../../src/auth/authorizer.js';
import { RuleError } from '../../../src/auth/rules.js';
import type { Principal } from '../../../src/auth/types.js';
import type { Config } from '../../../src/config/defaults.js';
import { CoreError } from '../../../src/core/errors.js';
import { WILDCARD, type Policy } from '../../../src/core/match/types.js';
import { Payload } from '../../../src/core/payload.js';
import { Router } from '../../../src/core/router.js';
import type { Session } from '../../../src/core/session.js';
import type { Action, Authorizer, SessionSink } from '../../../src/core/types.js';

const SINK: SessionSink = {
  event: () => undefined,
  invocation: () => undefined,
  interrupt: () => undefined,
  result: () => undefined,
  callError: () => undefined,
  close: () => undefined,
};

/** Joins sessions to realms of a router that uses `authorizer`. */
function sessions(authorizer: Authorizer): (realm: string, authrole: string, claims?: Record<string, unknown>, authprovider?: string) => Session {
  const router = new Router(authorizer);
  return (realm, authrole, claims, authprovider = 'jwt') => {
    const principal: Principal = { authid: 'alice', authrole, authmethod: 'ticket', authprovider };
    if (claims !== undefined) principal.claims = Object.freeze({ ...claims });
    return router.addRealm(realm, { uriCheck: 'loose' }).join(
      principal,
      { connectionId: 'c1', protocol: 'test', transport: 'test', remoteAddress: '127.0.0.1' },
      SINK,
      { interrupts: true },
    );
  };
}

/** A topic or filter written with `.`: `+` is any one component and a last `#` a tail (MQTT style). */
function parse(text: string): { pattern: string[]; policy: Policy } {
  const parts = text.split('.');
  const tail = parts[parts.length - 1] === '#';
  if (tail) parts.pop();
  const pattern = parts.map((c) => (c === '+' ? WILDCARD : c));
  return { pattern, policy: tail ? 'tail' : pattern.includes(WILDCARD) ? 'wildcard' : 'exact' };
}

function check(authorizer: Authorizer, session: Session, action: Action, text: string, policy?: Policy): boolean {
  const parsed = parse(text);
  return authorizer.authorize(session, action, policy === 'prefix' ? text.split('.') : parsed.pattern, policy ?? parsed.policy);
}

const REALMS: Config['realms'] = {
  realm1: {
    roles: {
      user: {
        allow: {
          publish: ['sensors.#', 'chat.+'],
          subscribe: ['sensors.#', 'chat.+', 'com.app.#'],
          call: ['api.+'],
          register: [],
        },
        deny: {
          publish: ['sensors.secret.#'],
          subscribe: ['sensors.secret.#'],
          call: ['api.admin'],
        },
      },
      device: {
        allow: { publish: ['devices.+.telemetry'], subscribe: ['devices.+.commands'], register: ['devices.rpc.#'] },
      },
      blocked: {},
    },
  },
  other: {
    uriCheck: 'strict',
    roles: {
      admin: { allow: { publish: ['only.this'] } },
      user: { allow: { publish: ['#'] }, deny: { publish: ['$SYS.#'] } },
    },
  },
  empty: {},
};

/** [realm, role, action, topic or filter, policy (when not read from the text), expected] */
type Row = readonly [string, string, Action, string, Policy | undefined, boolean];

const ROWS: readonly Row[] = [
  // Allow per action.
  ['realm1', 'user', 'publish', 'sensors.a.temp', undefined, true],
  ['realm1', 'user', 'publish', 'sensors', undefined, true],
  ['realm1', 'user', 'publish', 'chat.lobby', undefined, true],
  ['realm1', 'user', 'publish', 'chat.lobby.x', undefined, false],
  ['realm1', 'user', 'publish', 'other', undefined, false],
  ['realm1', 'user', 'subscribe', 'chat.lobby', undefined, true],
  ['realm1', 'user', 'call', 'api.echo', undefined, true],
  ['realm1', 'user', 'call', 'api.echo.deep', undefined, false],
  ['realm1', 'user', 'register', 'api.echo', undefined, false], // an empty list allows nothing
  ['realm1', 'device', 'publish', 'devices.d1.telemetry', undefined, true],
  ['realm1', 'device', 'publish', 'devices.d1.commands', undefined, false],
  ['realm1', 'device', 'subscribe', 'devices.d1.commands', undefined, true],
  ['realm1', 'device', 'call', 'api.echo', undefined, false], // no list for the action: nothing
  ['realm1', 'device', 'register', 'devices.rpc.reboot', undefined, true],
  // Actions are separate: an allow for one is not an allow for another.
  ['realm1', 'device', 'publish', 'devices.d1.commands', undefined, false],
  ['realm1', 'device', 'subscribe', 'devices.d1.telemetry', undefined, false],
  // Deny wins over allow.
  ['realm1', 'user', 'publish', 'sensors.secret', undefined, false],
  ['realm1', 'user', 'publish', 'sensors.secret.x', undefined, false],
  ['realm1', 'user', 'subscribe', 'sensors.secret.x', undefined, false],
  ['realm1', 'user', 'call', 'api.admin', undefined, false],
  // Subscriptions with patterns must be covered as a whole, and must not reach a denied topic.
  ['realm1', 'user', 'subscribe', 'sensors.+.temp', undefined, false], // could reach sensors.secret.temp
  ['realm1', 'user', 'subscribe', 'sensors.public.+', undefined, true],
  ['realm1', 'user', 'subscribe', 'sensors.public.#', undefined, true],
  ['realm1', 'user', 'subscribe', 'sensors.#', undefined, false],
  ['realm1', 'user', 'subscribe', 'chat.+', undefined, true],
  ['realm1', 'user', 'subscribe', 'chat.#', undefined, false], // chat.+ does not cover chat or chat.a.b
  ['realm1', 'user', 'subscribe', '#', undefined, false],
  ['realm1', 'device', 'subscribe', 'devices.+.commands', undefined, true],
  ['realm1', 'device', 'subscribe', 'devices.#', undefined, false],
  ['realm1', 'device', 'register', 'devices.rpc.+', undefined, true],
  ['realm1', 'device', 'register', 'devices.+.reboot', undefined, false],
  // WAMP prefix subscriptions and registrations.
  ['realm1', 'user', 'subscribe', 'com.app.x', 'prefix', true],
  ['realm1', 'user', 'subscribe', 'com.app', 'prefix', false], // prefix com.app also matches com.apple
  ['realm1', 'device', 'register', 'devices.rpc.re', 'prefix', true],
  ['realm1', 'device', 'register', 'devices.rp', 'prefix', false],
  // A role listed with nothing may do nothing.
  ['realm1', 'blocked', 'publish', 'sensors.a', undefined, false],
  // Rules exist: unlisted roles are denied, anonymous included; admin may do everything unless listed.
  ['realm1', 'stranger', 'publish', 'sensors.a', undefined, false],
  ['realm1', 'anonymous', 'publish', 'sensors.a', undefined, false],
  ['realm1', 'anonymous', 'subscribe', 'sensors.a', undefined, false],
  ['realm1', ADMIN_ROLE, 'publish', 'anything.at.all', undefined, true],
  ['realm1', ADMIN_ROLE, 'subscribe', '#', undefined, true],
  ['realm1', ADMIN_ROLE, 'register', 'x.#', undefined, true],
  ['realm1', ADMIN_ROLE, 'call', 'api.admin', undefined, true],
  ['other', ADMIN_ROLE, 'publish', 'only.this', undefined, true], // listed: held to its rules
  ['other', ADMIN_ROLE, 'publish', 'something.else', undefined, false],
  ['other', ADMIN_ROLE, 'subscribe', 'only.this', undefined, false],
  // Rules are per realm.
  ['other', 'user', 'publish', 'sensors.secret', undefined, true],
  ['other', 'device', 'publish', 'devices.d1.telemetry', undefined, false],
  ['empty', 'user', 'publish', 'sensors.a', undefined, false], // a realm without roles, while rules exist elsewhere
  ['empty', ADMIN_ROLE, 'publish', 'sensors.a', undefined, true],
  ['unconfigured', 'user', 'publish', 'sensors.a', undefined, false], // a realm not in the config at all
  // `$` topics: `#` does not allow them, deny `$SYS.#` refuses them.
  ['other', 'user', 'publish', '$SYS.x', undefined, false],
  ['realm1', 'user', 'publish', '$SYS.x', undefined, false],
];

describe('RuleAuthorizer: roles', () => {
  const authorizer = createAuthorizer({ realms: REALMS, permissionsClaim: 'permissions' });
  const join = sessions(authorizer);

  it('has rules', () => {
    expect(authorizer.hasRules).toBe(true);
    expect(authorizer).toBeInstanceOf(RuleAuthorizer);
  });

  it.each(ROWS)('%s %s %s %j (%s): %s', (realm, role, action, text, policy, expected) => {
    expect(check(authorizer, join(realm, role), action, text, policy)).toBe(expected);
  });

  it("the router's own session may do everything", () => {
    const router = new Router(authorizer);
    const system = router.addRealm('realm1', { uriCheck: 'loose' }).system;
    for (const action of ['publish', 'subscribe', 'call', 'register'] as const) {
      expect(authorizer.authorize(system, action, ['$SYS', 'broker', 'uptime'], 'exact')).toBe(true);
    }
  });

  it('a token whose role claim says system is not the router: it is an ordinary, unlisted role', () => {
    const forged = join('realm1', 'system', {}, 'jwt');
    expect(check(authorizer, forged, 'publish', 'sensors.a')).toBe(false);
  });
});

describe('RuleAuthorizer: no rules', () => {
  it.each([
    ['no realms', {}],
    ['realms without roles', { realm1: { uriCheck: 'strict' }, other: {} }],
    ['empty roles', { realm1: { roles: {} } }],
  ] as const)('%s: every role may do everything', (_name, realms) => {
    const authorizer = createAuthorizer({ realms: realms as Config['realms'], permissionsClaim: 'permissions' });
    const join = sessions(authorizer);
    expect(authorizer.hasRules).toBe(false);
    for (const role of ['user', 'anonymous', ADMIN_ROLE]) {
      for (const action of ['publish', 'subscribe', 'call', 'register'] as const) {
        expect(check(authorizer, join('realm1', role), action, 'any.topic')).toBe(true);
        expect(check(authorizer, join('realm1', role), action, '#')).toBe(true);
      }
    }
  });

  it('one role in one realm is enough to turn on default deny everywhere', () => {
    const authorizer = createAuthorizer({ realms: { elsewhere: { roles: { nobody: {} } } }, permissionsClaim: 'permissions' });
    expect(authorizer.hasRules).toBe(true);
    expect(check(authorizer, sessions(authorizer)('realm1', 'user'), 'publish', 'a')).toBe(false);
    expect(check(authorizer, sessions(authorizer)('realm1', ADMIN_ROLE), 'publish', 'a')).toBe(true);
  });

  it('allowAll is still exported and allows everything', () => {
    const join = sessions(allowAll);
    expect(allowAll.authorize(join('realm1', 'anonymous'), 'publish', ['x'], 'exact')).toBe(true);
  });
});

describe('RuleAuthorizer: the permissions claim narrows, never widens', () => {
  const authorizer = createAuthorizer({ realms: REALMS, permissionsClaim: 'perms' });
  const join = sessions(authorizer);

  /** [role, claim, action, topic, expected] */
  const CLAIMS: ReadonlyArray<readonly [string, unknown, Action, string, boolean]> = [
    // Narrowing.
    ['user', { publish: ['sensors.room1.#'] }, 'publish', 'sensors.room1.temp', true],
    ['user', { publish: ['sensors.room1.#'] }, 'publish', 'sensors.room2.temp', false],
    ['user', { subscribe: ['sensors.room1.+'] }, 'subscribe', 'sensors.room1.+', true],
    ['user', { subscribe: ['sensors.room1.+'] }, 'subscribe', 'sensors.room1.#', false],
    // A list left out does not narrow its action.
    ['user', { publish: ['sensors.room1.#'] }, 'call', 'api.echo', true],
    ['user', {}, 'publish', 'sensors.a', true],
    // An empty list allows nothing for its action.
    ['user', { call: [] }, 'call', 'api.echo', false],
    ['user', { call: [] }, 'publish', 'sensors.a', true],
    // Never widens: the role must allow it too, and the role's deny still wins.
    ['user', { publish: ['#'] }, 'publish', 'other.topic', false],
    ['user', { publish: ['sensors.#'] }, 'publish', 'sensors.secret.x', false],
    ['user', { register: ['#'] }, 'register', 'api.x', false],
    ['anonymous', { publish: ['#'] }, 'publish', 'sensors.a', false],
    // Admin's default "everything" is narrowed too.
    [ADMIN_ROLE, { publish: ['logs.#'] }, 'publish', 'logs.x', true],
    [ADMIN_ROLE, { publish: ['logs.#'] }, 'publish', 'sensors.a', false],
    [ADMIN_ROLE, { publish: ['logs.#'] }, 'subscribe', '#', true],
    // Malformed: denied everything.
    ['user', null, 'publish', 'sensors.a', false],
    ['user', 'sensors.#', 'publish', 'sensors.a', false],
    ['user', ['sensors.#'], 'publish', 'sensors.a', false],
    ['user', 42, 'publish', 'sensors.a', false],
    ['user', { publish: 'sensors.#' }, 'publish', 'sensors.a', false],
    ['user', { publish: ['sensors.#', 7] }, 'publish', 'sensors.a', false],
    ['user', { publish: ['sensors.#.x'] }, 'publish', 'sensors.a', false],
    ['user', { publish: ['sensors.#'], delete: ['x'] }, 'publish', 'sensors.a', false],
    ['user', { publish: ['sensors.#'], call: null }, 'publish', 'sensors.a', false],
    [ADMIN_ROLE, { publish: [''] }, 'subscribe', 'x', false],
  ];

  it.each(CLAIMS)('%s with claim %j: %s %j is %s', (role, claim, action, text, expected) => {
    expect(check(authorizer, join('realm1', role, { perms: claim }), action, text)).toBe(expected);
  });

  it('a session without the claim, or without claims at all, is not narrowed', () => {
    expect(check(authorizer, join('realm1', 'user', { other: 1 }), 'publish', 'sensors.a')).toBe(true);
    expect(check(authorizer, join('realm1', 'user'), 'publish', 'sensors.a')).toBe(true);
  });

  it('the claim name is configurable: another claim named like the default is ignored', () => {
    expect(check(authorizer, join('realm1', 'user', { permissions: { publish: [] } }), 'publish', 'sensors.a')).toBe(true);
  });

  it('narrows also when no rules are configured', () => {
    const open = createAuthorizer({ realms: {}, permissionsClaim: 'permissions' });
    const session = sessions(open)('realm1', 'user', { permissions: { publish: ['a.#'] } });
    expect(check(open, session, 'publish', 'a.b')).toBe(true);
    expect(check(open, session, 'publish', 'b')).toBe(false);
    expect(check(open, session, 'subscribe', '#')).toBe(true);
    expect(check(open, sessions(open)('realm1', 'user', { permissions: 'all' }), 'publish', 'a.b')).toBe(false);
  });

  it('the same claim object answers the same way on every check (compiled once)', () => {
    const claim = { publish: ['a.#'] };
    const first = join('realm1', ADMIN_ROLE, { perms: claim });
    const second = join('realm1', ADMIN_ROLE, { perms: claim });
    for (let i = 0; i < 3; i++) {
      expect(check(authorizer, first, 'publish', 'a.x')).toBe(true);
      expect(check(authorizer, second, 'publish', 'b.x')).toBe(false);
    }
  });
});

describe('RuleAuthorizer: reload', () => {
  it('swaps every realm at once; new checks see the new rules', () => {
    const authorizer = createAuthorizer({ realms: { realm1: { roles: { user: { allow: { publish: ['a.#'] } } } } }, permissionsClaim: 'permissions' });
    const join = sessions(authorizer);
    const user = join('realm1', 'user');
    expect(check(authorizer, user, 'publish', 'a.x')).toBe(true);
    expect(check(authorizer, user, 'publish', 'b.x')).toBe(false);

    authorizer.reload({ realm1: { roles: { user: { allow: { publish: ['b.#'] } } } } });
    expect(authorizer.hasRules).toBe(true);
    expect(check(authorizer, user, 'publish', 'a.x')).toBe(false);
    expect(check(authorizer, user, 'publish', 'b.x')).toBe(true);

    authorizer.reload({});
    expect(authorizer.hasRules).toBe(false);
    expect(check(authorizer, user, 'publish', 'a.x')).toBe(true);

    authorizer.reload({ realm1: { roles: { admin: { allow: { call: ['x'] } } } } });
    expect(authorizer.hasRules).toBe(true);
    expect(check(authorizer, user, 'publish', 'a.x')).toBe(false);
  });

  it('a bad pattern throws, naming its key, and leaves the old rules in force', () => {
    const authorizer = createAuthorizer({ realms: { realm1: { roles: { user: { allow: { publish: ['a.#'] } } } } }, permissionsClaim: 'permissions' });
    const user = sessions(authorizer)('realm1', 'user');
    expect(() => authorizer.reload({ realm1: { roles: { user: { allow: { publish: ['b.#', 'c.#.d'] } } } } })).toThrow(RuleError);
    expect(() => authorizer.reload({ realm1: { roles: { user: { allow: { publish: ['b.#', 'c.#.d'] } } } } })).toThrow(
      'realms.realm1.roles.user.allow.publish.1',
    );
    expect(check(authorizer, user, 'publish', 'a.x')).toBe(true);
    expect(check(authorizer, user, 'publish', 'b.x')).toBe(false);
  });

  it('createAuthorizer refuses a bad pattern too', () => {
    expect(() => createAuthorizer({ realms: { r: { roles: { u: { deny: { subscribe: ['x+'] } } } } }, permissionsClaim: 'permissions' })).toThrow(
      'realms.r.roles.u.deny.subscribe.0',
    );
  });
});

describe('through the core', () => {
  it('the broker and dealer refuse with wamp.error.not_authorized', () => {
    const authorizer = createAuthorizer({
      realms: { realm1: { roles: { user: { allow: { publish: ['a.#'], subscribe: ['a.#'], register: ['rpc.#'], call: ['rpc.#'] } } } } },
      permissionsClaim: 'permissions',
    });
    const user = sessions(authorizer)('realm1', 'user');
    const payload = Payload.fromArgs([]);
    const publish = { excludeMe: true, disclose: false };

    expect(user.publish(['a', 'b'], payload, publish).ok).toBe(true);
    expect(user.publish(['b'], payload, publish)).toEqual({ ok: false, error: CoreError.NotAuthorized });
    expect(user.subscribe(['a', WILDCARD], 'wildcard', {}).ok).toBe(true);
    expect(user.subscribe([WILDCARD, 'b'], 'wildcard', {})).toEqual({ ok: false, error: CoreError.NotAuthorized });
    expect(user.register(['rpc', 'x'], 'exact', { invoke: 'single' }).ok).toBe(true);
    expect(user.register(['other'], 'exact', { invoke: 'single' })).toEqual({ ok: false, error: CoreError.NotAuthorized });
    expect(user.call(1, ['other'], payload, { timeoutMs: 0, disclose: false })).toEqual({ ok: false, error: CoreError.NotAuthorized });
  });
});
