/**
 * The reason and return codes the MQTT module puts on the wire (protocols/mqtt/reason-codes.ts): CONNACK codes
 * for 3.1.1 and 5.0, SUBACK failures, the core-error mapping and the DISCONNECT reason for router-ended sessions.
 */
import { describe, expect, it } from 'vitest';
import { CoreError } from '../../../src/core/errors.js';
import {
  ConnackV3,
  connackCode,
  disconnectReasonFor,
  Reason,
  reasonForCoreError,
  SubackFailureV3,
  subackFailure,
} from '../../../protocols/mqtt/reason-codes.js';

describe('Reason values are the MQTT 5.0 section 2.4 codes', () => {
  it.each([
    ['Success', 0x00],
    ['DisconnectWithWill', 0x04],
    ['NoMatchingSubscribers', 0x10],
    ['NoSubscriptionExisted', 0x11],
    ['UnspecifiedError', 0x80],
    ['MalformedPacket', 0x81],
    ['ProtocolError', 0x82],
    ['ImplementationSpecificError', 0x83],
    ['UnsupportedProtocolVersion', 0x84],
    ['ClientIdentifierNotValid', 0x85],
    ['BadUserNameOrPassword', 0x86],
    ['NotAuthorized', 0x87],
    ['ServerUnavailable', 0x88],
    ['ServerShuttingDown', 0x8b],
    ['BadAuthenticationMethod', 0x8c],
    ['KeepAliveTimeout', 0x8d],
    ['SessionTakenOver', 0x8e],
    ['TopicFilterInvalid', 0x8f],
    ['TopicNameInvalid', 0x90],
    ['PacketIdentifierNotFound', 0x92],
    ['ReceiveMaximumExceeded', 0x93],
    ['TopicAliasInvalid', 0x94],
    ['PacketTooLarge', 0x95],
    ['QuotaExceeded', 0x97],
    ['AdministrativeAction', 0x98],
    ['PayloadFormatInvalid', 0x99],
    ['SharedSubscriptionsNotSupported', 0x9e],
  ] as const)('%s is 0x%s', (name, code) => {
    expect(Reason[name]).toBe(code);
  });

  it('3.1.1 CONNACK return codes are 0..5 (3.1.1 section 3.2.2.3)', () => {
    expect(ConnackV3).toEqual({
      Accepted: 0,
      UnacceptableProtocolVersion: 1,
      IdentifierRejected: 2,
      ServerUnavailable: 3,
      BadUserNameOrPassword: 4,
      NotAuthorized: 5,
    });
  });
});

describe('connackCode', () => {
  it('MQTT 5 gets the reason code itself', () => {
    for (const reason of Object.values(Reason)) expect(connackCode(5, reason)).toBe(reason);
  });

  it.each([4, 3])('MQTT level %i maps each refusal onto the six 3.1.1 return codes', (version) => {
    expect(connackCode(version, Reason.Success)).toBe(ConnackV3.Accepted);
    expect(connackCode(version, Reason.UnsupportedProtocolVersion)).toBe(ConnackV3.UnacceptableProtocolVersion);
    expect(connackCode(version, Reason.ClientIdentifierNotValid)).toBe(ConnackV3.IdentifierRejected);
    expect(connackCode(version, Reason.BadUserNameOrPassword)).toBe(ConnackV3.BadUserNameOrPassword);
    expect(connackCode(version, Reason.BadAuthenticationMethod)).toBe(ConnackV3.BadUserNameOrPassword);
    expect(connackCode(version, Reason.NotAuthorized)).toBe(ConnackV3.NotAuthorized);
    expect(connackCode(version, Reason.ServerUnavailable)).toBe(ConnackV3.ServerUnavailable);
    expect(connackCode(version, Reason.ServerShuttingDown)).toBe(ConnackV3.ServerUnavailable);
    expect(connackCode(version, Reason.UnspecifiedError)).toBe(ConnackV3.ServerUnavailable);
  });

  it('never gives a 3.1.1 client a code above 5', () => {
    for (const reason of Object.values(Reason)) {
      const code = connackCode(4, reason);
      expect(code).toBeGreaterThanOrEqual(0);
      expect(code).toBeLessThanOrEqual(5);
      // Only Success may map to Accepted: a refusal must never read as an acceptance.
      if (reason !== Reason.Success) expect(code).not.toBe(ConnackV3.Accepted);
    }
  });
});

describe('subackFailure', () => {
  it('MQTT 5 gets the reason; 3.1.1 gets 0x80 for every failure [MQTT-3.9.3-2]', () => {
    expect(SubackFailureV3).toBe(0x80);
    for (const reason of [Reason.TopicFilterInvalid, Reason.NotAuthorized, Reason.QuotaExceeded, Reason.ImplementationSpecificError]) {
      expect(subackFailure(5, reason)).toBe(reason);
      expect(subackFailure(4, reason)).toBe(0x80);
      expect(subackFailure(3, reason)).toBe(0x80);
    }
  });
});

describe('reasonForCoreError', () => {
  it('maps the core errors an MQTT operation can meet', () => {
    expect(reasonForCoreError(CoreError.NotAuthorized)).toBe(Reason.NotAuthorized);
    expect(reasonForCoreError(CoreError.InvalidUri)).toBe(Reason.TopicNameInvalid);
    expect(reasonForCoreError(CoreError.NoSuchSubscription)).toBe(Reason.NoSubscriptionExisted);
    expect(reasonForCoreError(CoreError.LimitExceeded)).toBe(Reason.QuotaExceeded);
  });

  it('anything else is Implementation specific error (0x83); every mapping but No subscription existed (an UNSUBACK code) is a failure', () => {
    for (const error of Object.values(CoreError)) {
      if (error === CoreError.NoSuchSubscription) continue;
      expect(reasonForCoreError(error)).toBeGreaterThanOrEqual(0x80);
    }
    expect(reasonForCoreError(CoreError.NoSuchProcedure)).toBe(Reason.ImplementationSpecificError);
    expect(reasonForCoreError(CoreError.Timeout)).toBe(Reason.ImplementationSpecificError);
    expect(reasonForCoreError(CoreError.InvalidArgument)).toBe(Reason.ImplementationSpecificError);
  });
});

describe('disconnectReasonFor', () => {
  it('router shutdown is Server shutting down (0x8B)', () => {
    expect(disconnectReasonFor('wamp.close.system_shutdown')).toBe(Reason.ServerShuttingDown);
  });
  it('an expired token is Not authorized (0x87)', () => {
    expect(disconnectReasonFor('wamp.close.token_expired')).toBe(Reason.NotAuthorized);
  });
  it('anything else (a kill, an unknown reason) is Administrative action (0x98)', () => {
    expect(disconnectReasonFor('wamp.close.killed')).toBe(Reason.AdministrativeAction);
    expect(disconnectReasonFor('wamp.close.normal')).toBe(Reason.AdministrativeAction);
    expect(disconnectReasonFor('')).toBe(Reason.AdministrativeAction);
  });
});
