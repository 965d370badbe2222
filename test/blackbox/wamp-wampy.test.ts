/**
 * Black-box interoperability with wampy@8, a third-party WAMP client, over both `wamp.2.json` and
 * `wamp.2.cbor`. Every test starts its own router and its own clients and tears all of them down again.
 *
 * wampy quirks this file works around (none of them router bugs):
 * - wampy only puts `exclude_me` on the wire when it is truthy, so `exclude_me: false` cannot be asked for
 *   through its API. `excludeMeFalse()` wraps the serializer and renames the custom option `_exclude_me`
 *   (which wampy passes through as a WAMP custom attribute) to `exclude_me` on PUBLISH.
 * - wampy's callee does not understand INTERRUPT at all (it hard-closes the session with a protocol
 *   violation) and does not announce `callee.features.call_canceling`; the cancel/timeout tests check that
 *   the router therefore never interrupts it and falls back to `skip`, as the spec requires.
 * - wampy refuses a second registration of the same URI by the same client locally, so the duplicate
 *   registration test uses a second client to reach the router.
 */
import { SignJWT } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Wampy } from 'wampy';
import { CborSerializer } from 'wampy/CborSerializer.js';
import { JsonSerializer } from 'wampy/JsonSerializer.js';
import WebSocket from 'ws';
import { startTestRouter, type ConfigPatch, type TestRouter } from '../helpers/router.js';

type SerializerName = 'json' | 'cbor';

interface WireSerializer {
  protocol: string;
  isBinary: boolean;
  encode(data: unknown): string | ArrayBuffer | Uint8Array;
  decode(data: string | ArrayBuffer | Uint8Array): unknown;
}

interface EventData {
  details: Record<string, unknown>;
  argsList?: unknown[];
  argsDict?: Record<string, unknown>;
}

/** What wampy rejects with for ERROR and ABORT: its error classes carry the WAMP URI as `errorUri`. */
interface WampyError extends Error {
  errorUri?: string;
  argsList?: unknown[];
  argsDict?: Record<string, unknown>;
  details?: Record<string, unknown>;
}

const SECRET = 'x'.repeat(32);
const PUBLISH = 16;

function newSerializer(name: SerializerName): WireSerializer {
  return name === 'json' ? new JsonSerializer() : new CborSerializer();
}

function other(name: SerializerName): SerializerName {
  return name === 'json' ? 'cbor' : 'json';
}

/**
 * wampy drops `exclude_me: false` (it only sends the option when truthy). This wrapper turns the custom
 * attribute `_exclude_me` (passed through by wampy as-is) into the real `exclude_me` on PUBLISH.
 */
function excludeMeFalse(inner: WireSerializer): WireSerializer {
  return {
    protocol: inner.protocol,
    isBinary: inner.isBinary,
    encode(data: unknown) {
      if (Array.isArray(data) && data[0] === PUBLISH && data[2] !== null && typeof data[2] === 'object' && '_exclude_me' in data[2]) {
        const { _exclude_me: excludeMe, ...rest } = data[2] as Record<string, unknown>;
        const patched = [...data];
        patched[2] = { ...rest, exclude_me: excludeMe };
        return inner.encode(patched);
      }
      return inner.encode(data);
    },
    decode: (data) => inner.decode(data),
  };
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Resolves with the promise's outcome, or rejects when it takes longer than `ms`; never leaves a timer behind. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The rejection of a promise that must fail (fails the test if it resolves). */
async function rejection(promise: Promise<unknown>, what: string, ms = 3000): Promise<WampyError> {
  try {
    const value = await within(promise, ms, what);
    throw new Error(`${what} resolved instead of failing: ${JSON.stringify(value)}`);
  } catch (error) {
    if (error instanceof Error && (error.message.startsWith(`${what} resolved`) || error.message.startsWith('timed out'))) throw error;
    return error as WampyError;
  }
}

/** Collects the events of one subscription and lets a test await the next one. */
class Inbox {
  readonly events: EventData[] = [];
  private readonly waiters: Array<{ index: number; done: Deferred<EventData> }> = [];

  readonly handler = (event: EventData): void => {
    this.events.push(event);
    for (const waiter of [...this.waiters]) {
      if (waiter.index < this.events.length) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.done.resolve(this.events[waiter.index]!);
      }
    }
  };

  /** The `n`th event (0-based) of this inbox, waiting for it if need be. */
  at(n: number, ms = 2000): Promise<EventData> {
    if (n < this.events.length) return Promise.resolve(this.events[n]!);
    const done = deferred<EventData>();
    this.waiters.push({ index: n, done });
    return within(done.promise, ms, `event #${n}`);
  }
}

/** Router and clients for one test, torn down in afterEach. */
function harness(patch?: ConfigPatch) {
  const state: { router: TestRouter | undefined; clients: Wampy[]; clientErrors: Error[] } = {
    router: undefined,
    clients: [],
    clientErrors: [],
  };

  beforeEach(async () => {
    state.router = await startTestRouter(patch);
  });

  afterEach(async () => {
    const clients = state.clients;
    const clientErrors = state.clientErrors;
    state.clients = [];
    state.clientErrors = [];
    await Promise.all(clients.map(closeClient));
    const logs = state.router?.logs ?? [];
    await state.router?.close();
    state.router = undefined;
    // Nothing wampy does in these tests should make the router complain about a connection (a protocol
    // violation is a warning) or log an error at all.
    const complaints = logs.filter((line) => {
      const level = typeof line.level === 'number' ? line.level : 0;
      return level >= 50 || (level >= 40 && 'conn' in line);
    });
    expect(complaints).toEqual([]);
    // wampy reports a message it finds non-compliant (an INTERRUPT it never asked for, say) as a
    // ProtocolViolationError through onError before it hard-closes the session.
    expect(clientErrors.filter((error) => error.name === 'ProtocolViolationError')).toEqual([]);
  });

  return {
    get router(): TestRouter {
      if (state.router === undefined) throw new Error('router not started');
      return state.router;
    },
    /** A wampy client, not yet connected; it is disconnected after the test whatever happens. */
    client(serializer: SerializerName | WireSerializer, options: Record<string, unknown> = {}): Wampy {
      const client = new Wampy(this.router.url, {
        realm: 'realm1',
        // wampy calls `new ws(url, protocols, null, headers, requestOptions)` (the `websocket` package's
        // signature); `ws` takes options third, so it gets null and wampy's headers never reach it. Its
        // declared constructor type therefore does not fit `ws` either, hence the cast below.
        ws: WebSocket,
        serializer: typeof serializer === 'string' ? newSerializer(serializer) : serializer,
        autoReconnect: false,
        onError: (error: Error) => {
          state.clientErrors.push(error);
        },
        ...options,
      } as unknown as ConstructorParameters<typeof Wampy>[1]);
      state.clients.push(client);
      return client;
    },
    /** A connected anonymous client. */
    async connected(serializer: SerializerName | WireSerializer, options: Record<string, unknown> = {}): Promise<Wampy> {
      const client = this.client(serializer, options);
      await within(client.connect(), 3000, 'WELCOME');
      return client;
    },
  };
}

/** wampy keeps its socket private; the teardown and the abrupt-disconnect test need it. */
function socketOf(client: Wampy): WebSocket | null {
  return (client as unknown as { _ws: WebSocket | null })._ws;
}

/** GOODBYE if there is a session; in any case the socket ends up closed (terminated as a last resort). */
async function closeClient(client: Wampy): Promise<void> {
  if (client.getSessionId()) {
    try {
      await within(client.disconnect(), 1000, 'GOODBYE');
    } catch {
      // fall through to the hard close
    }
  }
  const socket = socketOf(client);
  if (socket !== null && socket.readyState !== WebSocket.CLOSED) {
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.terminate();
    await within(closed, 1000, 'socket close').catch(() => undefined);
  }
}

function token(claims: Record<string, unknown>, subject: string, expiresAt: number | string, secret = SECRET): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(subject)
    .setIssuedAt()
    .setExpirationTime(expiresAt)
    .sign(new TextEncoder().encode(secret));
}

const SERIALIZERS: SerializerName[] = ['json', 'cbor'];

describe.each(SERIALIZERS)('wampy over wamp.2.%s', (ser) => {
  describe('session', () => {
    const h = harness();

    it('connects anonymously and gets an integer session id and the announced roles', async () => {
      const client = h.client(ser);
      const details = (await within(client.connect(), 3000, 'WELCOME')) as Record<string, unknown>;
      const id = client.getSessionId();
      expect(Number.isInteger(id)).toBe(true);
      expect(id).toBeGreaterThan(0);
      expect(id).toBeLessThanOrEqual(2 ** 53);
      // The router picked the serializer wampy asked for (wampy silently falls back to JSON otherwise).
      expect(client.getOptions().serializer?.protocol).toBe(ser);
      expect(details.realm).toBe('realm1');
      expect(details.authmethod).toBe('anonymous');
      expect(details.authrole).toBe('anonymous');
      const roles = details.roles as Record<string, { features: Record<string, boolean> }>;
      expect(roles.broker?.features).toMatchObject({
        publisher_identification: true,
        publisher_exclusion: true,
        subscriber_blackwhite_listing: true,
        pattern_based_subscription: true,
      });
      expect(roles.dealer?.features).toMatchObject({
        caller_identification: true,
        pattern_based_registration: true,
        shared_registration: true,
        call_canceling: true,
        call_timeout: true,
      });
    });

    it('gives two sessions distinct ids and closes with GOODBYE', async () => {
      const a = await h.connected(ser);
      const b = await h.connected(ser);
      expect(a.getSessionId()).not.toBe(b.getSessionId());
      await within(a.disconnect(), 2000, 'GOODBYE reply');
      expect(a.getSessionId()).toBeFalsy();
      expect(socketOf(a)).toBeNull();
    });
  });

  describe('ticket authentication with a JWT', () => {
    const h = harness({ jwt: { secret: SECRET }, allowAnonymous: false });

    it('logs in with a valid token and reports authid, authrole and authmethod', async () => {
      const jwt = await token({ role: 'user' }, 'alice', '5m');
      const challenges: Array<[string, Record<string, unknown>]> = [];
      const client = h.client(ser, {
        authid: 'alice',
        authmethods: ['ticket'],
        onChallenge: (method: string, extra: Record<string, unknown>) => {
          challenges.push([method, extra]);
          return jwt;
        },
      });
      const details = (await within(client.connect(), 3000, 'WELCOME')) as Record<string, unknown>;
      expect(challenges).toEqual([['ticket', {}]]);
      expect(details).toMatchObject({ realm: 'realm1', authid: 'alice', authrole: 'user', authmethod: 'ticket' });
      expect(Number.isInteger(client.getSessionId())).toBe(true);
    });

    it('takes authid and authrole from the token, not from HELLO', async () => {
      const jwt = await token({ role: 'admin' }, 'bob', '5m');
      const client = h.client(ser, { authid: 'mallory', authmethods: ['ticket'], onChallenge: () => jwt });
      const details = (await within(client.connect(), 3000, 'WELCOME')) as Record<string, unknown>;
      expect(details).toMatchObject({ authid: 'bob', authrole: 'admin', authmethod: 'ticket' });
    });

    it('denies an expired token with wamp.error.authentication_denied', async () => {
      const jwt = await token({ role: 'user' }, 'alice', Math.floor(Date.now() / 1000) - 60);
      const client = h.client(ser, { authid: 'alice', authmethods: ['ticket'], onChallenge: () => jwt });
      const error = await rejection(client.connect(), 'connect with an expired token');
      expect(error.name).toBe('AbortedError');
      expect(error.errorUri).toBe('wamp.error.authentication_denied');
      expect(client.getSessionId()).toBeFalsy();
    });

    it('denies a token signed with another secret', async () => {
      const jwt = await token({ role: 'user' }, 'alice', '5m', 'y'.repeat(32));
      const client = h.client(ser, { authid: 'alice', authmethods: ['ticket'], onChallenge: () => jwt });
      const error = await rejection(client.connect(), 'connect with a forged token');
      expect(error.errorUri).toBe('wamp.error.authentication_denied');
    });

    it('aborts an anonymous HELLO with wamp.error.no_matching_auth_method when anonymous is off', async () => {
      const client = h.client(ser);
      const error = await rejection(client.connect(), 'anonymous connect');
      expect(error.errorUri).toBe('wamp.error.no_matching_auth_method');
    });
  });

  describe('publish and subscribe', () => {
    const h = harness();

    it('delivers to an exact subscription with args and kwargs and no topic detail', async () => {
      const subscriber = await h.connected(ser);
      const publisher = await h.connected(ser);
      const inbox = new Inbox();
      await subscriber.subscribe('com.example.exact', inbox.handler);
      const published = await publisher.publish('com.example.exact', { argsList: [1, 'two', { three: 3 }], argsDict: { k: 'v', n: 2.5 } });
      expect(Number.isInteger(published.publicationId)).toBe(true);
      const event = await inbox.at(0);
      expect(event.argsList).toEqual([1, 'two', { three: 3 }]);
      expect(event.argsDict).toEqual({ k: 'v', n: 2.5 });
      expect(event.details.topic).toBeUndefined();
      expect(event.details.publisher).toBeUndefined();
    });

    it('delivers to a prefix subscription with details.topic', async () => {
      const subscriber = await h.connected(ser);
      const publisher = await h.connected(ser);
      const inbox = new Inbox();
      await subscriber.subscribe('com.sensors', inbox.handler, { match: 'prefix' });
      await publisher.publish('com.other.kitchen', ['ignored']);
      await publisher.publish('com.sensors.kitchen.temp', [21.5]);
      const event = await inbox.at(0);
      expect(event.details.topic).toBe('com.sensors.kitchen.temp');
      expect(event.argsList).toEqual([21.5]);
      // The URI itself matches a prefix subscription too.
      await publisher.publish('com.sensors', ['self']);
      const second = await inbox.at(1);
      expect(second.details.topic).toBe('com.sensors');
      expect(inbox.events).toHaveLength(2);
    });

    it('delivers to a wildcard subscription (com..temp) with details.topic', async () => {
      const subscriber = await h.connected(ser);
      const publisher = await h.connected(ser);
      const inbox = new Inbox();
      await subscriber.subscribe('com..temp', inbox.handler, { match: 'wildcard' });
      await publisher.publish('com.kitchen.humidity', [1]);
      await publisher.publish('com.kitchen.hall.temp', [2]);
      await publisher.publish('com.kitchen.temp', { argsList: [19], argsDict: { unit: 'C' } });
      const event = await inbox.at(0);
      expect(event.details.topic).toBe('com.kitchen.temp');
      expect(event.argsList).toEqual([19]);
      expect(event.argsDict).toEqual({ unit: 'C' });
      // Order from one publisher is kept, so the two non-matching publications were never delivered.
      expect(inbox.events).toHaveLength(1);
    });

    it('delivers one publication to exact, prefix and wildcard subscriptions of one session', async () => {
      const subscriber = await h.connected(ser);
      const publisher = await h.connected(ser);
      const exact = new Inbox();
      const prefix = new Inbox();
      const wildcard = new Inbox();
      const subscriptions = [
        await subscriber.subscribe('com.multi.a', exact.handler),
        await subscriber.subscribe('com.multi', prefix.handler, { match: 'prefix' }),
        await subscriber.subscribe('com..a', wildcard.handler, { match: 'wildcard' }),
      ];
      expect(new Set(subscriptions.map((s) => s.subscriptionId)).size).toBe(3);
      const { publicationId } = await publisher.publish('com.multi.a', ['x']);
      const events = await Promise.all([exact.at(0), prefix.at(0), wildcard.at(0)]);
      expect(events.map((e) => e.argsList)).toEqual([['x'], ['x'], ['x']]);
      expect(events[0]!.details.topic).toBeUndefined();
      expect(events[1]!.details.topic).toBe('com.multi.a');
      expect(events[2]!.details.topic).toBe('com.multi.a');
      // The PUBLISHED id is the publication id every EVENT carries; wampy does not expose it, so this just
      // checks it is a valid WAMP id.
      expect(Number.isInteger(publicationId)).toBe(true);
    });

    it('does not deliver to the publisher by default (exclude_me defaults to true)', async () => {
      const self = await h.connected(excludeMeFalse(newSerializer(ser)));
      const peer = await h.connected(ser);
      const own = new Inbox();
      const peers = new Inbox();
      await self.subscribe('com.example.echo', own.handler);
      await peer.subscribe('com.example.echo', peers.handler);
      await self.publish('com.example.echo', ['default']);
      expect((await peers.at(0)).argsList).toEqual(['default']);
      // A marker that does reach the publisher: events from one publisher on one topic stay in order, so had
      // the first publication been delivered to self it would be in front of the marker.
      await self.publish('com.example.echo', ['marker'], { _exclude_me: false } as Record<string, unknown>);
      expect((await own.at(0)).argsList).toEqual(['marker']);
      expect(own.events.map((e) => e.argsList)).toEqual([['marker']]);
      expect((await peers.at(1)).argsList).toEqual(['marker']);
    });

    it('delivers to the publisher itself with exclude_me: false', async () => {
      const self = await h.connected(excludeMeFalse(newSerializer(ser)));
      const own = new Inbox();
      await self.subscribe('com.example.loopback', own.handler);
      await self.publish('com.example.loopback', { argsList: ['me'], argsDict: { again: true } }, { _exclude_me: false } as Record<string, unknown>);
      const event = await own.at(0);
      expect(event.argsList).toEqual(['me']);
      expect(event.argsDict).toEqual({ again: true });
    });

    it('discloses the publisher when asked (disclose_me: true) and only then', async () => {
      const subscriber = await h.connected(ser);
      const publisher = await h.connected(ser);
      const inbox = new Inbox();
      await subscriber.subscribe('com.example.who', inbox.handler);
      await publisher.publish('com.example.who', ['hidden']);
      await publisher.publish('com.example.who', ['shown'], { disclose_me: true });
      const hidden = await inbox.at(0);
      const shown = await inbox.at(1);
      expect(hidden.details.publisher).toBeUndefined();
      expect(shown.details.publisher).toBe(publisher.getSessionId());
      expect(typeof shown.details.publisher_authid).toBe('string');
      expect(shown.details.publisher_authrole).toBe('anonymous');
    });

    it('honours eligible and exclude session lists', async () => {
      const publisher = await h.connected(ser);
      const first = await h.connected(ser);
      const second = await h.connected(ser);
      const one = new Inbox();
      const two = new Inbox();
      await first.subscribe('com.example.list', one.handler);
      await second.subscribe('com.example.list', two.handler);
      await publisher.publish('com.example.list', ['only-first'], { eligible: first.getSessionId()! });
      await publisher.publish('com.example.list', ['not-first'], { exclude: first.getSessionId()! });
      await publisher.publish('com.example.list', ['both']);
      await two.at(1);
      await one.at(1);
      expect(one.events.map((e) => e.argsList)).toEqual([['only-first'], ['both']]);
      expect(two.events.map((e) => e.argsList)).toEqual([['not-first'], ['both']]);
    });

    it('stops delivering after UNSUBSCRIBE', async () => {
      const subscriber = await h.connected(ser);
      const publisher = await h.connected(ser);
      const gone = new Inbox();
      const kept = new Inbox();
      const { subscriptionId } = await subscriber.subscribe('com.example.unsub', gone.handler);
      await subscriber.subscribe('com.example.unsub', kept.handler, { match: 'prefix' });
      await subscriber.unsubscribe(subscriptionId);
      await publisher.publish('com.example.unsub', ['after']);
      expect((await kept.at(0)).argsList).toEqual(['after']);
      expect(gone.events).toHaveLength(0);
    });

    it('acknowledges a publication to a topic without subscribers', async () => {
      const publisher = await h.connected(ser);
      const published = await publisher.publish('com.example.nobody', ['void']);
      expect(Number.isInteger(published.publicationId)).toBe(true);
    });
  });

  describe('remote procedure calls', () => {
    const h = harness();

    it('calls a procedure with args and kwargs and gets both back', async () => {
      const callee = await h.connected(ser);
      const caller = await h.connected(ser);
      const seen: Array<{ details: Record<string, unknown>; argsList?: unknown[]; argsDict?: Record<string, unknown> }> = [];
      const registered = await callee.register('com.example.add', (invocation) => {
        seen.push(invocation);
        const [a, b] = invocation.argsList as [number, number];
        return { argsList: [a + b], argsDict: { scale: (invocation.argsDict?.scale as number) * (a + b), echo: invocation.argsDict } };
      });
      expect(Number.isInteger(registered.registrationId)).toBe(true);
      const result = await within(caller.call('com.example.add', { argsList: [2, 3], argsDict: { scale: 10 } }), 2000, 'RESULT');
      expect(result.argsList).toEqual([5]);
      expect(result.argsDict).toEqual({ scale: 50, echo: { scale: 10 } });
      expect(seen).toHaveLength(1);
      expect(seen[0]!.argsList).toEqual([2, 3]);
      expect(seen[0]!.argsDict).toEqual({ scale: 10 });
      // Not disclosed unless asked for.
      expect(seen[0]!.details.caller).toBeUndefined();
    });

    it('passes results with only args, only kwargs, or nothing', async () => {
      const callee = await h.connected(ser);
      const caller = await h.connected(ser);
      await callee.register('com.example.args', () => ({ argsList: ['a', 1] }));
      await callee.register('com.example.kwargs', () => ({ argsDict: { only: 'kw' } }));
      await callee.register('com.example.nothing', () => undefined);
      const args = await within(caller.call('com.example.args'), 2000, 'RESULT');
      const kwargs = await within(caller.call('com.example.kwargs'), 2000, 'RESULT');
      const nothing = await within(caller.call('com.example.nothing'), 2000, 'RESULT');
      expect(args.argsList).toEqual(['a', 1]);
      expect(args.argsDict).toBeUndefined();
      expect(kwargs.argsDict).toEqual({ only: 'kw' });
      expect(kwargs.argsList ?? []).toEqual([]);
      expect(nothing.argsList).toBeUndefined();
      expect(nothing.argsDict).toBeUndefined();
    });

    it('discloses the caller to the callee with disclose_me: true', async () => {
      const callee = await h.connected(ser);
      const caller = await h.connected(ser);
      const details: Array<Record<string, unknown>> = [];
      await callee.register('com.example.whoami', (invocation) => {
        details.push(invocation.details);
        return { argsList: [invocation.details.caller ?? null] };
      });
      const result = await within(caller.call('com.example.whoami', [], { disclose_me: true }), 2000, 'RESULT');
      expect(details[0]!.caller).toBe(caller.getSessionId());
      expect(typeof details[0]!.caller_authid).toBe('string');
      expect(details[0]!.caller_authrole).toBe('anonymous');
      expect(result.argsList).toEqual([caller.getSessionId()]);
    });

    it('forwards an application error from the callee with its URI, args and kwargs', async () => {
      const callee = await h.connected(ser);
      const caller = await h.connected(ser);
      await callee.register('com.example.fail', () => {
        throw { error: 'com.example.error.bad_input', argsList: ['bad input', 7], argsDict: { field: 'x' } };
      });
      const error = await rejection(caller.call('com.example.fail', ['x']), 'call of a failing procedure');
      expect(error.name).toBe('CallError');
      expect(error.errorUri).toBe('com.example.error.bad_input');
      expect(error.argsList).toEqual(['bad input', 7]);
      expect(error.argsDict).toEqual({ field: 'x' });
      // The callee session survives its own error.
      await callee.register('com.example.after', () => ({ argsList: ['ok'] }));
      expect((await within(caller.call('com.example.after'), 2000, 'RESULT')).argsList).toEqual(['ok']);
    });

    it('answers a call to an unregistered procedure with wamp.error.no_such_procedure', async () => {
      const caller = await h.connected(ser);
      const error = await rejection(caller.call('com.example.nowhere', [1]), 'call of a missing procedure');
      expect(error.name).toBe('CallError');
      expect(error.errorUri).toBe('wamp.error.no_such_procedure');
    });

    it('refuses a second registration of the same procedure with wamp.error.procedure_already_exists', async () => {
      const first = await h.connected(ser);
      const second = await h.connected(ser);
      await first.register('com.example.unique', () => ({ argsList: ['first'] }));
      const error = await rejection(second.register('com.example.unique', () => ({ argsList: ['second'] })), 'duplicate REGISTER');
      expect(error.name).toBe('RegisterError');
      expect(error.errorUri).toBe('wamp.error.procedure_already_exists');
      // The original registration still answers.
      expect((await within(second.call('com.example.unique'), 2000, 'RESULT')).argsList).toEqual(['first']);
    });

    it('frees a procedure on UNREGISTER', async () => {
      const callee = await h.connected(ser);
      const caller = await h.connected(ser);
      await callee.register('com.example.temp', () => ({ argsList: [1] }));
      await callee.unregister('com.example.temp');
      const error = await rejection(caller.call('com.example.temp'), 'call after UNREGISTER');
      expect(error.errorUri).toBe('wamp.error.no_such_procedure');
    });

    it('routes calls to prefix and wildcard registrations with details.procedure', async () => {
      const callee = await h.connected(ser);
      const caller = await h.connected(ser);
      await callee.register('com.api', (inv) => ({ argsList: ['prefix', inv.details.procedure] }), { match: 'prefix' });
      await callee.register('com..status', (inv) => ({ argsList: ['wildcard', inv.details.procedure] }), { match: 'wildcard' });
      expect((await within(caller.call('com.api.users.list'), 2000, 'RESULT')).argsList).toEqual(['prefix', 'com.api.users.list']);
      expect((await within(caller.call('com.node1.status'), 2000, 'RESULT')).argsList).toEqual(['wildcard', 'com.node1.status']);
    });

    it('fails a pending call with wamp.error.canceled when the callee says GOODBYE', async () => {
      const callee = await h.connected(ser);
      const caller = await h.connected(ser);
      const invoked = deferred();
      await callee.register('com.example.hang', () => {
        invoked.resolve();
        return new Promise(() => undefined);
      });
      const outcome = rejection(caller.call('com.example.hang', [1]), 'call whose callee left');
      await within(invoked.promise, 2000, 'INVOCATION');
      await within(callee.disconnect(), 2000, 'callee GOODBYE');
      const error = await outcome;
      expect(error.name).toBe('CallError');
      expect(error.errorUri).toBe('wamp.error.canceled');
      // The registration went with the callee.
      const after = await rejection(caller.call('com.example.hang'), 'call after the callee left');
      expect(after.errorUri).toBe('wamp.error.no_such_procedure');
    });

    it('fails a pending call with wamp.error.canceled when the callee connection drops', async () => {
      const callee = await h.connected(ser);
      const caller = await h.connected(ser);
      const invoked = deferred();
      await callee.register('com.example.drop', () => {
        invoked.resolve();
        return new Promise(() => undefined);
      });
      const outcome = rejection(caller.call('com.example.drop'), 'call whose callee dropped');
      await within(invoked.promise, 2000, 'INVOCATION');
      socketOf(callee)!.terminate();
      const error = await outcome;
      expect(error.errorUri).toBe('wamp.error.canceled');
    });

    it('times out a call (timeout: 200) with wamp.error.timeout and drops the late YIELD', async () => {
      const callee = await h.connected(ser);
      const caller = await h.connected(ser);
      const invoked = deferred<Record<string, unknown>>();
      const answer = deferred<{ argsList: unknown[] }>();
      await callee.register('com.example.slow', (invocation) => {
        invoked.resolve(invocation.details);
        return answer.promise;
      });
      await callee.register('com.example.fast', () => ({ argsList: ['fast'] }));
      const started = Date.now();
      const outcome = rejection(caller.call('com.example.slow', ['x'], { timeout: 200 }), 'call with a 200 ms timeout');
      await within(invoked.promise, 2000, 'INVOCATION');
      const error = await outcome;
      const elapsed = Date.now() - started;
      expect(error.name).toBe('CallError');
      expect(error.errorUri).toBe('wamp.error.timeout');
      expect(elapsed).toBeGreaterThanOrEqual(180);
      expect(elapsed).toBeLessThan(2000);
      // The callee answers late: the router discards it, and (as wampy never announced call_canceling for its
      // callee role) must not have sent INTERRUPT, which wampy would treat as a protocol violation.
      answer.resolve({ argsList: ['too late'] });
      expect((await within(caller.call('com.example.fast'), 2000, 'RESULT')).argsList).toEqual(['fast']);
      expect(callee.getSessionId()).toBeTruthy();
      expect((await within(caller.call('com.example.fast'), 2000, 'RESULT')).argsList).toEqual(['fast']);
    });

    it('does not time out a call that answers within its timeout', async () => {
      const callee = await h.connected(ser);
      const caller = await h.connected(ser);
      await callee.register('com.example.quick', async () => ({ argsList: ['in time'] }));
      const result = await within(caller.call('com.example.quick', [], { timeout: 1000 }), 2000, 'RESULT');
      expect(result.argsList).toEqual(['in time']);
    });

    describe.each([undefined, 'skip', 'kill', 'killnowait'] as const)('cancel (mode %s)', (mode) => {
      it('fails the pending call with wamp.error.canceled and leaves the (non-interruptible) callee alone', async () => {
        const callee = await h.connected(ser);
        const caller = await h.connected(ser);
        const invoked = deferred();
        const answer = deferred<{ argsList: unknown[] }>();
        await callee.register('com.example.cancelme', () => {
          invoked.resolve();
          return answer.promise;
        });
        await callee.register('com.example.alive', () => ({ argsList: ['alive'] }));
        const outcome = rejection(caller.call('com.example.cancelme', ['work']), `call canceled with mode ${mode ?? '(default)'}`, 1500);
        const requestId = caller.getOpStatus().reqId;
        await within(invoked.promise, 2000, 'INVOCATION');
        expect(caller.cancel(requestId, mode === undefined ? undefined : { mode })).toBe(true);
        // wampy's callee did not announce call_canceling, so per spec every mode behaves as `skip`: the caller
        // hears at once (even for `kill`), and the callee gets no INTERRUPT.
        const error = await outcome;
        expect(error.name).toBe('CallError');
        expect(error.errorUri).toBe('wamp.error.canceled');
        answer.resolve({ argsList: ['discarded'] });
        expect((await within(caller.call('com.example.alive'), 2000, 'RESULT')).argsList).toEqual(['alive']);
        expect(callee.getSessionId()).toBeTruthy();
      });
    });
  });

  describe(`mixed serializers (${ser} <-> ${other(ser)})`, () => {
    const h = harness();

    const args = [1, -2, 3.25, 'two', 'ünïcødé ✓', true, false, null, [1, [2, [3]]], { nested: { deep: ['x', 0] } }];
    const kwargs = { a: 1, b: 'str', c: [1, 2, 3], d: { e: null, f: false }, big: 2 ** 53 - 1, neg: -(2 ** 40), half: 0.5, empty: {}, list: [] };

    it(`a ${ser} publisher reaches a ${other(ser)} subscriber with the same args and kwargs`, async () => {
      const subscriber = await h.connected(other(ser));
      const publisher = await h.connected(ser);
      expect(subscriber.getOptions().serializer?.protocol).toBe(other(ser));
      expect(publisher.getOptions().serializer?.protocol).toBe(ser);
      const inbox = new Inbox();
      await subscriber.subscribe('com.mixed.topic', inbox.handler);
      await publisher.publish('com.mixed.topic', { argsList: args, argsDict: kwargs }, { disclose_me: true });
      const event = await inbox.at(0);
      expect(event.argsList).toEqual(args);
      expect(event.argsDict).toEqual(kwargs);
      expect(event.details.publisher).toBe(publisher.getSessionId());
    });

    it(`a ${ser} caller and a ${other(ser)} callee exchange the same args and kwargs`, async () => {
      const callee = await h.connected(other(ser));
      const caller = await h.connected(ser);
      const received: Array<{ argsList?: unknown[]; argsDict?: Record<string, unknown>; caller?: unknown }> = [];
      await callee.register('com.mixed.echo', (inv) => {
        received.push({ argsList: inv.argsList, argsDict: inv.argsDict, caller: inv.details.caller });
        return { argsList: inv.argsList, argsDict: inv.argsDict };
      });
      const result = await within(caller.call('com.mixed.echo', { argsList: args, argsDict: kwargs }, { disclose_me: true }), 2000, 'RESULT');
      expect(received[0]!.argsList).toEqual(args);
      expect(received[0]!.argsDict).toEqual(kwargs);
      expect(received[0]!.caller).toBe(caller.getSessionId());
      expect(result.argsList).toEqual(args);
      expect(result.argsDict).toEqual(kwargs);
    });

    it(`an application error crosses from a ${other(ser)} callee to a ${ser} caller intact`, async () => {
      const callee = await h.connected(other(ser));
      const caller = await h.connected(ser);
      await callee.register('com.mixed.fail', () => {
        throw { error: 'com.mixed.error.nope', argsList: ['why', 42], argsDict: { detail: { code: 'E1' } } };
      });
      const error = await rejection(caller.call('com.mixed.fail'), 'mixed failing call');
      expect(error.errorUri).toBe('com.mixed.error.nope');
      expect(error.argsList).toEqual(['why', 42]);
      expect(error.argsDict).toEqual({ detail: { code: 'E1' } });
    });

    it(`carries binary values from ${ser} to ${other(ser)}: CBOR byte strings <-> the JSON "\\0"+base64 form`, async () => {
      const bytes = Buffer.from([0, 1, 2, 250, 255]);
      const jsonForm = '\u0000' + bytes.toString('base64');
      const subscriber = await h.connected(other(ser));
      const publisher = await h.connected(ser);
      const inbox = new Inbox();
      await subscriber.subscribe('com.mixed.bytes', inbox.handler);
      const sent = ser === 'cbor' ? bytes : jsonForm;
      await publisher.publish('com.mixed.bytes', { argsList: [sent, 'plain'], argsDict: { blob: sent } });
      const event = await inbox.at(0);
      if (ser === 'cbor') {
        // Bytes reach a JSON peer in the spec's NUL + base64 string form.
        expect(event.argsList).toEqual([jsonForm, 'plain']);
        expect(event.argsDict).toEqual({ blob: jsonForm });
      } else {
        // The NUL + base64 string from a JSON peer reaches a CBOR peer as a byte string.
        expect(event.argsList![0]).toBeInstanceOf(Uint8Array);
        expect(Buffer.from(event.argsList![0] as Uint8Array)).toEqual(bytes);
        expect(event.argsList![1]).toBe('plain');
        expect(Buffer.from(event.argsDict!.blob as Uint8Array)).toEqual(bytes);
      }
    });
  });
});
