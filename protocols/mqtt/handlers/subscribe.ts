/**
 * SUBSCRIBE (MQTT 5.0 section 3.8, 3.1.1 section 3.8). Each filter is checked, authorized and subscribed on its
 * own; SUBACK carries one code per filter in order [MQTT-3.8.4-6]; retained messages follow the SUBACK, as the
 * Retain Handling option says [MQTT-3.3.1-9..11].
 */
import type { ISubscribePacket } from 'mqtt-packet';
import type { QoS } from '../../../src/port.js';
import type { MqttConnection } from '../connection.js';
import { Reason, reasonForCoreError, subackFailure } from '../reason-codes.js';
import type { MqttSubscriberOptions, Outgoing } from '../session.js';
import { RPC_PREFIX } from '../rpc.js';
import { fromComponents, parseFilter, type ParsedFilter } from '../topics.js';

const MAX_SUBSCRIPTION_ID = 268_435_455;

export function handleSubscribe(connection: MqttConnection, packet: ISubscribePacket): void {
  const session = connection.session!;
  const { options } = connection.hub;
  const version = connection.version;
  const subscriptionId = (packet.properties as { subscriptionIdentifier?: number } | undefined)?.subscriptionIdentifier;
  if (subscriptionId !== undefined && (subscriptionId < 1 || subscriptionId > MAX_SUBSCRIPTION_ID)) {
    connection.protocolError(Reason.ProtocolError, 'Subscription Identifier must be in 1..268435455');
    return;
  }
  if (packet.subscriptions.length === 0) {
    connection.protocolError(Reason.ProtocolError, 'SUBSCRIBE without a topic filter [MQTT-3.8.3-2]');
    return;
  }
  const granted: number[] = [];
  const retained: Outgoing[] = [];
  let reasonString: string | undefined;
  for (const request of packet.subscriptions) {
    const parsed = parseFilter(request.topic, options);
    if (parsed === undefined) {
      connection.log.info({ filter: request.topic }, 'invalid topic filter');
      granted.push(subackFailure(version, Reason.TopicFilterInvalid));
      continue;
    }
    if (parsed.shareGroup !== undefined && request.nl === true) {
      connection.protocolError(Reason.ProtocolError, 'No Local on a shared subscription [MQTT-3.8.3-4]');
      return;
    }
    const renewing = session.subscriptions.has(request.topic);
    if (!renewing && options.maxSubscriptions > 0 && session.subscriptions.size >= options.maxSubscriptions) {
      granted.push(subackFailure(version, Reason.QuotaExceeded));
      continue;
    }
    const qos = request.qos as QoS; // the parser refuses QoS 3
    const subscriberOptions: MqttSubscriberOptions = {
      qos,
      noLocal: request.nl === true,
      retainAsPublished: request.rap === true,
      retainHandling: (request.rh ?? 0) as 0 | 1 | 2,
    };
    if (subscriptionId !== undefined) subscriberOptions.subscriptionId = subscriptionId;
    if (parsed.pattern[0] === RPC_PREFIX && parsed.pattern.length === 1 && parsed.policy === 'exact') {
      // `$rpc` alone names no procedure.
      granted.push(subackFailure(version, Reason.TopicFilterInvalid));
      continue;
    }
    if (parsed.pattern[0] === RPC_PREFIX) {
      const code = register(connection, request.topic, parsed, subscriberOptions);
      if (code.reasonString !== undefined) reasonString = code.reasonString;
      granted.push(code.code);
      continue;
    }
    const result = session.subscribeFilter(parsed, subscriberOptions);
    if (!result.ok) {
      connection.log.info({ filter: request.topic, error: result.error }, 'subscription refused');
      granted.push(subackFailure(version, reasonForCoreError(result.error)));
      continue;
    }
    session.subscriptions.set(request.topic, { filter: request.topic, parsed, options: subscriberOptions, coreId: result.value.subscription.id, rpc: false });
    granted.push(qos);
    // Shared subscriptions get no retained messages; Retain Handling 1 sends them only for a new subscription.
    const wantsRetained =
      parsed.shareGroup === undefined &&
      (subscriberOptions.retainHandling === 0 || (subscriberOptions.retainHandling === 1 && !result.value.renewed));
    if (wantsRetained) {
      for (const message of session.core.realm.broker.retainedFor(parsed.pattern, parsed.policy)) {
        const topic = fromComponents(message.topic);
        if (topic === undefined) continue;
        retained.push({
          topic,
          payload: message.payload.bytes,
          qos: Math.min(message.qos, qos) as QoS,
          // A retained message is sent with RETAIN set [MQTT-3.3.1-8].
          retain: true,
          properties: message.properties,
          subscriptionIds: subscriptionId === undefined ? [] : [subscriptionId],
        });
      }
    }
  }
  const properties = version === 5 && reasonString !== undefined ? { properties: { reasonString } } : {};
  // A granted subscription must survive a restart once acknowledged.
  session.saveRecord();
  // Retained messages follow their SUBACK, even when it waits for the store.
  connection.sendDurable({ cmd: 'suback', messageId: packet.messageId, granted, ...properties } as never, () => {
    for (const message of retained) session.deliver(message);
  });
}

/**
 * `$rpc/a/b/c` registers procedure `a.b.c` with the dealer: `+` and `#` give wildcard and tail registrations,
 * `$share/{group}/$rpc/...` a shared one invoked round robin. A second exclusive registration is refused with
 * 0x83 and the WAMP URI as reason string (0x80 in 3.1.1).
 */
function register(
  connection: MqttConnection,
  filter: string,
  parsed: ParsedFilter,
  options: MqttSubscriberOptions,
): { code: number; reasonString?: string } {
  const session = connection.session!;
  const procedure = parsed.pattern.slice(1);
  const existing = session.subscriptions.get(filter);
  if (existing?.rpc === true) {
    // The same filter again only changes the QoS of invocations.
    session.rpcQos.set(existing.coreId, options.qos);
    existing.options = options;
    return { code: options.qos };
  }
  const result = session.core.register(procedure, parsed.policy, { invoke: parsed.shareGroup === undefined ? 'single' : 'roundrobin' });
  if (!result.ok) {
    connection.log.info({ filter, error: result.error }, 'registration refused');
    return { code: subackFailure(connection.version, reasonForCoreError(result.error)), reasonString: result.error };
  }
  session.rpcQos.set(result.value.id, options.qos);
  session.subscriptions.set(filter, { filter, parsed, options, coreId: result.value.id, rpc: true });
  connection.log.info({ procedure: procedure.join('.'), registration: result.value.id }, 'mqtt client registered a procedure');
  return { code: options.qos };
}
