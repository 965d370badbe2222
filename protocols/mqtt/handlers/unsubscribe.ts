/** UNSUBSCRIBE (MQTT 5.0 section 3.10): one UNSUBACK, with a reason code per filter in 5.0 [MQTT-3.11.3-1]. */
import type { IUnsubscribePacket } from 'mqtt-packet';
import type { MqttConnection } from '../connection.js';
import { Reason } from '../reason-codes.js';

export function handleUnsubscribe(connection: MqttConnection, packet: IUnsubscribePacket): void {
  const session = connection.session!;
  if (packet.unsubscriptions.length === 0) {
    connection.protocolError(Reason.ProtocolError, 'UNSUBSCRIBE without a topic filter [MQTT-3.10.3-2]');
    return;
  }
  const reasons: number[] = [];
  for (const filter of packet.unsubscriptions) {
    const subscription = session.subscriptions.get(filter);
    if (subscription === undefined) {
      reasons.push(Reason.NoSubscriptionExisted);
      continue;
    }
    session.subscriptions.delete(filter);
    const { parsed } = subscription;
    if (subscription.rpc) {
      session.core.unregister(subscription.coreId);
      session.rpcQos.delete(subscription.coreId);
    } else if (parsed.shareGroup !== undefined) {
      session.core.unsubscribeShared(parsed.shareGroup, parsed.pattern, parsed.policy);
    } else {
      session.core.unsubscribe(subscription.coreId);
    }
    reasons.push(Reason.Success);
  }
  session.saveRecord();
  connection.sendDurable(
    (connection.version === 5
      ? { cmd: 'unsuback', messageId: packet.messageId, granted: reasons }
      : { cmd: 'unsuback', messageId: packet.messageId }) as never,
  );
}

