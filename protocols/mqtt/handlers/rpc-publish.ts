/**
 * PUBLISH to the reserved RPC topics (see rpc.ts). A call or a reply is acknowledged like any PUBLISH, but it is
 * never routed as a publication nor retained.
 */
import type { IPublishPacket } from 'mqtt-packet';
import { Payload, type QoS } from '../../../src/port.js';
import type { MqttConnection } from '../connection.js';
import type { PublishProperties } from '../properties.js';
import { envelopePayload, ERROR_PROPERTY, parseEnvelope, replyMessage, replyTopicFor, type ReplyAddress } from '../rpc.js';
import { isValidTopicName } from '../topics.js';

/** A call: `$rpc/a/b/c` calls `a.b.c`; the answer goes to the caller's reply topic. */
export function handleCall(connection: MqttConnection, packet: IPublishPacket, procedure: string[]): void {
  const session = connection.session!;
  const v5 = connection.version === 5;
  const properties = (packet.properties ?? {}) as PublishProperties;
  const payloadBytes = packet.payload as Buffer;
  let address: ReplyAddress;
  let payload: Payload;
  if (v5) {
    if (properties.responseTopic === undefined) {
      connection.log.info({ procedure: procedure.join('.') }, 'RPC call without a Response Topic: nowhere to answer, dropped');
      return;
    }
    address = { topic: properties.responseTopic, qos: packet.qos as QoS };
    if (properties.correlationData !== undefined) address.correlationData = properties.correlationData;
    // An empty call is a call without arguments, as an empty answer is a result without them.
    payload = payloadBytes.length === 0 ? Payload.fromArgs() : Payload.fromBytes(payloadBytes);
  } else {
    const envelope = parseEnvelope(payloadBytes);
    if (envelope?.replyTo === undefined) {
      connection.log.info({ procedure: procedure.join('.') }, 'RPC call without a {"reply_to": ...} envelope: nowhere to answer, dropped');
      return;
    }
    address = { topic: envelope.replyTo, id: envelope.id, qos: packet.qos as QoS };
    payload = envelopePayload(envelope);
  }
  if (!isValidTopicName(address.topic, connection.hub.options)) {
    connection.log.info({ replyTo: address.topic }, 'RPC call with an invalid reply topic, dropped');
    return;
  }
  const requestId = session.callIds.next();
  session.calls.set(requestId, address);
  const result = session.core.call(requestId, procedure, payload, { timeoutMs: 0, disclose: false });
  if (!result.ok) {
    // No such procedure, not authorized...: the caller always hears back, never silence.
    session.calls.delete(requestId);
    session.deliver(replyMessage(address, connection.version, undefined, result.error));
  }
}

/** A callee's answer on its own `$rpc-reply/{session id}` topic, matched to the invocation it answers. */
export function handleReply(connection: MqttConnection, packet: IPublishPacket, topic: string): void {
  const session = connection.session!;
  if (topic !== replyTopicFor(session.core.id)) {
    connection.log.info({ topic }, "RPC reply on another session's reply topic, dropped");
    return;
  }
  const properties = (packet.properties ?? {}) as PublishProperties;
  const bytes = packet.payload as Buffer;
  let invocationId: number;
  let error: string | undefined;
  let payload: Payload;
  if (connection.version === 5) {
    invocationId = Number(properties.correlationData?.toString('utf8'));
    const marked = properties.userProperties?.[ERROR_PROPERTY];
    error = Array.isArray(marked) ? marked[0] : marked;
    // An empty reply is a result without arguments.
    payload = bytes.length === 0 ? Payload.fromArgs() : Payload.fromBytes(bytes);
  } else {
    const envelope = parseEnvelope(bytes);
    if (envelope === undefined) {
      connection.log.info('RPC reply that is not a JSON envelope, dropped');
      return;
    }
    invocationId = Number(envelope.id);
    error = envelope.error;
    payload = envelopePayload(envelope);
  }
  const result = error === undefined ? session.core.yield(invocationId, payload) : session.core.fail(invocationId, error, payload);
  if (!result.ok) connection.log.info({ invocationId }, 'late or unknown RPC reply, dropped');
}
