/**
 * The client features a peer keeps from HELLO, read once so that HELLO's details are not held for the session's
 * life (WAMP advanced profile: call canceling, subscription and registration revocation).
 */
import { describe, expect, it } from 'vitest';
import { ClientFeature, clientFeatures } from '../../../protocols/wamp/features.js';

describe('clientFeatures', () => {
  it('reads call_canceling, subscription_revocation and registration_revocation from their roles', () => {
    const details = {
      roles: {
        callee: { features: { call_canceling: true, registration_revocation: true } },
        subscriber: { features: { subscription_revocation: true } },
      },
    };
    expect(clientFeatures(details)).toBe(ClientFeature.interrupts | ClientFeature.registrationRevocation | ClientFeature.subscriptionRevocation);
  });

  it('counts a feature only under its own role, and only when it is true', () => {
    expect(clientFeatures({})).toBe(0);
    expect(clientFeatures({ roles: { caller: { features: { call_canceling: true } } } })).toBe(0);
    expect(clientFeatures({ roles: { subscriber: { features: { registration_revocation: true } } } })).toBe(0);
    expect(clientFeatures({ roles: { callee: { features: { call_canceling: 1 } } } })).toBe(0);
    expect(clientFeatures({ roles: { callee: { features: { call_canceling: true } } } })).toBe(ClientFeature.interrupts);
  });
});
