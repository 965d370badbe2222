/**
 * The session meta API of a realm (WAMP advanced profile, "Session Meta API"), for sessions of every protocol:
 * - events `wamp.session.on_join` (args: [session details]) and `wamp.session.on_leave`
 *   (args: [session id, authid, authrole]);
 * - the same joins and leaves for MQTT subscribers on `$SYS/realm/{realm}/sessions/joined` and `.../left`, as
 *   JSON;
 * - procedures `wamp.session.count`, `wamp.session.list`, `wamp.session.get` and `wamp.session.kill` (admin only).
 * Everything goes through the realm's broker and dealer, so it is subject to authorization like any other topic
 * or procedure.
 */
import { CoreError } from './errors.js';
import { Payload } from './payload.js';
import type { Realm } from './realm.js';
import type { Session } from './session.js';
import type { CancelMode, Invocation, Publication, SessionSink, SubscriptionRef } from './types.js';

export const META_PROCEDURES = ['wamp.session.count', 'wamp.session.list', 'wamp.session.get', 'wamp.session.kill'] as const;
const ON_JOIN = ['wamp', 'session', 'on_join'];
const ON_LEAVE = ['wamp', 'session', 'on_leave'];
/** The authrole that may kill sessions. */
export const ADMIN_ROLE = 'admin';

/** What the meta API says about a session: the WAMP SessionDetails, with the transport protocol. */
export function sessionDetails(session: Session): Record<string, unknown> {
  return {
    session: session.id,
    authid: session.authid,
    authrole: session.authrole,
    authmethod: session.principal.authmethod,
    authprovider: session.principal.authprovider,
    transport: { protocol: session.transport.protocol, type: session.transport.transport, peer: session.transport.remoteAddress },
  };
}

/** The system session's sink: it answers meta procedure invocations and receives nothing else. */
export class MetaApi implements SessionSink {
  constructor(private readonly realm: Realm) {}

  /** Registers the meta procedures on the realm's system session. */
  start(system: Session): void {
    for (const uri of META_PROCEDURES) system.register(uri.split('.'), 'exact', { invoke: 'single' });
  }

  // Joins and leaves happen once per connection: most realms have no meta subscriber, and building the details
  // and their JSON for nobody was a visible share of connects/s. A publication nobody matches has no effect (it is
  // never retained), so skipping it changes nothing a client can see.
  joined(session: Session): void {
    const broker = this.realm.broker;
    const sysTopic = this.sysTopic('joined');
    const wamp = broker.hasSubscribers(ON_JOIN);
    const mqtt = broker.hasSubscribers(sysTopic);
    if (!wamp && !mqtt) return;
    const details = sessionDetails(session);
    if (wamp) this.publish(ON_JOIN, Payload.fromArgs([details]));
    if (mqtt) this.publish(sysTopic, Payload.fromBytes(Buffer.from(JSON.stringify(details))));
  }

  left(session: Session): void {
    const broker = this.realm.broker;
    if (broker.hasSubscribers(ON_LEAVE)) {
      this.publish(ON_LEAVE, Payload.fromArgs([session.id, session.authid, session.authrole]));
    }
    const sysTopic = this.sysTopic('left');
    if (broker.hasSubscribers(sysTopic)) {
      const details = { session: session.id, authid: session.authid, authrole: session.authrole };
      this.publish(sysTopic, Payload.fromBytes(Buffer.from(JSON.stringify(details))));
    }
  }

  private sysTopic(what: 'joined' | 'left'): string[] {
    return ['$SYS', 'realm', this.realm.name, 'sessions', what];
  }

  private publish(topic: string[], payload: Payload): void {
    this.realm.system.publish(topic, payload, { excludeMe: true, disclose: false, qos: 0 });
  }

  invocation(invocation: Invocation): void {
    const system = this.realm.system;
    const procedure = invocation.procedure.join('.');
    const args = invocation.payload.args ?? [];
    const reply = (value: unknown) => system.yield(invocation.id, Payload.fromArgs([value]));
    const fail = (error: string, message: string) => system.fail(invocation.id, error, Payload.fromArgs([message]));
    switch (procedure) {
      case 'wamp.session.count':
        reply(this.filtered(args[0]).length);
        return;
      case 'wamp.session.list':
        reply(this.filtered(args[0]).map((session) => session.id));
        return;
      case 'wamp.session.get': {
        const target = this.realm.sessions.get(Number(args[0]));
        if (target === undefined) fail(CoreError.NoSuchSession, 'no session with that id in this realm');
        else reply(sessionDetails(target));
        return;
      }
      case 'wamp.session.kill': {
        if (invocation.caller.authrole !== ADMIN_ROLE) {
          fail(CoreError.NotAuthorized, 'only the admin role may kill sessions');
          return;
        }
        const target = this.realm.sessions.get(Number(args[0]));
        // A session cannot kill itself through the meta API; it can just leave.
        if (target === undefined || target === invocation.caller) {
          fail(CoreError.NoSuchSession, 'no other session with that id in this realm');
          return;
        }
        const kwargs = invocation.payload.kwargs ?? {};
        const reason = typeof kwargs.reason === 'string' ? kwargs.reason : 'wamp.close.killed';
        const message = typeof kwargs.message === 'string' ? kwargs.message : 'killed by an administrator';
        target.sink.close(reason, message);
        system.yield(invocation.id, Payload.fromArgs());
        return;
      }
      default:
        fail(CoreError.NoSuchProcedure, `no meta procedure ${procedure}`);
    }
  }

  /** Sessions of the realm, optionally only those whose authrole is in the list. */
  private filtered(authroles: unknown): Session[] {
    const sessions = [...this.realm.sessions.values()];
    if (!Array.isArray(authroles)) return sessions;
    const wanted = new Set(authroles.map(String));
    return sessions.filter((session) => wanted.has(session.authrole));
  }

  // The system session subscribes to nothing and calls nothing.
  event(_publication: Publication, _subscription: SubscriptionRef): void {}
  interrupt(_invocation: Invocation, _mode: CancelMode): void {}
  result(): void {}
  callError(): void {}
  close(): void {}
}
