/**
 * MQTT 5 message properties to and from the core's protocol-neutral MessageProperties: Payload Format
 * Indicator, Message Expiry Interval, Content Type, Response Topic, Correlation Data and User Properties pass
 * through unchanged [MQTT-3.3.2-15..20].
 */
import {
  userPropertiesFromObject,
  userPropertiesToObject,
  type MessageProperties,
  type UserPropertyObject,
} from '../../src/port.js';

export interface PublishProperties {
  payloadFormatIndicator?: boolean;
  messageExpiryInterval?: number;
  contentType?: string;
  responseTopic?: string;
  correlationData?: Buffer;
  userProperties?: UserPropertyObject;
  topicAlias?: number;
  subscriptionIdentifier?: number | number[];
}

export function fromPacket(properties: PublishProperties | undefined, now: number): MessageProperties | undefined {
  if (properties === undefined) return undefined;
  const result: MessageProperties = {};
  if (properties.payloadFormatIndicator === true) result.payloadIsUtf8 = true;
  if (properties.messageExpiryInterval !== undefined) result.expiresAt = now + properties.messageExpiryInterval * 1000;
  if (properties.contentType !== undefined) result.contentType = properties.contentType;
  if (properties.responseTopic !== undefined) result.responseTopic = properties.responseTopic;
  if (properties.correlationData !== undefined) result.correlationData = properties.correlationData;
  if (properties.userProperties !== undefined) result.userProperties = userPropertiesFromObject(properties.userProperties);
  return nonEmpty(result);
}

/**
 * The properties of an outgoing PUBLISH. The expiry sent is what is left of the original interval
 * [MQTT-3.3.2-6]; the caller has already dropped expired messages.
 */
export function toPacket(properties: MessageProperties | undefined, subscriptionIds: readonly number[], now: number): PublishProperties | undefined {
  const result: PublishProperties = {};
  if (properties !== undefined) {
    if (properties.payloadIsUtf8 === true) result.payloadFormatIndicator = true;
    if (properties.expiresAt !== undefined) {
      result.messageExpiryInterval = Math.max(0, Math.ceil((properties.expiresAt - now) / 1000));
    }
    if (properties.contentType !== undefined) result.contentType = properties.contentType;
    if (properties.responseTopic !== undefined) result.responseTopic = properties.responseTopic;
    if (properties.correlationData !== undefined) result.correlationData = Buffer.from(properties.correlationData);
    if (properties.userProperties !== undefined && properties.userProperties.length > 0) {
      result.userProperties = userPropertiesToObject(properties.userProperties);
    }
  }
  if (subscriptionIds.length > 0) {
    result.subscriptionIdentifier = subscriptionIds.length === 1 ? subscriptionIds[0]! : [...subscriptionIds];
  }
  return nonEmpty(result);
}

function nonEmpty<T extends object>(value: T): T | undefined {
  for (const _ in value) return value;
  return undefined;
}
