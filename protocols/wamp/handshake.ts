/**
 * Session opening (WAMP RFC draft, "Session Establishment" and "Authentication"), as ordered steps:
 * 1. check HELLO's realm URI and that the realm exists;
 * 2. pick the authentication: a token from the WebSocket upgrade wins; otherwise the first of the client's
 *    `authmethods` that the router offers (`tls` when wss verified a client certificate, `ticket` when JWT keys
 *    are configured, `anonymous` when allowed). A HELLO without authmethods offers `tls` and `anonymous`, so a
 *    client certificate logs in without further ado, as it does for MQTT;
 * 3. verify (ticket: CHALLENGE, then AUTHENTICATE carrying the JWT);
 * 4. join the realm and send WELCOME.
 */
import type { AuthOutcome, PeerFeatures, Principal } from '../../src/port.js';
import { Type } from './codes.js';
import { Uri } from './errors.js';
import { ClientFeature, clientFeatures } from './features.js';
import type { ClientMessage } from './messages.js';
import type { WampPeer } from './peer.js';
import { isValidUri } from './uri.js';

type Hello = Extract<ClientMessage, { type: typeof Type.HELLO }>;
type Authenticate = Extract<ClientMessage, { type: typeof Type.AUTHENTICATE }>;

export function handleHello(peer: WampPeer, hello: Hello): void {
  // Step 1: the realm.
  if (!isValidUri(hello.realm, 'loose')) {
    peer.protocolViolation('HELLO.Realm must be a valid URI');
    return;
  }
  const realmName = hello.realm;
  if (hello.details.roles !== undefined && !isPlainObject(hello.details.roles)) {
    peer.protocolViolation('HELLO.Details.roles must be a dict');
    return;
  }
  if (peer.context.realm(realmName) === undefined) {
    peer.abort(Uri.noSuchRealm, `no realm '${realmName}' on this router`);
    return;
  }
  peer.pendingRealm = realmName;
  peer.clientFeatures = clientFeatures(hello.details);

  // Step 2: the authentication method.
  const upgradeAuth = peer.connection.upgradeAuth;
  if (upgradeAuth !== undefined) {
    settle(peer, upgradeAuth.then((outcome) => withRealmCheck(peer, outcome, realmName)));
    return;
  }
  const offered = Array.isArray(hello.details.authmethods) ? hello.details.authmethods : ['tls', 'anonymous'];
  const { auth } = peer.context;
  const certificateName = peer.connection.certificateName;
  for (const method of offered) {
    if (method === 'tls' && certificateName !== undefined) {
      welcome(peer, auth.certificate(certificateName));
      return;
    }
    if (method === 'ticket' && auth.tokensEnabled) {
      peer.state = 'challenged';
      peer.send([Type.CHALLENGE, 'ticket', {}]);
      return;
    }
    if (method === 'anonymous' && auth.anonymousAllowed) {
      const authid = typeof hello.details.authid === 'string' && hello.details.authid !== '' ? hello.details.authid : undefined;
      welcome(peer, auth.anonymous(authid));
      return;
    }
  }
  peer.context.metrics.authFailed(peer.connection.protocol, 'no_method');
  peer.abort(Uri.noMatchingAuthMethod, `none of the offered authmethods (${offered.join(', ')}) is enabled on this router`);
}

/** Step 3 for ticket: the signature is the JWT. */
export function handleAuthenticate(peer: WampPeer, message: Authenticate): void {
  settle(peer, peer.context.auth.verifyToken(message.signature, 'ticket', peer.pendingRealm));
}

function withRealmCheck(peer: WampPeer, outcome: AuthOutcome, realm: string): AuthOutcome {
  return outcome.kind === 'accept' ? peer.context.auth.checkRealm(outcome.principal, realm) : outcome;
}

/** Waits for a verification, then welcomes or aborts, unless the connection went away meanwhile. */
function settle(peer: WampPeer, verification: Promise<AuthOutcome>): void {
  peer.state = 'pending';
  verification.then(
    (outcome) => {
      if (peer.state !== 'pending') return;
      if (outcome.kind === 'accept') {
        welcome(peer, outcome.principal);
        return;
      }
      peer.context.metrics.authFailed(peer.connection.protocol, outcome.kind === 'deny' ? 'denied' : 'failed');
      if (outcome.kind === 'deny') peer.abort(Uri.authenticationDenied, outcome.message);
      else peer.abort(Uri.authenticationFailed, outcome.message);
    },
    (error: unknown) => {
      peer.log.error({ err: error }, 'authentication crashed');
      if (peer.state === 'pending') peer.abort(Uri.authenticationFailed, 'authentication could not be completed');
    },
  );
}

/** Step 4: join the realm and say WELCOME. */
function welcome(peer: WampPeer, principal: Principal): void {
  const realm = peer.context.realm(peer.pendingRealm ?? '');
  if (realm === undefined) {
    peer.abort(Uri.noSuchRealm, `no realm '${peer.pendingRealm}' on this router`);
    return;
  }
  // HELLO's own copy of the realm name is not kept for the session's life: the realm holds its name.
  peer.pendingRealm = undefined;
  const features = (peer.clientFeatures & ClientFeature.interrupts) !== 0 ? INTERRUPTS : NO_INTERRUPTS;
  peer.session = realm.join(principal, peer, peer, features);
  peer.established();
  peer.connection.annotate({ realm: realm.name, authid: principal.authid, session: peer.session.id });
  // Asked of the module's logger: reading the connection's would make its logger objects for nothing.
  if (peer.context.log.isLevelEnabled('info')) {
    peer.log.info(
      { session: peer.session.id, realm: realm.name, authid: principal.authid, authrole: principal.authrole, authmethod: principal.authmethod },
      'session joined',
    );
  }
  peer.sendWelcome(peer.session.id, {
    realm: realm.name,
    authid: principal.authid,
    authrole: principal.authrole,
    authmethod: principal.authmethod,
    authprovider: principal.authprovider,
  });
}

/** Shared by every session: the core only reads them. */
const INTERRUPTS: PeerFeatures = Object.freeze({ interrupts: true });
const NO_INTERRUPTS: PeerFeatures = Object.freeze({ interrupts: false });

function isPlainObject(value: unknown): boolean {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
