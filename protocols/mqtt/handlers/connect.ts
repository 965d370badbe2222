/**
 * CONNECT (MQTT 5.0 section 3.1, 3.1.1 section 3.1), as ordered steps:
 * 1. protocol name and level go together [MQTT-3.1.2-1];
 * 2. the MQTT 5 properties are within their ranges;
 * 3. the client identifier, assigned when empty [MQTT-3.1.3-6] except for a 3.1.1 persistent session
 *    [MQTT-3.1.3-8];
 * 4. authentication: MQTT 5 Authentication Method `JWT`, else the password as a JWT, else a token from the
 *    WebSocket upgrade, else anonymous when allowed;
 * 5. the realm (the token's, else the default);
 * 6. take over a connected session [MQTT-3.1.4-3], resume or discard a stored one [MQTT-3.1.2-4, -5];
 * 7. CONNACK, then what is in flight and queued, then the packets the client sent meanwhile.
 */
import { randomBytes } from 'node:crypto';
import type { IConnectPacket } from 'mqtt-packet';
import type { AuthOutcome, Principal, QoS } from '../../../src/port.js';
import type { MqttConnection } from '../connection.js';
import { MqttHub } from '../hub.js';
import { fromPacket, type PublishProperties } from '../properties.js';
import { connackCode, Reason } from '../reason-codes.js';
import type { Will } from '../session.js';
import { isValidTopicName } from '../topics.js';

interface Refusal {
  reason: number;
  message: string;
}

export function handleConnect(connection: MqttConnection, packet: IConnectPacket): void {
  const version = packet.protocolVersion ?? 4;
  // Step 1: mqtt-packet reads a level with the top bit set as "bridge mode" and subtracts 128; this router has
  // no bridges, so such a level is just unsupported.
  if ((packet as { bridgeMode?: boolean }).bridgeMode === true) {
    connection.refuseProtocolLevel(version + 128);
    return;
  }
  // MQTT 3.1 is "MQIsdp" level 3; 3.1.1 and 5.0 are "MQTT" levels 4 and 5.
  if ((version === 3) !== (packet.protocolId === 'MQIsdp')) {
    refuse(connection, version, { reason: Reason.UnsupportedProtocolVersion, message: `protocol name ${packet.protocolId} does not go with level ${version}` });
    return;
  }
  // Step 2: flags and properties.
  if (packet.will !== undefined && (packet.will.qos as number) > 2) {
    connection.protocolError(Reason.MalformedPacket, 'Will QoS 3 [MQTT-3.1.2-12]');
    return;
  }
  if (version < 5 && packet.password !== undefined && packet.username === undefined) {
    connection.protocolError(Reason.ProtocolError, 'a password without a user name [MQTT-3.1.2-22]');
    return;
  }
  const properties = packet.properties ?? {};
  if (properties.receiveMaximum === 0 || properties.maximumPacketSize === 0) {
    connection.protocolError(Reason.ProtocolError, 'Receive Maximum and Maximum Packet Size must not be 0');
    return;
  }
  // Known before the first reply, so that even a refusal respects it.
  connection.clientMaxPacketSize = properties.maximumPacketSize ?? Number.POSITIVE_INFINITY;
  const options = connection.hub.options;
  if (packet.will !== undefined && !isValidTopicName(packet.will.topic, options)) {
    // 5.0 has a reason code for it; 3.1.1 has no return code that applies, so the connection is just closed.
    if (version === 5) refuse(connection, version, { reason: Reason.TopicNameInvalid, message: 'invalid will topic' });
    else connection.protocolError(Reason.TopicNameInvalid, 'invalid will topic');
    return;
  }
  // Step 3: the client identifier.
  let clientId = packet.clientId;
  let assigned = false;
  if (clientId === '') {
    if (version < 5 && !packet.clean) {
      refuse(connection, version, { reason: Reason.ClientIdentifierNotValid, message: 'a persistent session needs a client identifier' });
      return;
    }
    clientId = `sb-${randomBytes(9).toString('base64url')}`;
    assigned = true;
  }
  connection.state = 'authenticating';
  // Step 4: authentication.
  authenticate(connection, packet, version, clientId).then(
    (outcome) => {
      if (connection.state !== 'authenticating') return;
      if ('reason' in outcome) refuse(connection, version, outcome);
      else admit(connection, packet, version, clientId, assigned, outcome);
    },
    (error: unknown) => {
      connection.log.error({ err: error }, 'authentication crashed');
      if (connection.state === 'authenticating') {
        refuse(connection, version, { reason: Reason.ServerUnavailable, message: 'authentication could not be completed' });
      }
    },
  );
}

async function authenticate(connection: MqttConnection, packet: IConnectPacket, version: number, clientId: string): Promise<Principal | Refusal> {
  const { auth } = connection.hub.context;
  const properties = packet.properties ?? {};
  let outcome: AuthOutcome | undefined;
  if (version === 5 && properties.authenticationMethod !== undefined) {
    if (properties.authenticationMethod !== 'JWT') {
      return { reason: Reason.BadAuthenticationMethod, message: `authentication method '${properties.authenticationMethod}' is not supported; use JWT` };
    }
    const data = properties.authenticationData;
    if (data === undefined || data.length === 0) return { reason: Reason.BadUserNameOrPassword, message: 'the JWT authentication method needs the token as Authentication Data' };
    outcome = await auth.verifyToken(data.toString('utf8'), 'jwt');
  } else if (packet.password !== undefined && packet.password.length > 0 && auth.tokensEnabled) {
    outcome = await auth.verifyToken(packet.password.toString('utf8'), 'jwt');
  } else if (connection.network.upgradeAuth !== undefined) {
    outcome = await connection.network.upgradeAuth;
  } else if (connection.network.certificateName !== undefined) {
    // TLS verified the client certificate against tls.clientCa: it is the credential.
    return auth.certificate(connection.network.certificateName);
  } else if (auth.anonymousAllowed) {
    return auth.anonymous(packet.username !== undefined && packet.username !== '' ? packet.username : clientId);
  } else {
    return { reason: Reason.NotAuthorized, message: 'credentials are required: send a JWT as the password' };
  }
  if (outcome.kind === 'deny') return { reason: Reason.BadUserNameOrPassword, message: outcome.message };
  if (outcome.kind === 'failed') return { reason: Reason.ServerUnavailable, message: outcome.message };
  const principal = outcome.principal;
  if (connection.hub.options.requireUsernameMatch && packet.username !== principal.authid) {
    return { reason: Reason.NotAuthorized, message: 'the username must equal the token subject' };
  }
  return principal;
}

function admit(connection: MqttConnection, packet: IConnectPacket, version: number, clientId: string, assigned: boolean, principal: Principal): void {
  const { hub } = connection;
  const { options } = hub;
  // Step 5: the realm.
  const realmName = principal.realm ?? hub.context.defaultRealm;
  const realm = hub.context.realm(realmName);
  if (realm === undefined) {
    refuse(connection, version, { reason: Reason.NotAuthorized, message: `no realm '${realmName}' on this router` });
    return;
  }
  const properties = packet.properties ?? {};
  const cleanStart = packet.clean !== false;
  // 3.1.1 persistent sessions have no expiry of their own; the configured cap (if any) applies.
  const askedExpiry = version === 5 ? properties.sessionExpiryInterval ?? 0 : cleanStart ? 0 : Number.POSITIVE_INFINITY;
  const expirySec = options.maxSessionExpiry > 0 ? Math.min(askedExpiry, options.maxSessionExpiry) : askedExpiry;

  // Step 6: takeover, resume or discard.
  const key = MqttHub.sessionKey(realmName, clientId);
  const existing = hub.sessions.get(key);
  if (existing !== undefined && existing.core.authid !== principal.authid) {
    refuse(connection, version, { reason: Reason.NotAuthorized, message: 'the client identifier belongs to another user' });
    return;
  }
  if (existing?.attachment !== undefined) {
    // [MQTT-3.1.4-3]: the older connection goes, with 0x8E in MQTT 5.
    const older = existing.attachment as MqttConnection;
    older.log.info({ clientId }, 'session taken over by a new connection');
    older.disconnect(Reason.SessionTakenOver, 'session taken over');
    existing.attachment = undefined;
    older.session = undefined;
    existing.detach(true);
  }
  let session = hub.sessions.get(key);
  let sessionPresent = false;
  if (session !== undefined && cleanStart) session.end();
  else if (session !== undefined) {
    sessionPresent = true;
    // The resumed session runs under this login's credentials: its role, permissions and token expiry.
    session.core.reauthenticated(principal, realm.options.tokenExpiryGraceMs ?? 0);
  }
  if (session === undefined || session.isEnded) {
    session = hub.createSession(key, clientId, realm, principal, {
      connectionId: connection.network.id,
      protocol: 'mqtt',
      transport: connection.network.transport,
      remoteAddress: connection.network.remoteAddress,
    });
    sessionPresent = false;
  }
  session.expirySec = expirySec;
  session.version = version === 5 ? 5 : 4;
  session.will = willOf(packet, version);
  connection.session = session;
  connection.connectExpiryWasZero = askedExpiry === 0;
  connection.clientReceiveMaximum = properties.receiveMaximum ?? 65535;
  connection.authMethod = properties.authenticationMethod;
  connection.clientTopicAliasMaximum = properties.topicAliasMaximum ?? 0;

  // Step 7: CONNACK.
  let keepalive = packet.keepalive ?? 0;
  const capped = options.maxKeepalive > 0 && (keepalive === 0 || keepalive > options.maxKeepalive);
  // A 3.1.1 client cannot be told another keepalive; it is served with its own.
  if (capped && version === 5) keepalive = options.maxKeepalive;
  const connackProperties: Record<string, unknown> = {};
  if (version === 5) {
    if (assigned) connackProperties.assignedClientIdentifier = clientId;
    // The method a client authenticated with is echoed in CONNACK [MQTT-4.12.0-5].
    if (properties.authenticationMethod !== undefined) connackProperties.authenticationMethod = properties.authenticationMethod;
    if (capped) connackProperties.serverKeepAlive = keepalive;
    if (expirySec !== askedExpiry) connackProperties.sessionExpiryInterval = expirySec;
    connackProperties.receiveMaximum = options.maxInflight;
    connackProperties.maximumPacketSize = options.maxPacketSize;
    connackProperties.topicAliasMaximum = options.topicAliasMaximum;
  }
  connection.send({
    cmd: 'connack',
    sessionPresent,
    ...(version === 5 ? { reasonCode: Reason.Success, properties: connackProperties } : { returnCode: 0 }),
  } as never);
  connection.network.annotate({ realm: realmName, authid: principal.authid, clientId });
  // Asking for `connection.log` makes the connection's child logger, so only when the line will be written.
  if (hub.context.log.isLevelEnabled('info')) connection.log.info(
    { clientId, session: session.core.id, realm: realmName, authid: principal.authid, authmethod: principal.authmethod, version, sessionPresent, keepalive },
    'mqtt session connected',
  );
  hub.connections.add(connection);
  connection.connected(session, keepalive);
}

function willOf(packet: IConnectPacket, version: number): Will | undefined {
  const will = packet.will;
  if (will === undefined) return undefined;
  const { willDelayInterval, messageExpiryInterval, ...rest } = (will.properties ?? {}) as PublishProperties & { willDelayInterval?: number };
  const v5 = version === 5;
  return {
    topic: will.topic,
    payload: Buffer.isBuffer(will.payload) ? will.payload : Buffer.from(will.payload),
    qos: will.qos as QoS,
    retain: will.retain === true,
    properties: v5 ? fromPacket(rest, Date.now()) : undefined,
    expirySec: v5 ? messageExpiryInterval : undefined,
    delaySec: v5 ? willDelayInterval ?? 0 : 0,
  };
}

/** CONNACK with a refusal, then the close [MQTT-3.2.2-7]. */
function refuse(connection: MqttConnection, version: number, refusal: Refusal): void {
  connection.log.info({ reason: refusal.reason, message: refusal.message }, 'mqtt connect refused');
  const authReason = AUTH_FAILURES[refusal.reason];
  if (authReason !== undefined) connection.hub.context.metrics.authFailed('mqtt', authReason);
  connection.send({
    cmd: 'connack',
    sessionPresent: false,
    ...(version === 5
      ? { reasonCode: connackCode(5, refusal.reason), properties: { reasonString: refusal.message } }
      : { returnCode: connackCode(version, refusal.reason) }),
  } as never);
  connection.close(refusal.message);
}

/** Refusals that are authentication failures, by the word the auth failure metric uses. */
const AUTH_FAILURES: Readonly<Record<number, string>> = {
  [Reason.BadUserNameOrPassword]: 'denied',
  [Reason.NotAuthorized]: 'not_authorized',
  [Reason.ServerUnavailable]: 'failed',
  [Reason.BadAuthenticationMethod]: 'no_method',
};
