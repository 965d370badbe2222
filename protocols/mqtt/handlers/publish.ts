/**
 * PUBLISH from the client and the acknowledgement packets both ways (MQTT 5.0 sections 3.3 to 3.7, 4.3).
 * QoS 2 from a client is routed once, when its PUBLISH first arrives; a resent PUBLISH with the same packet id
 * before PUBREL only gets PUBREC again [MQTT-4.3.3-10], which is what makes it exactly once.
 */
import type { IPubackPacket, IPubcompPacket, IPublishPacket, IPubrecPacket, IPubrelPacket } from 'mqtt-packet';
import { Payload, type QoS } from '../../../src/port.js';
import type { MqttConnection } from '../connection.js';
import { fromPacket, type PublishProperties } from '../properties.js';
import { Reason, reasonForCoreError } from '../reason-codes.js';
import { isReplyTopic, procedureOf, RPC_PREFIX } from '../rpc.js';
import { isValidTopicName } from '../topics.js';
import { handleCall, handleReply } from './rpc-publish.js';

export function handlePublish(connection: MqttConnection, packet: IPublishPacket): void {
  const session = connection.session!;
  const { options } = connection.hub;
  const v5 = connection.version === 5;
  const properties = (packet.properties ?? {}) as PublishProperties;
  const qos = packet.qos as QoS;
  const packetId = packet.messageId ?? 0;

  // Topic aliases, client to router [MQTT-3.3.2-7..10].
  let topic = packet.topic;
  if (v5 && properties.topicAlias !== undefined) {
    const alias = properties.topicAlias;
    if (alias === 0 || alias > options.topicAliasMaximum) {
      connection.protocolError(Reason.TopicAliasInvalid, `topic alias ${alias} is outside 1..${options.topicAliasMaximum}`);
      return;
    }
    if (topic === '') {
      const known = connection.inboundAliases.get(alias);
      if (known === undefined) {
        connection.protocolError(Reason.ProtocolError, `topic alias ${alias} was never set`);
        return;
      }
      topic = known;
    } else {
      connection.inboundAliases.set(alias, topic);
    }
  }
  if (topic === '') {
    // An empty topic name is only allowed with a topic alias (MQTT 5.0 section 3.3.2.1).
    connection.protocolError(Reason.ProtocolError, 'empty topic name without a topic alias');
    return;
  }
  if (!isValidTopicName(topic, options)) {
    connection.protocolError(Reason.TopicNameInvalid, `invalid topic name '${printable(topic)}'`);
    return;
  }

  if (qos === 2) {
    if (session.inboundQos2.has(packetId)) {
      connection.send(ack('pubrec', packetId, Reason.Success, v5));
      return;
    }
    // Receive Maximum, enforced: QoS 2 messages waiting for PUBREL count against it [MQTT-3.3.4-9]. 3.1.1 has no
    // such limit; its 16-bit packet ids bound the set.
    if (v5 && session.inboundQos2.size >= options.maxInflight) {
      connection.protocolError(Reason.ReceiveMaximumExceeded, `more than ${options.maxInflight} QoS 2 messages in flight`);
      return;
    }
  }

  // Calls and replies take the RPC path (exactly once too, through the QoS 2 handshake), never routed or retained.
  const levels = connection.levels(topic);
  const procedure = levels[0] === RPC_PREFIX ? procedureOf(levels) : undefined;
  if (levels[0] === RPC_PREFIX && procedure === undefined) {
    connection.log.info({ topic }, 'publish to the reserved topic $rpc without a procedure, dropped');
    acknowledge(connection, qos, packetId, Reason.Success, v5);
    return;
  }
  if (procedure !== undefined || isReplyTopic(topic)) {
    if (procedure !== undefined) handleCall(connection, packet, procedure);
    else handleReply(connection, packet, topic);
    acknowledge(connection, qos, packetId, Reason.Success, v5);
    return;
  }

  const result = session.core.publish(levels, Payload.fromBytes(packet.payload as Buffer), {
    excludeMe: false,
    disclose: false,
    qos,
    retain: packet.retain,
    properties: v5 ? fromPacket(properties, Date.now()) : undefined,
  });
  let reasonCode: number = Reason.Success;
  if (!result.ok) {
    // A refused QoS 1/2 publication is still acknowledged (5.0 with the reason) and dropped, never silently.
    connection.hub.stats.refusedPublishes++;
    connection.log.info({ topic, error: result.error }, 'publication refused');
    reasonCode = reasonForCoreError(result.error);
  }
  acknowledge(connection, qos, packetId, reasonCode, v5);
}

/** PUBACK or PUBREC, once what the publication wrote to the store is durable (see MqttConnection.sendDurable). */
function acknowledge(connection: MqttConnection, qos: QoS, packetId: number, reasonCode: number, v5: boolean): void {
  if (qos === 1) connection.sendDurable(ack('puback', packetId, reasonCode, v5));
  else if (qos === 2) {
    if (reasonCode === Reason.Success) connection.session!.receivedQos2(packetId);
    connection.sendDurable(ack('pubrec', packetId, reasonCode, v5));
  }
}

export function handlePuback(connection: MqttConnection, packet: IPubackPacket): void {
  connection.session!.completed(packet.messageId ?? 0);
}

/** PUBREC: a failure reason ends the flight [MQTT-4.3.3-4]; otherwise PUBREL follows. */
export function handlePubrec(connection: MqttConnection, packet: IPubrecPacket): void {
  const session = connection.session!;
  const id = packet.messageId ?? 0;
  if (connection.version === 5 && (packet.reasonCode ?? 0) >= 0x80) {
    session.completed(id);
    return;
  }
  // A repeated PUBREC (the client lost our PUBREL) gets PUBREL again.
  session.received(id);
}

export function handlePubrel(connection: MqttConnection, packet: IPubrelPacket): void {
  const session = connection.session!;
  const id = packet.messageId ?? 0;
  const known = session.releasedQos2(id);
  const v5 = connection.version === 5;
  // Durable too: a stored id that outlived its PUBCOMP would swallow the client's next message with that id.
  connection.sendDurable(ack('pubcomp', id, known ? Reason.Success : Reason.PacketIdentifierNotFound, v5));
}

export function handlePubcomp(connection: MqttConnection, packet: IPubcompPacket): void {
  connection.session!.completed(packet.messageId ?? 0);
}

/**
 * An acknowledgement. mqtt-packet writes the short 2-byte form only for an explicit reason code 0; some clients
 * (paho 1.6) accept nothing else for a successful PUBREL, so the code is always given in 5.0.
 */
function ack(cmd: 'puback' | 'pubrec' | 'pubcomp', messageId: number, reasonCode: number, v5: boolean): never {
  return (v5 ? { cmd, messageId, reasonCode } : { cmd, messageId }) as never;
}

function printable(topic: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = topic.replace(/[\u0000-\u001f]/g, '?');
  return clean.length > 80 ? `${clean.slice(0, 80)}...` : clean;
}
