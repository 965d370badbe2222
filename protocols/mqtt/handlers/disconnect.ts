/**
 * DISCONNECT from the client (MQTT 5.0 section 3.14). Only reason 0x00 (or a 3.1.1 DISCONNECT) discards the will
 * [MQTT-3.1.2-8, MQTT-3.14.4-3]; 0x04 and every error reason leave it to be sent. A 5.0 client may change its
 * Session Expiry Interval here, except from 0 (section 3.14.2.2.2).
 */
import type { IDisconnectPacket } from 'mqtt-packet';
import type { MqttConnection } from '../connection.js';
import { Reason } from '../reason-codes.js';

export function handleDisconnect(connection: MqttConnection, packet: IDisconnectPacket): void {
  const session = connection.session!;
  const expiry = packet.properties?.sessionExpiryInterval;
  if (connection.version === 5 && expiry !== undefined) {
    if (connection.connectExpiryWasZero && expiry !== 0) {
      connection.protocolError(Reason.ProtocolError, 'Session Expiry Interval was 0 at CONNECT and cannot change');
      return;
    }
    const cap = connection.hub.options.maxSessionExpiry;
    session.expirySec = cap > 0 ? Math.min(expiry, cap) : expiry;
  }
  connection.cleanDisconnect = (packet.reasonCode ?? Reason.Success) === Reason.Success;
  connection.log.debug({ reasonCode: packet.reasonCode ?? 0 }, 'client disconnect');
  connection.close('client disconnect');
}
