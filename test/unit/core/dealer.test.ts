/**
 * The dealer, driven through Router -> Realm -> Session with a sink that records what it receives.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { allowAll } from '../../../src/auth/authorizer.js';
import { RecordingSink } from '../../helpers/recording-sink.js';
import { CoreError } from '../../../src/core/errors.js';
import { WILDCARD, type Policy } from '../../../src/core/match/types.js';
import { Payload } from '../../../src/core/payload.js';
import { META_PROCEDURES } from '../../../src/core/meta.js';
import type { Realm } from '../../../src/core/realm.js';
import { Router } from '../../../src/core/router.js';
import type { Session } from '../../../src/core/session.js';
import type {
  Action,
  Authorizer,
  CallOptions,
  Invocation,
  InvokePolicy,
  Registration,
} from '../../../src/core/types.js';

/** Registrations besides the meta procedures every realm's system session holds. */
function userRegistrations(realm: Realm): number {
  return realm.dealer.registrationCount - META_PROCEDURES.length;
}

interface Peer {
  session: Session;
  sink: RecordingSink;
}

function setup(authorizer: Authorizer = allowAll): { realm: Realm; join: (options?: { authid?: string; authrole?: string; interrupts?: boolean }) => Peer } {
  const router = new Router(authorizer);
  const realm = router.addRealm('realm1', { uriCheck: 'loose' });
  let connections = 0;
  const join = ({ authid = 'alice', authrole = 'user', interrupts = true } = {}): Peer => {
    const sink = new RecordingSink();
    const session = realm.join(
      { authid, authrole, authmethod: 'anonymous', authprovider: 'static' },
      { connectionId: `c${++connections}`, protocol: 'test', transport: 'test', remoteAddress: '127.0.0.1' },
      sink,
      { interrupts },
    );
    return { session, sink };
  };
  return { realm, join };
}

const u = (uri: string): string[] => uri.split('.').map((c) => (c === '' ? WILDCARD : c));
const NO_TIMEOUT: CallOptions = { timeoutMs: 0, disclose: false };

function register(peer: Peer, uri: string, policy: Policy = 'exact', invoke: InvokePolicy = 'single'): Registration {
  const result = peer.session.register(u(uri), policy, { invoke });
  if (!result.ok) throw new Error(`register failed: ${result.error}`);
  return result.value;
}

function call(peer: Peer, requestId: number, uri: string, options: CallOptions = NO_TIMEOUT, payload = Payload.fromArgs([requestId])): Invocation {
  const result = peer.session.call(requestId, u(uri), payload, options);
  if (!result.ok) throw new Error(`call failed: ${result.error}`);
  return result.value;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('Dealer: registration', () => {
  it('registers a procedure and keeps a back-reference in the session', () => {
    const { realm, join } = setup();
    const callee = join();
    const registration = register(callee, 'com.add');
    expect(registration.pattern).toEqual(['com', 'add']);
    expect(registration.policy).toBe('exact');
    expect(callee.session.registrations.get(registration.id)).toBe(registration);
    expect(userRegistrations(realm)).toBe(1);
  });

  it('a second registration of the same (procedure, policy) fails with procedure_already_exists', () => {
    const { realm, join } = setup();
    const a = join();
    const b = join();
    register(a, 'com.add');
    expect(b.session.register(['com', 'add'], 'exact', { invoke: 'single' })).toEqual({ ok: false, error: CoreError.ProcedureAlreadyExists });
    expect(a.session.register(['com', 'add'], 'exact', { invoke: 'single' })).toEqual({ ok: false, error: CoreError.ProcedureAlreadyExists });
    expect(userRegistrations(realm)).toBe(1);
    expect(b.session.registrations.size).toBe(0);
  });

  it('the same procedure under another policy is another registration', () => {
    const { realm, join } = setup();
    const a = join();
    const b = join();
    register(a, 'com.add');
    register(b, 'com.add', 'prefix');
    expect(userRegistrations(realm)).toBe(2);
  });

  it('unregister removes it; unknown, repeated or foreign ids fail with no_such_registration', () => {
    const { realm, join } = setup();
    const a = join();
    const b = join();
    const registration = register(a, 'com.add');
    expect(b.session.unregister(registration.id)).toEqual({ ok: false, error: CoreError.NoSuchRegistration });
    expect(a.session.unregister(registration.id + 1000)).toEqual({ ok: false, error: CoreError.NoSuchRegistration });
    expect(a.session.unregister(registration.id)).toEqual({ ok: true, value: registration });
    expect(userRegistrations(realm)).toBe(0);
    expect(a.session.unregister(registration.id)).toEqual({ ok: false, error: CoreError.NoSuchRegistration });
    // Free again for anyone.
    register(b, 'com.add');
  });

  describe('shared registrations', () => {
    function shared(invoke: InvokePolicy, count = 3) {
      const env = setup();
      const callees = Array.from({ length: count }, (_, i) => env.join({ authid: `callee${i}` }));
      const registrations = callees.map((callee) => register(callee, 'com.work', 'exact', invoke));
      const caller = env.join({ authid: 'caller' });
      let request = 0;
      /** Makes n calls and answers each at once; returns the authid of the callee each one reached. */
      const picks = (n: number): string[] => {
        const out: string[] = [];
        for (let i = 0; i < n; i++) {
          const invocation = call(caller, ++request, 'com.work');
          out.push(invocation.callee.authid);
          expect(invocation.callee.yield(invocation.id, Payload.fromArgs([])).ok).toBe(true);
        }
        return out;
      };
      return { ...env, callees, registrations, caller, picks };
    }

    it('callees that agree on the invoke policy share one registration id', () => {
      const { realm, registrations } = shared('roundrobin');
      expect(new Set(registrations.map((r) => r.id)).size).toBe(1);
      expect(registrations[0]?.observers.size).toBe(3);
      expect(userRegistrations(realm)).toBe(1);
    });

    it('roundrobin takes the callees in turn', () => {
      const { picks } = shared('roundrobin');
      expect(picks(7)).toEqual(['callee0', 'callee1', 'callee2', 'callee0', 'callee1', 'callee2', 'callee0']);
    });

    it('roundrobin carries on over the remaining callees when one leaves', () => {
      const { picks, callees } = shared('roundrobin');
      expect(picks(2)).toEqual(['callee0', 'callee1']);
      callees[1]?.session.leave();
      const next = picks(4);
      expect(next).not.toContain('callee1');
      expect(new Set(next)).toEqual(new Set(['callee0', 'callee2']));
    });

    it('first always takes the first callee that registered', () => {
      const { picks, callees } = shared('first');
      expect(picks(4)).toEqual(['callee0', 'callee0', 'callee0', 'callee0']);
      callees[0]?.session.leave();
      expect(picks(2)).toEqual(['callee1', 'callee1']);
    });

    it('last always takes the last callee that registered', () => {
      const { picks, callees } = shared('last');
      expect(picks(4)).toEqual(['callee2', 'callee2', 'callee2', 'callee2']);
      callees[2]?.session.leave();
      expect(picks(2)).toEqual(['callee1', 'callee1']);
    });

    it('random picks only among the callees, and reaches each of them', () => {
      const { picks } = shared('random');
      // 90 draws over 3 callees: missing one has a probability of about 3 * (2/3)^90, i.e. never.
      const chosen = picks(90);
      expect(new Set(chosen)).toEqual(new Set(['callee0', 'callee1', 'callee2']));
    });

    it.each<[InvokePolicy, InvokePolicy]>([
      ['roundrobin', 'random'],
      ['roundrobin', 'single'],
      ['first', 'last'],
      ['single', 'roundrobin'],
      ['single', 'single'],
    ])('a callee asking %s after %s fails with procedure_already_exists', (second, first) => {
      const { realm, join } = setup();
      register(join(), 'com.work', 'exact', first);
      const late = join();
      expect(late.session.register(['com', 'work'], 'exact', { invoke: second })).toEqual({ ok: false, error: CoreError.ProcedureAlreadyExists });
      expect(userRegistrations(realm)).toBe(1);
      expect(late.session.registrations.size).toBe(0);
    });

    it('a session cannot join its own shared registration twice', () => {
      const { callees } = shared('roundrobin', 1);
      const only = callees[0] as Peer;
      expect(only.session.register(['com', 'work'], 'exact', { invoke: 'roundrobin' })).toEqual({ ok: false, error: CoreError.ProcedureAlreadyExists });
    });

    it('the registration lives until its last callee unregisters', () => {
      const { realm, callees, registrations } = shared('roundrobin', 2);
      const id = registrations[0]?.id as number;
      expect(callees[0]?.session.unregister(id).ok).toBe(true);
      expect(userRegistrations(realm)).toBe(1);
      expect(callees[1]?.session.unregister(id).ok).toBe(true);
      expect(userRegistrations(realm)).toBe(0);
    });
  });
});

describe('Dealer: calls', () => {
  it('call -> invocation -> yield -> result', () => {
    const { join } = setup();
    const callee = join({ authid: 'callee' });
    const caller = join({ authid: 'caller' });
    const registration = register(callee, 'com.add');
    const args = Payload.fromArgs([2, 3]);
    const result = caller.session.call(7, ['com', 'add'], args, { timeoutMs: 0, disclose: true });
    if (!result.ok) throw new Error('call failed');
    const invocation = result.value;

    expect(callee.sink.invocations).toEqual([invocation]);
    expect(invocation.registration).toBe(registration);
    expect(invocation.procedure).toEqual(['com', 'add']);
    expect(invocation.payload).toBe(args);
    expect(invocation.caller).toBe(caller.session);
    expect(invocation.callerRequestId).toBe(7);
    expect(invocation.callee).toBe(callee.session);
    expect(invocation.disclose).toBe(true);
    expect(invocation.id).toBeGreaterThanOrEqual(1);
    expect(caller.session.callsOut.get(7)).toBe(invocation);
    expect(callee.session.callsIn.get(invocation.id)).toBe(invocation);

    const answer = Payload.fromArgs([5]);
    expect(callee.session.yield(invocation.id, answer)).toEqual({ ok: true, value: invocation });
    expect(caller.sink.results).toEqual([{ requestId: 7, payload: answer }]);
    expect(caller.sink.results[0]?.payload).toBe(answer);
    expect(caller.sink.errors).toEqual([]);
    expect(caller.session.callsOut.size).toBe(0);
    expect(callee.session.callsIn.size).toBe(0);
  });

  it('invocation ids count in the callee’s scope', () => {
    const { join } = setup();
    const callee = join();
    const caller = join();
    register(callee, 'p');
    const a = call(caller, 100, 'p');
    const b = call(caller, 200, 'p');
    expect(b.id).toBe(a.id + 1);
  });

  it('a callee error reaches the caller with the callee’s URI and payload', () => {
    const { join } = setup();
    const callee = join();
    const caller = join();
    register(callee, 'com.div');
    const invocation = call(caller, 1, 'com.div');
    const details = Payload.fromArgs(['division by zero'], { code: 42 });
    expect(callee.session.fail(invocation.id, 'com.example.oops', details).ok).toBe(true);
    expect(caller.sink.errors).toEqual([{ requestId: 1, error: 'com.example.oops', payload: details }]);
    expect(caller.sink.errors[0]?.payload).toBe(details);
    expect(caller.sink.results).toEqual([]);
    expect(caller.session.callsOut.size).toBe(0);
    expect(callee.session.callsIn.size).toBe(0);
  });

  it('a callee error without payload reaches the caller without payload', () => {
    const { join } = setup();
    const callee = join();
    const caller = join();
    register(callee, 'p');
    const invocation = call(caller, 1, 'p');
    callee.session.fail(invocation.id, 'com.example.oops', undefined);
    expect(caller.sink.errors).toEqual([{ requestId: 1, error: 'com.example.oops', payload: undefined }]);
  });

  it('a call to nothing fails with no_such_procedure and leaves nothing pending', () => {
    const { join } = setup();
    const caller = join();
    expect(caller.session.call(1, ['com', 'nothing'], Payload.fromArgs([]), NO_TIMEOUT)).toEqual({ ok: false, error: CoreError.NoSuchProcedure });
    expect(caller.session.callsOut.size).toBe(0);
  });

  it('a call after the only callee unregistered fails with no_such_procedure', () => {
    const { join } = setup();
    const callee = join();
    const caller = join();
    const registration = register(callee, 'p');
    callee.session.unregister(registration.id);
    expect(caller.session.call(1, ['p'], Payload.fromArgs([]), NO_TIMEOUT)).toEqual({ ok: false, error: CoreError.NoSuchProcedure });
  });

  it('a request id still pending fails with invalid_argument; once settled it may be used again', () => {
    const { join } = setup();
    const callee = join();
    const caller = join();
    register(callee, 'p');
    const first = call(caller, 5, 'p');
    const again = caller.session.call(5, ['p'], Payload.fromArgs([]), NO_TIMEOUT);
    expect(again.ok).toBe(false);
    expect(!again.ok && again.error).toBe(CoreError.InvalidArgument);
    expect(callee.sink.invocations).toHaveLength(1);
    expect(caller.session.callsOut.get(5)).toBe(first);
    callee.session.yield(first.id, Payload.fromArgs([]));
    expect(caller.session.call(5, ['p'], Payload.fromArgs([]), NO_TIMEOUT).ok).toBe(true);
  });

  it('the same request id from two callers is two calls', () => {
    const { join } = setup();
    const callee = join();
    const a = join();
    const b = join();
    register(callee, 'p');
    call(a, 1, 'p');
    call(b, 1, 'p');
    expect(callee.sink.invocations).toHaveLength(2);
  });

  it('yield or error for an unknown invocation, or by another session, returns not-ok', () => {
    const { join } = setup();
    const callee = join();
    const caller = join();
    register(callee, 'p');
    const invocation = call(caller, 1, 'p');
    expect(callee.session.yield(invocation.id + 99, Payload.fromArgs([])).ok).toBe(false);
    expect(caller.session.yield(invocation.id, Payload.fromArgs([])).ok).toBe(false);
    expect(caller.session.fail(invocation.id, 'x.y', undefined).ok).toBe(false);
    expect(caller.sink.results).toEqual([]);
    expect(caller.sink.errors).toEqual([]);
  });

  it('a second yield for the same invocation returns not-ok and delivers nothing more', () => {
    const { join } = setup();
    const callee = join();
    const caller = join();
    register(callee, 'p');
    const invocation = call(caller, 1, 'p');
    expect(callee.session.yield(invocation.id, Payload.fromArgs([1])).ok).toBe(true);
    expect(callee.session.yield(invocation.id, Payload.fromArgs([2])).ok).toBe(false);
    expect(callee.session.fail(invocation.id, 'x.y', undefined).ok).toBe(false);
    expect(caller.sink.results).toHaveLength(1);
    expect(caller.sink.errors).toHaveLength(0);
  });

  describe('best-match routing', () => {
    function three() {
      const env = setup();
      const exact = env.join({ authid: 'exact' });
      const prefix = env.join({ authid: 'prefix' });
      const wildcard = env.join({ authid: 'wildcard' });
      const caller = env.join({ authid: 'caller' });
      const registrations = {
        exact: register(exact, 'com.app.add'),
        prefix: register(prefix, 'com.app', 'prefix'),
        wildcard: register(wildcard, 'com..add', 'wildcard'),
      };
      let request = 0;
      const route = (uri: string): string | undefined => {
        const result = caller.session.call(++request, u(uri), Payload.fromArgs([]), NO_TIMEOUT);
        if (!result.ok) return result.error;
        result.value.callee.yield(result.value.id, Payload.fromArgs([]));
        return result.value.callee.authid;
      };
      return { exact, prefix, wildcard, registrations, route };
    }

    it('exact beats prefix beats wildcard', () => {
      const { exact, prefix, registrations, route } = three();
      expect(route('com.app.add')).toBe('exact');
      exact.session.unregister(registrations.exact.id);
      expect(route('com.app.add')).toBe('prefix');
      prefix.session.unregister(registrations.prefix.id);
      expect(route('com.app.add')).toBe('wildcard');
    });

    it('each pattern still gets what only it matches', () => {
      const { route } = three();
      expect(route('com.app.sub')).toBe('prefix');
      expect(route('com.application.x')).toBe('prefix');
      expect(route('com.other.add')).toBe('wildcard');
      expect(route('org.other.add')).toBe(CoreError.NoSuchProcedure);
    });

    it('the longest prefix wins', () => {
      const { join } = setup();
      const short = join({ authid: 'short' });
      const long = join({ authid: 'long' });
      const caller = join();
      register(short, 'com', 'prefix');
      register(long, 'com.app.ad', 'prefix');
      expect(call(caller, 1, 'com.app.add').callee.authid).toBe('long');
      expect(call(caller, 2, 'com.app.sub').callee.authid).toBe('short');
    });

    it('an invocation through a pattern carries the procedure the caller called', () => {
      const { join } = setup();
      const callee = join();
      const caller = join();
      const registration = register(callee, 'com', 'prefix');
      const invocation = call(caller, 1, 'com.app.add');
      expect(invocation.procedure).toEqual(['com', 'app', 'add']);
      expect(invocation.registration).toBe(registration);
    });
  });

  describe('authorization', () => {
    class RecordingAuthorizer implements Authorizer {
      readonly asked: Array<{ action: Action; pattern: readonly string[]; policy: Policy }> = [];
      authorize(session: Session, action: Action, pattern: readonly string[], policy: Policy): boolean {
        // The realm's own system session registers the meta procedures; these tests are about the others.
        if (session.authrole !== 'system') this.asked.push({ action, pattern, policy });
        return session.authrole !== 'guest';
      }
    }

    it('a denied register fails with not_authorized and registers nothing', () => {
      const authorizer = new RecordingAuthorizer();
      const { realm, join } = setup(authorizer);
      const guest = join({ authrole: 'guest' });
      expect(guest.session.register(['com'], 'prefix', { invoke: 'single' })).toEqual({ ok: false, error: CoreError.NotAuthorized });
      expect(authorizer.asked).toEqual([{ action: 'register', pattern: ['com'], policy: 'prefix' }]);
      expect(userRegistrations(realm)).toBe(0);
    });

    it('a denied call fails with not_authorized and reaches no callee', () => {
      const authorizer = new RecordingAuthorizer();
      const { join } = setup(authorizer);
      const callee = join();
      register(callee, 'p');
      const guest = join({ authrole: 'guest' });
      expect(guest.session.call(1, ['p'], Payload.fromArgs([]), NO_TIMEOUT)).toEqual({ ok: false, error: CoreError.NotAuthorized });
      expect(authorizer.asked.at(-1)).toEqual({ action: 'call', pattern: ['p'], policy: 'exact' });
      expect(callee.sink.invocations).toHaveLength(0);
      expect(guest.session.callsOut.size).toBe(0);
    });
  });
});

describe('Dealer: timeout', () => {
  it('answers the caller with timeout and interrupts an interruptible callee', () => {
    vi.useFakeTimers();
    const { join } = setup();
    const callee = join({ interrupts: true });
    const caller = join();
    register(callee, 'slow');
    const invocation = call(caller, 1, 'slow', { timeoutMs: 1000, disclose: false });
    vi.advanceTimersByTime(999);
    expect(caller.sink.errors).toEqual([]);
    expect(callee.sink.interrupts).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(caller.sink.errors).toEqual([{ requestId: 1, error: CoreError.Timeout, payload: undefined }]);
    expect(callee.sink.interrupts).toEqual([{ invocation, mode: 'killnowait', reason: CoreError.Timeout }]);
    expect(caller.session.callsOut.size).toBe(0);
    expect(callee.session.callsIn.size).toBe(0);
    // The callee's late answer is refused and never reaches the caller.
    expect(callee.session.yield(invocation.id, Payload.fromArgs([])).ok).toBe(false);
    expect(caller.sink.results).toEqual([]);
    expect(caller.sink.errors).toHaveLength(1);
  });

  it('does not interrupt a callee that cannot be interrupted', () => {
    vi.useFakeTimers();
    const { join } = setup();
    const callee = join({ interrupts: false });
    const caller = join();
    register(callee, 'slow');
    call(caller, 1, 'slow', { timeoutMs: 50, disclose: false });
    vi.advanceTimersByTime(50);
    expect(caller.sink.errors.map((e) => e.error)).toEqual([CoreError.Timeout]);
    expect(callee.sink.interrupts).toEqual([]);
  });

  it('a call answered in time never times out, and no timer outlives its deadline', () => {
    vi.useFakeTimers();
    const { join } = setup();
    const callee = join();
    const caller = join();
    register(callee, 'p');
    const invocation = call(caller, 1, 'p', { timeoutMs: 1000, disclose: false });
    expect(vi.getTimerCount()).toBe(1);
    callee.session.yield(invocation.id, Payload.fromArgs([]));
    vi.advanceTimersByTime(5000);
    expect(vi.getTimerCount()).toBe(0);
    expect(caller.sink.errors).toEqual([]);
    expect(caller.sink.results).toHaveLength(1);
  });

  it('calls with the same timeout share one timer, and each still times out on time', () => {
    vi.useFakeTimers();
    const { join } = setup();
    const callee = join();
    const caller = join();
    register(callee, 'p');
    const invocations = [];
    for (let i = 1; i <= 100; i++) {
      invocations.push(call(caller, i, 'p', { timeoutMs: 1000, disclose: false }));
      vi.advanceTimersByTime(5);
    }
    expect(vi.getTimerCount()).toBe(1);
    // Call i was made at 5 * (i - 1) ms; now is 500. Answer every other call; the rest time out 1000 ms after each
    // was made, in order.
    for (const invocation of invocations.filter((_, i) => i % 2 === 0)) callee.session.yield(invocation.id, Payload.fromArgs([]));
    vi.advanceTimersByTime(504);
    expect(caller.sink.errors).toEqual([]);
    vi.advanceTimersByTime(1); // 1005 ms: call 2's deadline
    expect(caller.sink.errors.map((e) => e.requestId)).toEqual([2]);
    vi.advanceTimersByTime(500);
    expect(caller.sink.errors.map((e) => e.requestId)).toEqual(Array.from({ length: 50 }, (_, i) => 2 * i + 2));
    expect(caller.sink.errors.every((e) => e.error === CoreError.Timeout)).toBe(true);
    expect(caller.sink.results).toHaveLength(50);
    vi.advanceTimersByTime(5000);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('timeout 0 means no timeout', () => {
    vi.useFakeTimers();
    const { join } = setup();
    const callee = join();
    const caller = join();
    register(callee, 'p');
    call(caller, 1, 'p', { timeoutMs: 0, disclose: false });
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(24 * 3600 * 1000);
    expect(caller.sink.errors).toEqual([]);
    expect(caller.session.callsOut.size).toBe(1);
  });

  it('a timeout beyond setTimeout’s range (2^31 - 1 ms) does not fire at once', () => {
    vi.useFakeTimers();
    const { join } = setup();
    const callee = join();
    const caller = join();
    register(callee, 'p');
    // 2^31 ms is about 24.8 days; Node turns such delays into 1 ms (TimeoutOverflowWarning).
    call(caller, 1, 'p', { timeoutMs: 2 ** 31, disclose: false });
    vi.advanceTimersByTime(1000);
    expect(caller.sink.errors).toEqual([]);
    expect(caller.session.callsOut.size).toBe(1);
  });
});

describe('Dealer: cancel', () => {
  function pending(interrupts: boolean) {
    const env = setup();
    const callee = env.join({ authid: 'callee', interrupts });
    const caller = env.join({ authid: 'caller' });
    register(callee, 'p');
    const invocation = call(caller, 1, 'p');
    return { callee, caller, invocation };
  }

  it('skip answers the caller at once and does not interrupt the callee, whose late answer is dropped', () => {
    const { callee, caller, invocation } = pending(true);
    expect(caller.session.cancel(1, 'skip').ok).toBe(true);
    expect(caller.sink.errors).toEqual([{ requestId: 1, error: CoreError.Canceled, payload: undefined }]);
    expect(callee.sink.interrupts).toEqual([]);
    expect(caller.session.callsOut.size).toBe(0);
    expect(callee.session.callsIn.size).toBe(0);
    expect(callee.session.yield(invocation.id, Payload.fromArgs([])).ok).toBe(false);
    expect(caller.sink.results).toEqual([]);
    expect(caller.sink.errors).toHaveLength(1);
  });

  it('kill interrupts an interruptible callee and waits for its answer: an ERROR is passed on', () => {
    const { callee, caller, invocation } = pending(true);
    expect(caller.session.cancel(1, 'kill').ok).toBe(true);
    expect(callee.sink.interrupts).toEqual([{ invocation, mode: 'kill', reason: CoreError.Canceled }]);
    expect(caller.sink.errors).toEqual([]);
    expect(caller.session.callsOut.get(1)).toBe(invocation);
    const details = Payload.fromArgs(['stopped']);
    expect(callee.session.fail(invocation.id, CoreError.Canceled, details).ok).toBe(true);
    expect(caller.sink.errors).toEqual([{ requestId: 1, error: CoreError.Canceled, payload: details }]);
    expect(caller.sink.results).toEqual([]);
    expect(caller.session.callsOut.size).toBe(0);
    expect(callee.session.callsIn.size).toBe(0);
  });

  it('kill: a callee that finished first has its RESULT passed on (WAMP: the caller may get RESULT or ERROR)', () => {
    const { callee, caller, invocation } = pending(true);
    caller.session.cancel(1, 'kill');
    const answer = Payload.fromArgs(['done anyway']);
    expect(callee.session.yield(invocation.id, answer).ok).toBe(true);
    expect(caller.sink.results).toEqual([{ requestId: 1, payload: answer }]);
    expect(caller.sink.errors).toEqual([]);
    expect(caller.session.callsOut.size).toBe(0);
  });

  it('kill: a callee error with its own URI is passed on unchanged', () => {
    const { callee, caller, invocation } = pending(true);
    caller.session.cancel(1, 'kill');
    expect(callee.session.fail(invocation.id, 'com.example.stopped', undefined).ok).toBe(true);
    expect(caller.sink.errors).toEqual([{ requestId: 1, error: 'com.example.stopped', payload: undefined }]);
  });

  it('kill: a repeated cancel changes nothing and interrupts only once', () => {
    const { callee, caller } = pending(true);
    caller.session.cancel(1, 'kill');
    expect(caller.session.cancel(1, 'kill').ok).toBe(true);
    expect(caller.session.cancel(1, 'skip').ok).toBe(true);
    expect(callee.sink.interrupts).toHaveLength(1);
    expect(caller.sink.errors).toEqual([]);
  });

  it('kill with a callee that cannot be interrupted acts as skip', () => {
    const { callee, caller, invocation } = pending(false);
    expect(caller.session.cancel(1, 'kill').ok).toBe(true);
    expect(callee.sink.interrupts).toEqual([]);
    expect(caller.sink.errors).toEqual([{ requestId: 1, error: CoreError.Canceled, payload: undefined }]);
    expect(callee.session.yield(invocation.id, Payload.fromArgs([])).ok).toBe(false);
    expect(caller.sink.results).toEqual([]);
  });

  it('killnowait interrupts an interruptible callee and answers the caller at once', () => {
    const { callee, caller, invocation } = pending(true);
    expect(caller.session.cancel(1, 'killnowait').ok).toBe(true);
    expect(callee.sink.interrupts).toEqual([{ invocation, mode: 'killnowait', reason: CoreError.Canceled }]);
    expect(caller.sink.errors).toEqual([{ requestId: 1, error: CoreError.Canceled, payload: undefined }]);
    expect(callee.session.yield(invocation.id, Payload.fromArgs([])).ok).toBe(false);
    expect(caller.sink.results).toEqual([]);
    expect(caller.sink.errors).toHaveLength(1);
  });

  it('killnowait with a callee that cannot be interrupted answers the caller and sends no interrupt', () => {
    const { callee, caller } = pending(false);
    expect(caller.session.cancel(1, 'killnowait').ok).toBe(true);
    expect(callee.sink.interrupts).toEqual([]);
    expect(caller.sink.errors).toEqual([{ requestId: 1, error: CoreError.Canceled, payload: undefined }]);
  });

  it('cancel of an unknown or finished call returns not-ok and sends nothing', () => {
    const { callee, caller, invocation } = pending(true);
    expect(caller.session.cancel(99, 'kill').ok).toBe(false);
    callee.session.yield(invocation.id, Payload.fromArgs([]));
    expect(caller.session.cancel(1, 'killnowait').ok).toBe(false);
    expect(callee.sink.interrupts).toEqual([]);
    expect(caller.sink.errors).toEqual([]);
    expect(caller.sink.results).toHaveLength(1);
  });

  it('only the caller can cancel its call', () => {
    const { callee, caller } = pending(true);
    expect(callee.session.cancel(1, 'killnowait').ok).toBe(false);
    expect(caller.session.callsOut.size).toBe(1);
  });

  it('cancel stops the timeout timer', () => {
    vi.useFakeTimers();
    const { join } = setup();
    const callee = join();
    const caller = join();
    register(callee, 'p');
    call(caller, 1, 'p', { timeoutMs: 1000, disclose: false });
    caller.session.cancel(1, 'skip');
    vi.advanceTimersByTime(2000);
    expect(vi.getTimerCount()).toBe(0);
    expect(caller.sink.errors.map((e) => e.error)).toEqual([CoreError.Canceled]);
  });
});

describe('Dealer: sessions leaving', () => {
  it('a callee leaving cancels its pending calls for their callers and drops its registrations', () => {
    const { realm, join } = setup();
    const callee = join();
    const a = join();
    const b = join();
    register(callee, 'p');
    register(callee, 'q', 'prefix');
    call(a, 1, 'p');
    call(b, 9, 'q.x');
    callee.session.leave();
    expect(a.sink.errors).toEqual([{ requestId: 1, error: CoreError.Canceled, payload: undefined }]);
    expect(b.sink.errors).toEqual([{ requestId: 9, error: CoreError.Canceled, payload: undefined }]);
    expect(a.session.callsOut.size).toBe(0);
    expect(b.session.callsOut.size).toBe(0);
    expect(userRegistrations(realm)).toBe(0);
    expect(callee.session.registrations.size).toBe(0);
    expect(a.session.call(2, ['p'], Payload.fromArgs([]), NO_TIMEOUT)).toEqual({ ok: false, error: CoreError.NoSuchProcedure });
  });

  it('a callee leaving stops the timers of its calls', () => {
    vi.useFakeTimers();
    const { join } = setup();
    const callee = join();
    const caller = join();
    register(callee, 'p');
    call(caller, 1, 'p', { timeoutMs: 1000, disclose: false });
    callee.session.leave();
    vi.advanceTimersByTime(2000);
    expect(vi.getTimerCount()).toBe(0);
    expect(caller.sink.errors.map((e) => e.error)).toEqual([CoreError.Canceled]);
  });

  it('a caller leaving interrupts an interruptible callee, whose late answer is then refused', () => {
    const { join } = setup();
    const callee = join({ interrupts: true });
    const caller = join();
    register(callee, 'p');
    const invocation = call(caller, 1, 'p');
    caller.session.leave();
    expect(callee.sink.interrupts).toEqual([{ invocation, mode: 'killnowait', reason: CoreError.Canceled }]);
    expect(callee.session.callsIn.size).toBe(0);
    expect(callee.session.yield(invocation.id, Payload.fromArgs([])).ok).toBe(false);
    expect(caller.sink.results).toEqual([]);
    expect(caller.sink.errors).toEqual([]);
  });

  it('a caller leaving does not interrupt a callee that cannot be interrupted', () => {
    const { join } = setup();
    const callee = join({ interrupts: false });
    const caller = join();
    register(callee, 'p');
    const invocation = call(caller, 1, 'p');
    caller.session.leave();
    expect(callee.sink.interrupts).toEqual([]);
    expect(callee.session.yield(invocation.id, Payload.fromArgs([])).ok).toBe(false);
  });

  it('a caller leaving during a kill-cancel settles the call', () => {
    const { join } = setup();
    const callee = join();
    const caller = join();
    register(callee, 'p');
    call(caller, 1, 'p');
    caller.session.cancel(1, 'kill');
    caller.session.leave();
    expect(callee.session.callsIn.size).toBe(0);
    expect(caller.session.callsOut.size).toBe(0);
  });

  it('leaving is idempotent', () => {
    const { realm, join } = setup();
    const callee = join();
    const caller = join();
    register(callee, 'p');
    call(caller, 1, 'p');
    callee.session.leave();
    callee.session.leave();
    expect(caller.sink.errors).toHaveLength(1);
    expect(userRegistrations(realm)).toBe(0);
  });

  it('a session calling itself and leaving settles both ends', () => {
    const { join } = setup();
    const both = join();
    register(both, 'p');
    const invocation = call(both, 1, 'p');
    both.session.leave();
    expect(both.session.callsIn.size).toBe(0);
    expect(both.session.callsOut.size).toBe(0);
    expect(both.session.yield(invocation.id, Payload.fromArgs([])).ok).toBe(false);
  });
});
