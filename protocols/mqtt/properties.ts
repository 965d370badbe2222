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
  let any = false;
  if (properties.payloadFormatIndicator === true) {
    result.payloadIsUtf8 = true;
    any = true;
  }
  if (properties.messageExpiryInterval !== undefined) {
    result.expiresAt = now + properties.messageExpiryInterval * 1000;
    any = true;
  }
  if (properties.contentType !== undefined) {
    result.contentType = properties.contentType;
    any = true;
  }
  if (properties.responseTopic !== undefined) {
    result.responseTopic = properties.responseTopic;
    any = true;
  }
  if (properties.correlationData !== undefined) {
    result.correlationData = properties.correlationData;
    any = true;
  }
  if (properties.userProperties !== undefined) {
    result.userProperties = userPropertiesFromObject(properties.userProperties);
    any = true;
  }
  return any ? result : undefined;
}

/**
 * The properties of an outgoing PUBLISH. The expiry sent is what is left of the original interval
 * [MQTT-3.3.2-6]; the caller has already dropped expired messages.
 */
export function toPacket(properties: MessageProperties | undefined, subscriptionIds: readonly number[], now: number): PublishProperties | undefined {
  const result: PublishProperties = {};
  let any = false;
  if (properties !== undefined) {
    if (properties.payloadIsUtf8 === true) {
      result.payloadFormatIndicator = true;
      any = true;
    }
    if (properties.expiresAt !== undefined) {
      result.messageExpiryInterval = Math.max(0, Math.ceil((properties.expiresAt - now) / 1000));
      any = true;
    }
    if (properties.contentType !== undefined) {
      result.contentType = properties.contentType;
      any = true;
    }
    if (properties.responseTopic !== undefined) {
      result.responseTopic = properties.responseTopic;
      any = true;
    }
    if (properties.correlationData !== undefined) {
      result.correlationData = Buffer.from(properties.correlationData);
      any = true;
    }
    if (properties.userProperties !== undefined && properties.userProperties.length > 0) {
      result.userProperties = userPropertiesToObject(properties.userProperties);
      any = true;
    }
  }
  if (subscriptionIds.length > 0) {
    result.subscriptionIdentifier = subscriptionIds.length === 1 ? subscriptionIds[0]! : [...subscriptionIds];
    any = true;
  }
  return any ? result : undefined;
}
