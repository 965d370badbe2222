/**
 * A session's own maps (subscriptions, shared subscriptions, registrations, calls both ways) are made on first use:
 * an idle session holds none, and reading, looking up or leaving never creates one.
 */
import { describe, expect, it } from 'vitest';
import { allowAll } from '../../../src/auth/authorizer.js';
import { Payload } from '../../../src/core/payload.js';
import { Router } from '../../../src/core/router.js';
import type { Session } from '../../../src/core/session.js';
import { RecordingSink } from '../../helpers/recording-sink.js';

function setup(): { join: () => Session } {
  const realm = new Router(allowAll).addRealm('realm1', { uriCheck: 'loose' });
  let connections = 0;
  const join = (): Session =>
    realm.join(
      { authid: 'alice', authrole: 'user', authmethod: 'anonymous', authprovider: 'static' },
      { connectionId: `c${++connections}`, protocol: 'test', transport: 'test', remoteAddress: '127.0.0.1' },
      new RecordingSink(),
      { interrupts: true },
    );
  return { join };
}

/** The maps a session has actually made (the fields behind the read-only getters). */
function madeMaps(session: Session): string[] {
  const fields = ['subscriptionMap', 'sharedSubscriptionMap', 'registrationMap', 'callOutMap', 'callInMap'];
  return fields.filter((field) => (session as unknown as Record<string, unknown>)[field] !== undefined);
}

describe('Session: maps made on first use', () => {
  it('an idle session holds no map, and reads, misses and leaving create none', () => {
    const { join } = setup();
    const session = join();
    expect(madeMaps(session)).toEqual([]);
    expect(session.subscriptions.size).toBe(0);
    expect(session.registrations.get(1)).toBeUndefined();
    expect(session.callsOut.has(1)).toBe(false);
    expect([...session.callsIn.values()]).toEqual([]);
    expect(session.holdsShared('g', 1)).toBe(false);
    expect(session.unsubscribe(1).ok).toBe(false);
    expect(session.unregister(1).ok).toBe(false);
    expect(session.yield(1, Payload.fromArgs([])).ok).toBe(false);
    expect(session.cancel(1, 'skip').ok).toBe(false);
    session.leave();
    expect(madeMaps(session)).toEqual([]);
  });

  it('idle sessions share one empty map that cannot be written to', () => {
    const { join } = setup();
    const [a, b] = [join(), join()];
    expect(a.subscriptions).toBe(b.subscriptions);
    expect(() => (a.subscriptions as Map<number, unknown>).set(1, {})).toThrow(TypeError);
    expect(b.subscriptions.size).toBe(0);
  });

  it('a subscription, a registration and a call each make only their own maps, which then hold the entries', () => {
    const { join } = setup();
    const [callee, caller] = [join(), join()];
    const subscribed = callee.subscribe(['a'], 'exact', {});
    if (!subscribed.ok) throw new Error(subscribed.error);
    expect(madeMaps(callee)).toEqual(['subscriptionMap']);
    expect(callee.subscriptions.get(subscribed.value.subscription.id)).toBe(subscribed.value.subscription);

    const registered = callee.register(['p'], 'exact', { invoke: 'single' });
    if (!registered.ok) throw new Error(registered.error);
    const called = caller.call(7, ['p'], Payload.fromArgs([]), { disclose: false, timeoutMs: 0 });
    if (!called.ok) throw new Error(called.error);
    expect(madeMaps(caller)).toEqual(['callOutMap']);
    expect(madeMaps(callee)).toEqual(['subscriptionMap', 'registrationMap', 'callInMap']);
    expect(caller.callsOut.get(7)).toBe(called.value);
    expect(callee.callsIn.get(called.value.id)).toBe(called.value);
  });

  it('invocation ids are sequential per callee, from 1', () => {
    const { join } = setup();
    const [callee, caller] = [join(), join()];
    callee.register(['p'], 'exact', { invoke: 'single' });
    const ids = [1, 2, 3].map((request) => {
      const called = caller.call(request, ['p'], Payload.fromArgs([]), { disclose: false, timeoutMs: 0 });
      if (!called.ok) throw new Error(called.error);
      return called.value.id;
    });
    expect(ids).toEqual([1, 2, 3]);
  });
});
