import { noMetrics, type Metrics } from '../observability/metrics.js';
import { CoreError, fail, ok, type CoreErrorUri, type Result } from './errors.js';
import { Deadlines } from './deadlines.js';
import { isReservedForRouter } from './reserved.js';
import type { MatchIndex, Policy } from './match/types.js';
import type { Payload } from './payload.js';
import type { Session } from './session.js';
import type {
  Authorizer,
  CallOptions,
  CancelMode,
  Invocation,
  RegisterOptions,
  Registration,
} from './types.js';

/**
 * RPC routing. A call goes to the best-matching registration (exact, then longest prefix, then wildcard);
 * a shared registration picks one of its callees by its invoke policy. Every pending call is referenced
 * from both its caller and its callee, so either one leaving settles exactly its own calls.
 */
export class Dealer {
  /** Next callee position for `roundrobin` registrations, by registration id. */
  private readonly cursor = new Map<number, number>();
  /** Calls waiting for their timeout (the router's default, or the caller's). */
  private readonly deadlines = new Deadlines<Invocation>((invocation) => this.expire(invocation));

  constructor(
    private readonly index: MatchIndex<Session, RegisterOptions>,
    private readonly authorizer: Authorizer,
    /** Timeout for calls that set none; 0: such calls wait until answered or the callee leaves. */
    private readonly defaultTimeoutMs = 0,
    private readonly metrics: Metrics = noMetrics,
  ) {}

  get registrationCount(): number {
    return this.index.size;
  }

  register(session: Session, pattern: readonly string[], policy: Policy, options: RegisterOptions): Result<Registration> {
    if (isReservedForRouter(pattern) && session !== session.realm.system) {
      return fail(CoreError.NotAuthorized, 'this namespace is reserved for the router');
    }
    if (!this.authorizer.authorize(session, 'register', pattern, policy)) return fail(CoreError.NotAuthorized);
    const existing = this.index.lookup(pattern, policy);
    if (existing !== undefined) {
      const current = firstValue(existing.observers);
      // WAMP shared registration: all callees must agree on a non-single invoke policy.
      if (options.invoke === 'single' || current === undefined || current.invoke !== options.invoke) {
        return fail(CoreError.ProcedureAlreadyExists);
      }
      if (existing.observers.has(session)) return fail(CoreError.ProcedureAlreadyExists);
    }
    const { observation } = this.index.add(pattern, policy, session, options);
    session.registrationsForWrite().set(observation.id, observation);
    return ok(observation);
  }

  unregister(session: Session, registrationId: number): Result<Registration> {
    const registration = session.registrations.get(registrationId);
    if (registration === undefined) return fail(CoreError.NoSuchRegistration);
    this.removeRegistration(session, registration);
    return ok(registration);
  }

  private removeRegistration(session: Session, registration: Registration): void {
    session.registrationsForWrite().delete(registration.id);
    const { last } = this.index.remove(registration, session);
    if (last) this.cursor.delete(registration.id);
  }

  call(caller: Session, requestId: number, procedure: readonly string[], payload: Payload, options: CallOptions): Result<Invocation> {
    if (caller.callsOut.has(requestId)) return fail(CoreError.InvalidArgument, 'request id already in use');
    if (!this.authorizer.authorize(caller, 'call', procedure, 'exact')) return this.refused(CoreError.NotAuthorized);
    const registration = this.index.matchBest(procedure);
    const callee = registration === undefined ? undefined : this.pickCallee(registration);
    if (registration === undefined || callee === undefined) return this.refused(CoreError.NoSuchProcedure);
    const invocation: Invocation = {
      id: callee.nextInvocationId(),
      registration,
      procedure,
      payload,
      caller,
      callerRequestId: requestId,
      callee,
      disclose: options.disclose,
      timeoutMs: options.timeoutMs,
      canceling: false,
      startedAt: Date.now(),
      dueAt: 0,
      dueList: undefined,
      duePrevious: undefined,
      dueNext: undefined,
    };
    caller.callsOutForWrite().set(requestId, invocation);
    callee.callsInForWrite().set(invocation.id, invocation);
    const timeoutMs = options.timeoutMs > 0 ? options.timeoutMs : this.defaultTimeoutMs;
    if (timeoutMs > 0) this.deadlines.add(invocation, timeoutMs);
    callee.sink.invocation(invocation);
    return ok(invocation);
  }

  /**
   * The callee for a call. A shared registration prefers callees that are available (an MQTT device that is
   * connected): only when none is does a call go to one that is not.
   */
  private pickCallee(registration: Registration): Session | undefined {
    // One callee (the common case) is the answer whatever the policy: no arrays made per call.
    if (registration.observers.size === 1) return firstKey(registration.observers);
    const all = [...registration.observers.keys()];
    if (all.length === 0) return undefined;
    const available = all.filter((session) => session.available);
    const callees = available.length > 0 ? available : all;
    const count = callees.length;
    const policy = firstValue(registration.observers)?.invoke ?? 'single';
    let position = 0;
    switch (policy) {
      case 'single':
      case 'first':
        position = 0;
        break;
      case 'last':
        position = count - 1;
        break;
      case 'random':
        position = Math.floor(Math.random() * count);
        break;
      case 'roundrobin': {
        const next = this.cursor.get(registration.id) ?? 0;
        position = next % count;
        this.cursor.set(registration.id, position + 1);
        break;
      }
    }
    return callees[position];
  }

  /** A call refused before routing, counted by its outcome. */
  private refused(error: CoreErrorUri): Result<never> {
    this.metrics.callEnded(error.slice('wamp.error.'.length), 0);
    return fail(error);
  }

  /** Settles a call: detaches it from both sides, stops its timer and counts its outcome. */
  private settle(invocation: Invocation, outcome: string): void {
    this.metrics.callEnded(outcome, Date.now() - invocation.startedAt);
    this.deadlines.remove(invocation);
    invocation.caller.callsOutForWrite().delete(invocation.callerRequestId);
    invocation.callee.callsInForWrite().delete(invocation.id);
  }

  yield(callee: Session, invocationId: number, payload: Payload): Result<Invocation> {
    const invocation = callee.callsIn.get(invocationId);
    if (invocation === undefined) return fail(CoreError.InvalidArgument, 'no such invocation');
    this.settle(invocation, 'result');
    invocation.caller.sink.result(invocation.callerRequestId, payload);
    return ok(invocation);
  }

  fail(callee: Session, invocationId: number, error: string, payload: Payload | undefined): Result<Invocation> {
    const invocation = callee.callsIn.get(invocationId);
    if (invocation === undefined) return fail(CoreError.InvalidArgument, 'no such invocation');
    this.settle(invocation, error === CoreError.Canceled ? 'canceled' : 'error');
    invocation.caller.sink.callError(invocation.callerRequestId, error, payload);
    return ok(invocation);
  }

  /**
   * WAMP call canceling. `skip` answers the caller at once and lets the callee finish unheard; `kill` interrupts
   * the callee and passes on whatever the callee answers (its RESULT if it finished first, usually its ERROR);
   * `killnowait` interrupts and answers at once. A callee that cannot be interrupted turns `kill` into `skip`.
   */
  cancel(caller: Session, requestId: number, mode: CancelMode): Result<Invocation> {
    const invocation = caller.callsOut.get(requestId);
    if (invocation === undefined) return fail(CoreError.InvalidArgument, 'no such call');
    if (invocation.canceling) return ok(invocation);
    const interruptible = invocation.callee.features.interrupts;
    if (mode === 'kill' && interruptible) {
      invocation.canceling = true;
      invocation.callee.sink.interrupt(invocation, 'kill', CoreError.Canceled);
      return ok(invocation);
    }
    this.settle(invocation, 'canceled');
    if (mode !== 'skip' && interruptible) invocation.callee.sink.interrupt(invocation, 'killnowait', CoreError.Canceled);
    caller.sink.callError(requestId, CoreError.Canceled, undefined);
    return ok(invocation);
  }

  private expire(invocation: Invocation): void {
    if (!invocation.caller.callsOut.has(invocation.callerRequestId)) return;
    this.settle(invocation, 'timeout');
    if (invocation.callee.features.interrupts) {
      invocation.callee.sink.interrupt(invocation, 'killnowait', CoreError.Timeout);
    }
    invocation.caller.sink.callError(invocation.callerRequestId, CoreError.Timeout, undefined);
  }

  /** A callee that goes away: its registrations go and its pending invocations fail with `canceled`. */
  withdrawCallee(session: Session): void {
    if (session.registrations.size > 0) {
      for (const registration of [...session.registrations.values()]) this.removeRegistration(session, registration);
    }
    if (session.callsIn.size === 0) return;
    for (const invocation of [...session.callsIn.values()]) {
      this.settle(invocation, 'canceled');
      invocation.caller.sink.callError(invocation.callerRequestId, CoreError.Canceled, undefined);
    }
  }

  /** A leaving session: it withdraws as a callee, and its calls as caller are interrupted. */
  dropSession(session: Session): void {
    this.withdrawCallee(session);
    if (session.callsOut.size === 0) return;
    for (const invocation of [...session.callsOut.values()]) {
      this.settle(invocation, 'canceled');
      if (invocation.callee.features.interrupts) {
        invocation.callee.sink.interrupt(invocation, 'killnowait', CoreError.Canceled);
      }
    }
  }
}

function firstValue<K, V>(map: Map<K, V>): V | undefined {
  for (const value of map.values()) return value;
  return undefined;
}

function firstKey<K, V>(map: Map<K, V>): K | undefined {
  for (const key of map.keys()) return key;
  return undefined;
}
