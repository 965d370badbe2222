/**
 * Every URI this module puts on the wire for errors and closes, and the one mapping from the core's stable
 * codes to them. The core's codes are already WAMP URIs (they are the cross-protocol lingua franca), so the
 * mapping is the identity, kept here so the wire stays defined in one place.
 */
import type { CoreErrorUri } from '../../src/port.js';

export const Uri = {
  // ABORT and GOODBYE reasons
  protocolViolation: 'wamp.error.protocol_violation',
  noSuchRealm: 'wamp.error.no_such_realm',
  authenticationDenied: 'wamp.error.authentication_denied',
  authenticationFailed: 'wamp.error.authentication_failed',
  noMatchingAuthMethod: 'wamp.error.no_matching_auth_method',
  goodbyeAndOut: 'wamp.close.goodbye_and_out',
  closeRealm: 'wamp.close.close_realm',
  systemShutdown: 'wamp.close.system_shutdown',
  killed: 'wamp.close.killed',
  // ERROR URIs
  invalidUri: 'wamp.error.invalid_uri',
  invalidArgument: 'wamp.error.invalid_argument',
  notAuthorized: 'wamp.error.not_authorized',
  canceled: 'wamp.error.canceled',
  /** An acknowledged PUBLISH whose store write failed: it may not have reached persistent subscribers. */
  storeUnavailable: 'switchboard.error.store_unavailable',
} as const;

/** The wire URI for a core error code. */
export function errorUri(code: CoreErrorUri): string {
  return code;
}
