/**
 * Authentication contracts. Every credential source (WAMP ticket, MQTT password, MQTT 5 enhanced auth, a
 * token on the WebSocket upgrade) ends in the same {@link Principal}.
 */

/** Who a session is, whichever protocol it speaks. */
export interface Principal {
  authid: string;
  authrole: string;
  /** How the credential arrived: `ticket`, `jwt` (upgrade token), `anonymous`... */
  authmethod: string;
  /** Who vouched for it: `jwt` or `static`. */
  authprovider: string;
  /** The realm claimed by the token, if it carried one. */
  realm?: string;
  /** Seconds since epoch at which the credential expires, if it does. */
  expiresAt?: number;
  /** The raw verified claims, for authorization extensions (permissions claim...). */
  claims?: Readonly<Record<string, unknown>>;
}

/**
 * The outcome of checking a credential.
 * - `accept`: the principal may join.
 * - `deny`: the credential was checked and refused (expired, bad signature...). `message` says why and never
 *   holds key material. WAMP: `wamp.error.authentication_denied`; MQTT: bad credentials / not authorized.
 * - `failed`: the check could not be made (JWKS unreachable...). WAMP: `wamp.error.authentication_failed`;
 *   MQTT: server unavailable.
 */
export type AuthOutcome =
  | { kind: 'accept'; principal: Principal }
  | { kind: 'deny'; message: string }
  | { kind: 'failed'; message: string };

/** What a token authenticator is asked. */
export interface TokenRequest {
  token: string;
  /** Recorded as the principal's authmethod. */
  authmethod: string;
  /** The realm the client asked for, checked against the token's realm claim when both are present. */
  realm?: string;
}

export interface TokenAuthenticator {
  verify(request: TokenRequest): Promise<AuthOutcome>;
}
