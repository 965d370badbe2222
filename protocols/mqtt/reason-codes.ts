/**
 * Every reason and return code this module puts on the wire, and the one mapping from the core's error codes to
 * them. MQTT 5.0 section 2.4; MQTT 3.1.1 sections 3.2.2.3 (CONNACK) and 3.9.3 (SUBACK).
 */
import { CoreError, TOKEN_EXPIRED, type CoreErrorUri } from '../../src/port.js';

/** MQTT 5.0 reason codes used by this router. */
export const Reason = {
  Success: 0x00,
  DisconnectWithWill: 0x04,
  NoMatchingSubscribers: 0x10,
  NoSubscriptionExisted: 0x11,
  UnspecifiedError: 0x80,
  MalformedPacket: 0x81,
  ProtocolError: 0x82,
  ImplementationSpecificError: 0x83,
  UnsupportedProtocolVersion: 0x84,
  ClientIdentifierNotValid: 0x85,
  BadUserNameOrPassword: 0x86,
  NotAuthorized: 0x87,
  ServerUnavailable: 0x88,
  ServerShuttingDown: 0x8b,
  BadAuthenticationMethod: 0x8c,
  KeepAliveTimeout: 0x8d,
  SessionTakenOver: 0x8e,
  TopicFilterInvalid: 0x8f,
  TopicNameInvalid: 0x90,
  PacketIdentifierNotFound: 0x92,
  ReceiveMaximumExceeded: 0x93,
  TopicAliasInvalid: 0x94,
  PacketTooLarge: 0x95,
  QuotaExceeded: 0x97,
  PayloadFormatInvalid: 0x99,
  SharedSubscriptionsNotSupported: 0x9e,
  AdministrativeAction: 0x98,
} as const;

/** MQTT 3.1.1 CONNACK return codes (section 3.2.2.3). */
export const ConnackV3 = {
  Accepted: 0x00,
  UnacceptableProtocolVersion: 0x01,
  IdentifierRejected: 0x02,
  ServerUnavailable: 0x03,
  BadUserNameOrPassword: 0x04,
  NotAuthorized: 0x05,
} as const;

/** SUBACK failure in MQTT 3.1.1 [MQTT-3.9.3-2]. */
export const SubackFailureV3 = 0x80;

/** The CONNACK code for a refusal, in the client's protocol version. */
export function connackCode(version: number, reason: number): number {
  if (version === 5) return reason;
  switch (reason) {
    case Reason.Success:
      return ConnackV3.Accepted;
    case Reason.UnsupportedProtocolVersion:
      return ConnackV3.UnacceptableProtocolVersion;
    case Reason.ClientIdentifierNotValid:
      return ConnackV3.IdentifierRejected;
    case Reason.BadUserNameOrPassword:
    case Reason.BadAuthenticationMethod:
      return ConnackV3.BadUserNameOrPassword;
    case Reason.NotAuthorized:
      return ConnackV3.NotAuthorized;
    default:
      return ConnackV3.ServerUnavailable;
  }
}

/** A SUBACK entry for a refused subscription, in the client's protocol version. */
export function subackFailure(version: number, reason: number): number {
  return version === 5 ? reason : SubackFailureV3;
}

/** The MQTT 5.0 reason code for a core error. */
export function reasonForCoreError(error: CoreErrorUri): number {
  switch (error) {
    case CoreError.NotAuthorized:
      return Reason.NotAuthorized;
    case CoreError.InvalidUri:
      return Reason.TopicNameInvalid;
    case CoreError.NoSuchSubscription:
      return Reason.NoSubscriptionExisted;
    case CoreError.LimitExceeded:
      return Reason.QuotaExceeded;
    default:
      return Reason.ImplementationSpecificError;
  }
}

/** The DISCONNECT reason for a session the router ends; `reason` is the core's close URI. */
export function disconnectReasonFor(reason: string): number {
  switch (reason) {
    case 'wamp.close.system_shutdown':
      return Reason.ServerShuttingDown;
    case TOKEN_EXPIRED:
      return Reason.NotAuthorized;
    default:
      return Reason.AdministrativeAction;
  }
}
