import { describe, expect, it } from 'vitest';
import { allowAll } from '../../../src/auth/authorizer.js';
import { MAX_ID } from '../../../src/core/ids.js';
import type { Realm } from '../../../src/core/realm.js';
import { Router } from '../../../src/core/router.js';
import type { Session } from '../../../src/core/session.js';
import type { SessionSink } from '../../../src/core/types.js';

/** A sink that receives nothing in these tests: the router itself never delivers. */
const quietSink: SessionSink = {
  event() {},
  invocation() {},
  interrupt() {},
  result() {},
  callError() {},
  close() {},
};

function join(realm: Realm, authid = 'alice'): Session {
  return realm.join(
    { authid, authrole: 'user', authmethod: 'anonymous', authprovider: 'static' },
    { connectionId: 'c', protocol: 'test', transport: 'test', remoteAddress: '127.0.0.1' },
    quietSink,
    { interrupts: false },
  );
}

describe('Router: realms', () => {
  it('starts with no realms', () => {
    const router = new Router(allowAll);
    expect(router.realmNames).toEqual([]);
    expect(router.realm('realm1')).toBeUndefined();
    expect(router.sessionCount).toBe(0);
  });

  it('adds realms, finds them by name and lists them in order', () => {
    const router = new Router(allowAll);
    const one = router.addRealm('realm1', { uriCheck: 'loose' });
    const two = router.addRealm('com.example', { uriCheck: 'strict' });
    expect(router.realm('realm1')).toBe(one);
    expect(router.realm('com.example')).toBe(two);
    expect(one.name).toBe('realm1');
    expect(two.options).toEqual({ uriCheck: 'strict' });
    expect(router.realmNames).toEqual(['realm1', 'com.example']);
    expect(router.realm('nope')).toBeUndefined();
  });

  it('adding a realm that exists returns the existing one, options unchanged', () => {
    const router = new Router(allowAll);
    const first = router.addRealm('realm1', { uriCheck: 'loose' });
    const session = join(first);
    const again = router.addRealm('realm1', { uriCheck: 'strict' });
    expect(again).toBe(first);
    expect(again.options.uriCheck).toBe('loose');
    expect(again.sessions.get(session.id)).toBe(session);
    expect(router.realmNames).toEqual(['realm1']);
  });

  it('each realm has its own broker and dealer', () => {
    const router = new Router(allowAll);
    const a = router.addRealm('a', { uriCheck: 'loose' });
    const b = router.addRealm('b', { uriCheck: 'loose' });
    expect(a.broker).not.toBe(b.broker);
    expect(a.dealer).not.toBe(b.dealer);
    join(a).subscribe(['x'], 'exact', {});
    expect(a.broker.subscriptionCount).toBe(1);
    expect(b.broker.subscriptionCount).toBe(0);
  });
});

describe('Router: sessions', () => {
  it('gives every session a unique id in [1, 2^53 - 1], across realms', () => {
    const router = new Router(allowAll);
    const realms = [router.addRealm('a', { uriCheck: 'loose' }), router.addRealm('b', { uriCheck: 'loose' })];
    const ids = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const session = join(realms[i % 2] as Realm);
      expect(Number.isSafeInteger(session.id)).toBe(true);
      expect(session.id).toBeGreaterThanOrEqual(1);
      expect(session.id).toBeLessThanOrEqual(MAX_ID);
      ids.add(session.id);
    }
    expect(ids.size).toBe(2000);
    expect(router.sessionCount).toBe(2000);
  });

  it('counts sessions as they join and leave, across realms; leaving twice counts once', () => {
    const router = new Router(allowAll);
    const a = router.addRealm('a', { uriCheck: 'loose' });
    const b = router.addRealm('b', { uriCheck: 'loose' });
    const s1 = join(a);
    const s2 = join(a);
    const s3 = join(b);
    expect(router.sessionCount).toBe(3);
    expect(a.sessions.size).toBe(2);
    expect(b.sessions.size).toBe(1);
    s2.leave();
    expect(router.sessionCount).toBe(2);
    expect(a.sessions.has(s2.id)).toBe(false);
    s2.leave();
    expect(router.sessionCount).toBe(2);
    s1.leave();
    s3.leave();
    expect(router.sessionCount).toBe(0);
    expect(a.sessions.size).toBe(0);
    expect(b.sessions.size).toBe(0);
  });

  it('a session knows its realm, principal, transport and whether it is active', () => {
    const router = new Router(allowAll);
    const realm = router.addRealm('realm1', { uriCheck: 'loose' });
    const session = join(realm, 'bob');
    expect(session.realm).toBe(realm);
    expect(session.authid).toBe('bob');
    expect(session.authrole).toBe('user');
    expect(session.principal.authmethod).toBe('anonymous');
    expect(session.transport.protocol).toBe('test');
    expect(session.active).toBe(true);
    session.leave();
    expect(session.active).toBe(false);
  });

  it('tells its observer about every join and leave, once each', () => {
    const joined: number[] = [];
    const left: number[] = [];
    const router = new Router(allowAll, {
      joined: (session) => joined.push(session.id),
      left: (session) => left.push(session.id),
    });
    const realm = router.addRealm('realm1', { uriCheck: 'loose' });
    const a = join(realm);
    const b = join(realm);
    expect(joined).toEqual([a.id, b.id]);
    b.leave();
    b.leave();
    a.leave();
    expect(left).toEqual([b.id, a.id]);
  });

  it('the observer sees the session count already updated when a session has left', () => {
    const counts: number[] = [];
    const router: Router = new Router(allowAll, { left: () => counts.push(router.sessionCount) });
    const realm = router.addRealm('realm1', { uriCheck: 'loose' });
    join(realm).leave();
    expect(counts).toEqual([0]);
  });
});
