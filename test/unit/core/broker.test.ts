/**
 * The broker, driven through Router -> Realm -> Session with a sink that records what it receives.
 */
import { describe, expect, it } from 'vitest';
import { allowAll } from '../../../src/auth/authorizer.js';
import { RecordingSink } from '../../helpers/recording-sink.js';
import { CoreError } from '../../../src/core/errors.js';
import { WILDCARD, type Policy } from '../../../src/core/match/types.js';
import { Payload } from '../../../src/core/payload.js';
import type { Realm } from '../../../src/core/realm.js';
import { Router } from '../../../src/core/router.js';
import type { Session } from '../../../src/core/session.js';
import type {
  Action,
  Authorizer,
  Publication,
  PublishOptions,
  SubscriberOptions,
  Subscription,
} from '../../../src/core/types.js';

interface Peer {
  session: Session;
  sink: RecordingSink;
}

function setup(authorizer: Authorizer = allowAll): { realm: Realm; join: (authid?: string, authrole?: string) => Peer } {
  const router = new Router(authorizer);
  const realm = router.addRealm('realm1', { uriCheck: 'loose' });
  let connections = 0;
  const join = (authid = 'alice', authrole = 'user'): Peer => {
    const sink = new RecordingSink();
    const session = realm.join(
      { authid, authrole, authmethod: 'anonymous', authprovider: 'static' },
      { connectionId: `c${++connections}`, protocol: 'test', transport: 'test', remoteAddress: '127.0.0.1' },
      sink,
      { interrupts: true },
    );
    return { session, sink };
  };
  return { realm, join };
}

const t = (uri: string): string[] => uri.split('.').map((c) => (c === '' ? WILDCARD : c));
const PUB: PublishOptions = { excludeMe: true, disclose: false };
const payload = (): Payload => Payload.fromArgs(['hello']);

function subscribe(peer: Peer, uri: string, policy: Policy = 'exact', options: SubscriberOptions = {}): Subscription {
  const result = peer.session.subscribe(t(uri), policy, options);
  if (!result.ok) throw new Error(`subscribe failed: ${result.error}`);
  return result.value.subscription;
}

describe('Broker: subscriptions', () => {
  it('subscribers to the same (pattern, policy) share one subscription id; first only for the first', () => {
    const { realm, join } = setup();
    const a = join();
    const b = join();
    const ra = a.session.subscribe(['com', 'x'], 'exact', {});
    const rb = b.session.subscribe(['com', 'x'], 'exact', {});
    expect(ra.ok && rb.ok).toBe(true);
    if (!ra.ok || !rb.ok) return;
    expect(ra.value.first).toBe(true);
    expect(rb.value.first).toBe(false);
    expect(ra.value.renewed).toBe(false);
    expect(rb.value.renewed).toBe(false);
    expect(rb.value.subscription.id).toBe(ra.value.subscription.id);
    expect(rb.value.subscription).toBe(ra.value.subscription);
    expect(realm.broker.subscriptionCount).toBe(1);
    expect([...ra.value.subscription.observers.keys()]).toEqual([a.session, b.session]);
  });

  it('another policy or pattern gives another subscription', () => {
    const { realm, join } = setup();
    const a = join();
    const exact = subscribe(a, 'com.x');
    const prefix = subscribe(a, 'com.x', 'prefix');
    const other = subscribe(a, 'com.y');
    expect(new Set([exact.id, prefix.id, other.id]).size).toBe(3);
    expect(realm.broker.subscriptionCount).toBe(3);
  });

  it('subscribing twice to the same (pattern, policy) returns the same subscription, not created again', () => {
    const { realm, join } = setup();
    const a = join();
    const first = a.session.subscribe(['x'], 'exact', {});
    const again = a.session.subscribe(['x'], 'exact', {});
    expect(first.ok && again.ok && again.value.subscription === first.value.subscription).toBe(true);
    expect(again.ok && again.value.first).toBe(false);
    expect(again.ok && again.value.renewed).toBe(true);
    expect(a.session.subscriptions.size).toBe(1);
    expect(realm.broker.subscriptionCount).toBe(1);
  });

  it('keeps a back-reference in the session', () => {
    const { join } = setup();
    const a = join();
    const sub = subscribe(a, 'com.x');
    expect(a.session.subscriptions.get(sub.id)).toBe(sub);
  });

  it('unsubscribe removes the subscriber; the subscription lives on while others remain', () => {
    const { realm, join } = setup();
    const a = join();
    const b = join();
    const sub = subscribe(a, 'com.x');
    subscribe(b, 'com.x');
    const result = a.session.unsubscribe(sub.id);
    expect(result).toEqual({ ok: true, value: sub });
    expect(a.session.subscriptions.size).toBe(0);
    expect(realm.broker.subscriptionCount).toBe(1);
    expect(b.session.unsubscribe(sub.id).ok).toBe(true);
    expect(realm.broker.subscriptionCount).toBe(0);
  });

  it('unsubscribe of an unknown id, twice, or of another session’s subscription fails with no_such_subscription', () => {
    const { realm, join } = setup();
    const a = join();
    const b = join();
    const sub = subscribe(a, 'com.x');
    expect(a.session.unsubscribe(sub.id + 1000)).toEqual({ ok: false, error: CoreError.NoSuchSubscription });
    expect(b.session.unsubscribe(sub.id)).toEqual({ ok: false, error: CoreError.NoSuchSubscription });
    expect(realm.broker.subscriptionCount).toBe(1);
    expect(a.session.unsubscribe(sub.id).ok).toBe(true);
    expect(a.session.unsubscribe(sub.id)).toEqual({ ok: false, error: CoreError.NoSuchSubscription });
  });

  it('leaving drops every subscription of the session (index size back to 0)', () => {
    const { realm, join } = setup();
    const a = join();
    const b = join();
    subscribe(a, 'com.x');
    subscribe(a, 'com', 'prefix');
    subscribe(a, 'com..z', 'wildcard');
    subscribe(b, 'com.x');
    expect(realm.broker.subscriptionCount).toBe(3);
    a.session.leave();
    expect(a.session.subscriptions.size).toBe(0);
    expect(realm.broker.subscriptionCount).toBe(1);
    b.session.leave();
    expect(realm.broker.subscriptionCount).toBe(0);
    // Nothing is delivered to sessions that left.
    const c = join();
    expect(c.session.publish(['com', 'x'], payload(), PUB).ok).toBe(true);
    expect(a.sink.events).toHaveLength(0);
    expect(b.sink.events).toHaveLength(0);
  });
});

describe('Broker: publish', () => {
  it('delivers to every matching subscription, exact, prefix and wildcard', () => {
    const { join } = setup();
    const pub = join();
    const exact = join();
    const prefix = join();
    const wildcard = join();
    const other = join();
    subscribe(exact, 'com.x.y');
    subscribe(prefix, 'com.x', 'prefix');
    subscribe(wildcard, 'com..y', 'wildcard');
    subscribe(other, 'com.z');
    const result = pub.session.publish(['com', 'x', 'y'], payload(), PUB);
    expect(result.ok).toBe(true);
    expect(exact.sink.events).toHaveLength(1);
    expect(prefix.sink.events).toHaveLength(1);
    expect(wildcard.sink.events).toHaveLength(1);
    expect(other.sink.events).toHaveLength(0);
    expect(wildcard.sink.events[0]?.subscription.policy).toBe('wildcard');
  });

  it('hands the same Publication object, with the same Payload, to every receiver', () => {
    const { join } = setup();
    const pub = join();
    const receivers = [join(), join(), join()];
    for (const r of receivers) subscribe(r, 'com.x');
    const extra = join();
    subscribe(extra, 'com', 'prefix');
    const p = payload();
    const result = pub.session.publish(['com', 'x'], p, { excludeMe: true, disclose: true });
    if (!result.ok) throw new Error('publish failed');
    const publication = result.value;
    for (const r of [...receivers, extra]) {
      expect(r.sink.events).toHaveLength(1);
      expect(r.sink.events[0]?.publication).toBe(publication);
    }
    expect(publication.payload).toBe(p);
    expect(publication.publisher).toBe(pub.session);
    expect(publication.topic).toEqual(['com', 'x']);
    expect(publication.disclose).toBe(true);
    // Receivers of one subscription also share the subscription object.
    expect(receivers[0]?.sink.events[0]?.subscription).toBe(receivers[1]?.sink.events[0]?.subscription);
  });

  it('gives each publication a valid id', () => {
    const { join } = setup();
    const pub = join();
    const a = pub.session.publish(['x'], payload(), PUB);
    const b = pub.session.publish(['x'], payload(), PUB);
    if (!a.ok || !b.ok) throw new Error('publish failed');
    expect(Number.isSafeInteger(a.value.id) && a.value.id >= 1).toBe(true);
    expect(a.value.id).not.toBe(b.value.id);
  });

  it('passes each subscriber its own options', () => {
    const { join } = setup();
    const pub = join();
    const a = join();
    const b = join();
    subscribe(a, 'x', 'exact', { noLocal: false });
    subscribe(b, 'x', 'exact', { noLocal: true });
    pub.session.publish(['x'], payload(), PUB);
    expect(a.sink.events[0]?.options).toEqual({ noLocal: false });
    expect(b.sink.events[0]?.options).toEqual({ noLocal: true });
  });

  it('excludeMe skips the publisher; without it, the publisher receives its own publication', () => {
    const { join } = setup();
    const pub = join();
    const other = join();
    subscribe(pub, 'x');
    subscribe(other, 'x');
    pub.session.publish(['x'], payload(), { excludeMe: true, disclose: false });
    expect(pub.sink.events).toHaveLength(0);
    expect(other.sink.events).toHaveLength(1);
    pub.session.publish(['x'], payload(), { excludeMe: false, disclose: false });
    expect(pub.sink.events).toHaveLength(1);
    expect(other.sink.events).toHaveLength(2);
  });

  it('noLocal keeps a subscriber’s own publications away even when excludeMe is off', () => {
    const { join } = setup();
    const pub = join();
    const other = join();
    subscribe(pub, 'x', 'exact', { noLocal: true });
    subscribe(other, 'x', 'exact', { noLocal: true });
    pub.session.publish(['x'], payload(), { excludeMe: false, disclose: false });
    expect(pub.sink.events).toHaveLength(0);
    // noLocal is about the subscriber's own publications only.
    expect(other.sink.events).toHaveLength(1);
  });

  it('noLocal on one of the publisher’s subscriptions does not silence its other subscriptions', () => {
    const { join } = setup();
    const pub = join();
    subscribe(pub, 'x', 'exact', { noLocal: true });
    subscribe(pub, '', 'wildcard', { noLocal: false });
    pub.session.publish(['x'], payload(), { excludeMe: false, disclose: false });
    expect(pub.sink.events.map((e) => e.subscription.policy)).toEqual(['wildcard']);
  });

  describe('receiver black- and whitelisting', () => {
    function three() {
      const env = setup();
      const pub = env.join('publisher', 'admin');
      const a = env.join('alice', 'user');
      const b = env.join('bob', 'user');
      const c = env.join('carol', 'guest');
      for (const peer of [a, b, c]) subscribe(peer, 'x');
      const publish = (options: Partial<PublishOptions>): string[] => {
        for (const peer of [a, b, c]) peer.sink.events.length = 0;
        const result = pub.session.publish(['x'], payload(), { ...PUB, ...options });
        expect(result.ok).toBe(true);
        return [a, b, c].filter((peer) => peer.sink.events.length > 0).map((peer) => peer.session.authid);
      };
      return { a, b, c, publish };
    }

    it('exclude by session id', () => {
      const { a, c, publish } = three();
      expect(publish({ exclude: [a.session.id, c.session.id] })).toEqual(['bob']);
    });

    it('eligible by session id', () => {
      const { b, publish } = three();
      expect(publish({ eligible: [b.session.id] })).toEqual(['bob']);
      expect(publish({ eligible: [] })).toEqual([]);
    });

    it('exclude and eligible by authid', () => {
      const { publish } = three();
      expect(publish({ excludeAuthid: ['alice'] })).toEqual(['bob', 'carol']);
      expect(publish({ eligibleAuthid: ['alice', 'carol'] })).toEqual(['alice', 'carol']);
    });

    it('exclude and eligible by authrole', () => {
      const { publish } = three();
      expect(publish({ excludeAuthrole: ['user'] })).toEqual(['carol']);
      expect(publish({ eligibleAuthrole: ['user'] })).toEqual(['alice', 'bob']);
    });

    it('exclusion wins over eligibility, and every list must admit the receiver', () => {
      const { a, b, publish } = three();
      expect(publish({ eligible: [a.session.id, b.session.id], exclude: [a.session.id] })).toEqual(['bob']);
      expect(publish({ eligibleAuthrole: ['user'], excludeAuthid: ['bob'] })).toEqual(['alice']);
      expect(publish({ eligible: [a.session.id], eligibleAuthid: ['bob'] })).toEqual([]);
    });

    it('with no list, everyone subscribed receives', () => {
      const { publish } = three();
      expect(publish({})).toEqual(['alice', 'bob', 'carol']);
    });
  });
});

describe('Broker: authorization', () => {
  /** Denies guests everything and everybody anything under `secret`; records every question. */
  class RecordingAuthorizer implements Authorizer {
    readonly asked: Array<{ session: Session; action: Action; pattern: readonly string[]; policy: Policy }> = [];
    authorize(session: Session, action: Action, pattern: readonly string[], policy: Policy): boolean {
      // The realm's own system session (meta events, meta procedures) is not what these tests are about.
      if (session.authrole !== 'system') this.asked.push({ session, action, pattern, policy });
      return session.authrole !== 'guest' && pattern[0] !== 'secret';
    }
  }

  it('asks the authorizer about subscribe with the pattern and policy', () => {
    const authorizer = new RecordingAuthorizer();
    const { join } = setup(authorizer);
    const a = join();
    subscribe(a, 'com..z', 'wildcard');
    expect(authorizer.asked).toEqual([{ session: a.session, action: 'subscribe', pattern: ['com', WILDCARD, 'z'], policy: 'wildcard' }]);
  });

  it('a denied subscribe fails with not_authorized and leaves no trace', () => {
    const authorizer = new RecordingAuthorizer();
    const { realm, join } = setup(authorizer);
    const guest = join('g', 'guest');
    expect(guest.session.subscribe(['x'], 'exact', {})).toEqual({ ok: false, error: CoreError.NotAuthorized });
    const user = join();
    expect(user.session.subscribe(['secret', 'x'], 'exact', {})).toEqual({ ok: false, error: CoreError.NotAuthorized });
    expect(realm.broker.subscriptionCount).toBe(0);
    expect(guest.session.subscriptions.size).toBe(0);
  });

  it('a denied publish fails with not_authorized and reaches nobody', () => {
    const authorizer = new RecordingAuthorizer();
    const { join } = setup(authorizer);
    const user = join();
    subscribe(user, 'x');
    const guest = join('g', 'guest');
    expect(guest.session.publish(['x'], payload(), PUB)).toEqual({ ok: false, error: CoreError.NotAuthorized });
    expect(user.sink.events).toHaveLength(0);
    expect(authorizer.asked.at(-1)).toEqual({ session: guest.session, action: 'publish', pattern: ['x'], policy: 'exact' });
  });

  it('an allowed publish is asked about with the exact topic', () => {
    const authorizer = new RecordingAuthorizer();
    const { join } = setup(authorizer);
    const user = join();
    expect(user.session.publish(['a', 'b'], payload(), PUB).ok).toBe(true);
    expect(authorizer.asked).toEqual([{ session: user.session, action: 'publish', pattern: ['a', 'b'], policy: 'exact' }]);
  });
});
