/**
 * autobahn-js (v22) against the real router over wamp.2.json and wamp.2.cbor: pub/sub with every match
 * policy and option, and RPC with results, errors, disclosure, cancel, timeout and a callee that leaves.
 */
import autobahn from 'autobahn';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { deferred, openSession, within, type AutobahnSerializer, type OpenSession } from '../helpers/autobahn.js';
import { startTestRouter, type TestRouter } from '../helpers/router.js';

let router: TestRouter;
let opened: OpenSession[] = [];

beforeEach(async () => {
  router = await startTestRouter();
});

afterEach(async () => {
  await Promise.all(opened.map((s) => s.close().catch(() => undefined)));
  opened = [];
  await router.close();
});

async function open(serializer: AutobahnSerializer): Promise<any> {
  const s = await openSession(router.url, serializer);
  opened.push(s);
  return s.session;
}

async function noEventWithin(ms: number, received: unknown[]): Promise<void> {
  const before = received.length;
  await new Promise((resolve) => setTimeout(resolve, ms));
  expect(received.length).toBe(before);
}

describe.each(['json', 'cbor'] as const)('autobahn-js over %s', (ser) => {
  describe('pub/sub', () => {
    it('exact subscription receives args and kwargs', async () => {
      const [sub, pub] = [await open(ser), await open(ser)];
      const got = deferred<[unknown, unknown, any]>();
      await sub.subscribe('com.example.exact', (args: unknown, kwargs: unknown, details: any) => got.resolve([args, kwargs, details]));
      await pub.publish('com.example.exact', [1, 'two', { three: 3 }], { k: [true, null] }, { acknowledge: true });
      const [args, kwargs, details] = await within(got.promise, 3000, 'event');
      expect(args).toEqual([1, 'two', { three: 3 }]);
      expect(kwargs).toEqual({ k: [true, null] });
      expect(details.topic).toBe('com.example.exact');
    });

    it('prefix subscription matches string prefixes and reports details.topic', async () => {
      const [sub, pub] = [await open(ser), await open(ser)];
      const topics: string[] = [];
      const two = deferred<void>();
      await sub.subscribe('com.alert.emergency', (_a: unknown, _k: unknown, details: any) => {
        topics.push(details.topic);
        if (topics.length === 2) two.resolve();
      }, { match: 'prefix' });
      await pub.publish('com.alert.emergency-low', [], {}, { acknowledge: true });
      await pub.publish('com.alert.other', [], {}, { acknowledge: true });
      await pub.publish('com.alert.emergency.fire', [], {}, { acknowledge: true });
      await within(two.promise, 3000, 'two prefix events');
      expect(topics).toEqual(['com.alert.emergency-low', 'com.alert.emergency.fire']);
    });

    it('wildcard subscription matches one component per empty component', async () => {
      const [sub, pub] = [await open(ser), await open(ser)];
      const topics: string[] = [];
      const got = deferred<void>();
      await sub.subscribe('sensors..temp', (_a: unknown, _k: unknown, details: any) => {
        topics.push(details.topic);
        got.resolve();
      }, { match: 'wildcard' });
      await pub.publish('sensors.kitchen.humidity', [1], {}, { acknowledge: true });
      await pub.publish('sensors.a.b.temp', [2], {}, { acknowledge: true });
      await pub.publish('sensors.kitchen.temp', [3], {}, { acknowledge: true });
      await within(got.promise, 3000, 'wildcard event');
      await noEventWithin(100, topics);
      expect(topics).toEqual(['sensors.kitchen.temp']);
    });

    it('a publisher does not get its own event by default, and does with exclude_me false', async () => {
      const s = await open(ser);
      const events: unknown[] = [];
      await s.subscribe('com.self', (args: unknown[]) => events.push(args[0]));
      await s.publish('com.self', ['excluded'], {}, { acknowledge: true });
      await s.publish('com.self', ['included'], {}, { acknowledge: true, exclude_me: false });
      await new Promise((resolve) => setTimeout(resolve, 150));
      expect(events).toEqual(['included']);
    });

    it('publisher disclosure gives the publisher session id, authid and authrole', async () => {
      const [sub, pub] = [await open(ser), await open(ser)];
      const got = deferred<any>();
      await sub.subscribe('com.disclosed', (_a: unknown, _k: unknown, details: any) => got.resolve(details));
      await pub.publish('com.disclosed', [], {}, { acknowledge: true, disclose_me: true });
      const details = await within(got.promise, 3000, 'event');
      expect(details.publisher).toBe(pub.id);
      expect(details.publisher_authrole).toBe('anonymous');
      expect(typeof details.publisher_authid).toBe('string');
    });

    it('exclude and eligible select receivers by session id', async () => {
      const [a, b, pub] = [await open(ser), await open(ser), await open(ser)];
      const seen: string[] = [];
      await a.subscribe('com.filtered', (args: string[]) => seen.push(`a:${args[0]}`));
      await b.subscribe('com.filtered', (args: string[]) => seen.push(`b:${args[0]}`));
      await pub.publish('com.filtered', ['1'], {}, { acknowledge: true, exclude: [a.id] });
      await pub.publish('com.filtered', ['2'], {}, { acknowledge: true, eligible: [a.id] });
      await new Promise((resolve) => setTimeout(resolve, 150));
      expect(seen.sort()).toEqual(['a:2', 'b:1']);
    });

    it('after unsubscribe no event arrives', async () => {
      const [sub, pub] = [await open(ser), await open(ser)];
      const events: unknown[] = [];
      const subscription = await sub.subscribe('com.unsub', (args: unknown[]) => events.push(args[0]));
      await sub.unsubscribe(subscription);
      await pub.publish('com.unsub', [1], {}, { acknowledge: true });
      await noEventWithin(150, events);
    });
  });

  describe('RPC', () => {
    it('call returns the result; args and kwargs reach the callee', async () => {
      const [callee, caller] = [await open(ser), await open(ser)];
      await callee.register('com.math.add', (args: number[], kwargs: { scale?: number }) => (args[0]! + args[1]!) * (kwargs.scale ?? 1));
      expect(await caller.call('com.math.add', [2, 3], { scale: 10 })).toBe(50);
    });

    it('a multi-value result comes back as autobahn.Result with args and kwargs', async () => {
      const [callee, caller] = [await open(ser), await open(ser)];
      await callee.register('com.multi', () => new autobahn.Result([1, 2], { k: 'v' }));
      const result = await caller.call('com.multi');
      expect(result.args).toEqual([1, 2]);
      expect(result.kwargs).toEqual({ k: 'v' });
    });

    it("a callee's application error reaches the caller unchanged, args included", async () => {
      const [callee, caller] = [await open(ser), await open(ser)];
      await callee.register('com.fails', () => {
        throw new autobahn.Error('com.example.error.out_of_stock', ['widget', 0], { sku: 'w-1' });
      });
      const error = await caller.call('com.fails').catch((e: any) => e);
      expect(error.error).toBe('com.example.error.out_of_stock');
      expect(error.args).toEqual(['widget', 0]);
      expect(error.kwargs).toEqual({ sku: 'w-1' });
    });

    it('calling an unregistered procedure gives wamp.error.no_such_procedure', async () => {
      const caller = await open(ser);
      const error = await caller.call('com.nobody.home').catch((e: any) => e);
      expect(error.error).toBe('wamp.error.no_such_procedure');
    });

    it('a second registration of the same procedure gives wamp.error.procedure_already_exists', async () => {
      const [a, b] = [await open(ser), await open(ser)];
      await a.register('com.only.once', () => 1);
      const error = await b.register('com.only.once', () => 2).catch((e: any) => e);
      expect(error.error).toBe('wamp.error.procedure_already_exists');
    });

    it('caller disclosure reaches the callee', async () => {
      const [callee, caller] = [await open(ser), await open(ser)];
      await callee.register('com.who', (_a: unknown, _k: unknown, details: any) => details.caller);
      expect(await caller.call('com.who', [], {}, { disclose_me: true })).toBe(caller.id);
    });

    it('prefix and wildcard registrations route with details.procedure, exact winning over both', async () => {
      const [callee, caller] = [await open(ser), await open(ser)];
      await callee.register('com.api', (_a: unknown, _k: unknown, details: any) => `prefix:${details.procedure}`, { match: 'prefix' });
      await callee.register('com..get', (_a: unknown, _k: unknown, details: any) => `wildcard:${details.procedure}`, { match: 'wildcard' });
      await callee.register('com.api.get', () => 'exact');
      expect(await caller.call('com.api.get')).toBe('exact');
      expect(await caller.call('com.api.users.list')).toBe('prefix:com.api.users.list');
      expect(await caller.call('com.store.get')).toBe('wildcard:com.store.get');
    });

    it('a shared registration spreads calls round robin', async () => {
      const [a, b, caller] = [await open(ser), await open(ser), await open(ser)];
      await a.register('com.shared', () => 'a', { invoke: 'roundrobin' });
      await b.register('com.shared', () => 'b', { invoke: 'roundrobin' });
      const results = [];
      for (let i = 0; i < 4; i++) results.push(await caller.call('com.shared'));
      expect(results).toEqual(['a', 'b', 'a', 'b']);
    });

    it('a callee leaving mid-call gives the caller wamp.error.canceled', async () => {
      const callee = await openSession(router.url, ser);
      opened.push(callee);
      const caller = await open(ser);
      const invoked = deferred<void>();
      await callee.session.register('com.slow', () => {
        invoked.resolve();
        return new Promise(() => undefined);
      });
      const call = caller.call('com.slow').catch((e: any) => e);
      await within(invoked.promise, 3000, 'invocation');
      await callee.close();
      const error = await within(call, 3000, 'call error');
      expect(error.error).toBe('wamp.error.canceled');
    });

    it('a call timeout gives wamp.error.timeout', async () => {
      const [callee, caller] = [await open(ser), await open(ser)];
      await callee.register('com.never', () => new Promise(() => undefined));
      const error = await caller.call('com.never', [], {}, { timeout: 150 }).catch((e: any) => e);
      expect(error.error).toBe('wamp.error.timeout');
    });

    it('canceling a pending call gives wamp.error.canceled', async () => {
      const [callee, caller] = [await open(ser), await open(ser)];
      const invoked = deferred<void>();
      await callee.register('com.cancel.me', () => {
        invoked.resolve();
        return new Promise(() => undefined);
      });
      const call = caller.call('com.cancel.me');
      const outcome = call.catch((e: any) => e);
      await within(invoked.promise, 3000, 'invocation');
      // autobahn settles non-kill cancels locally; `kill` waits for the router's answer. Its callee does not
      // announce call_canceling, so the router cannot interrupt it and answers the caller at once.
      call.cancel({ mode: 'kill' });
      const error = await within(outcome, 3000, 'cancel error');
      expect(error.error).toBe('wamp.error.canceled');
    });
  });
});

describe('mixed serializers', () => {
  it('a JSON publisher reaches a CBOR subscriber and the other way round', async () => {
    const [json, cbor] = [await open('json'), await open('cbor')];
    const toCbor = deferred<unknown[]>();
    const toJson = deferred<unknown[]>();
    await cbor.subscribe('com.mixed.a', (args: unknown[]) => toCbor.resolve(args));
    await json.subscribe('com.mixed.b', (args: unknown[]) => toJson.resolve(args));
    await json.publish('com.mixed.a', [{ big: 2 ** 40 + 1, list: [1.5, 'x'] }], {}, { acknowledge: true });
    await cbor.publish('com.mixed.b', [{ big: 2 ** 40 + 1, list: [1.5, 'x'] }], {}, { acknowledge: true });
    expect(await within(toCbor.promise, 3000, 'cbor event')).toEqual([{ big: 2 ** 40 + 1, list: [1.5, 'x'] }]);
    expect(await within(toJson.promise, 3000, 'json event')).toEqual([{ big: 2 ** 40 + 1, list: [1.5, 'x'] }]);
  });

  it('a JSON caller reaches a CBOR callee', async () => {
    const [json, cbor] = [await open('json'), await open('cbor')];
    await cbor.register('com.mixed.echo', (args: unknown[]) => args[0]);
    expect(await json.call('com.mixed.echo', ['hello'])).toBe('hello');
  });
});
