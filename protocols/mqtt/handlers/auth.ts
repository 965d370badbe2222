/**
 * AUTH from the client (MQTT 5.0 section 3.15, 4.12.1): re-authentication with a fresh JWT. Only a client that
 * authenticated with Authentication Method `JWT` in CONNECT may re-authenticate, with the same method
 * [MQTT-4.12.1-1]; the token must be for the same authid. Success extends the session (its token expiry watch
 * starts over) and is answered with AUTH 0x00; failure ends the connection with DISCONNECT.
 */
import type { IAuthPacket } from 'mqtt-packet';
import type { MqttConnection } from '../connection.js';
import { Reason } from '../reason-codes.js';

const REAUTHENTICATE = 0x19;
const JWT = 'JWT';

export function handleAuth(connection: MqttConnection, packet: IAuthPacket): void {
  const session = connection.session!;
  const properties = packet.properties ?? {};
  if (connection.version !== 5 || connection.authMethod !== JWT) {
    connection.protocolError(Reason.ProtocolError, 'AUTH needs Authentication Method JWT in CONNECT [MQTT-4.12.1-1]');
    return;
  }
  if (packet.reasonCode !== REAUTHENTICATE || properties.authenticationMethod !== JWT) {
    connection.protocolError(Reason.ProtocolError, 'AUTH must re-authenticate (0x19) with method JWT');
    return;
  }
  const token = properties.authenticationData?.toString('utf8') ?? '';
  const realm = session.core.realm;
  connection.hub.context.auth.verifyToken(token, 'jwt', realm.name).then(
    (outcome) => {
      if (connection.state !== 'connected' || connection.session !== session) return;
      if (outcome.kind !== 'accept') {
        connection.log.info({ reason: outcome.message }, 're-authentication refused');
        connection.disconnect(outcome.kind === 'deny' ? Reason.NotAuthorized : Reason.ServerUnavailable, outcome.message);
        return;
      }
      if (outcome.principal.authid !== session.core.authid) {
        connection.disconnect(Reason.NotAuthorized, 're-authentication must keep the same identity');
        return;
      }
      session.core.reauthenticated(outcome.principal, realm.options.tokenExpiryGraceMs ?? 0);
      connection.log.info({ expiresAt: outcome.principal.expiresAt }, 're-authenticated');
      connection.send({ cmd: 'auth', reasonCode: Reason.Success, properties: { authenticationMethod: JWT } } as never);
    },
    (error: unknown) => {
      connection.log.error({ err: error }, 're-authentication crashed');
      connection.disconnect(Reason.ServerUnavailable, 're-authentication could not be completed');
    },
  );
}
