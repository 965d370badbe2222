import { randomBytes } from 'node:crypto';
import type { AuthService } from '../port.js';
import { checkRealm } from './realm-check.js';
import type { AuthOutcome, Principal, TokenAuthenticator } from './types.js';

export interface AuthServiceOptions {
  /** The JWT verifier, when keys are configured. */
  tokens: TokenAuthenticator | undefined;
  anonymousAllowed: boolean;
  anonymousRole: string;
  /** Authrole of certificate logins. */
  certificateRole?: string;
}

/** The one authenticator every protocol module uses. */
export class RouterAuth implements AuthService {
  constructor(private readonly options: AuthServiceOptions) {}

  get tokensEnabled(): boolean {
    return this.options.tokens !== undefined;
  }

  get anonymousAllowed(): boolean {
    return this.options.anonymousAllowed;
  }

  async verifyToken(token: string, authmethod: string, realm?: string): Promise<AuthOutcome> {
    const tokens = this.options.tokens;
    if (tokens === undefined) return { kind: 'deny', message: 'token login is not enabled on this router' };
    return realm === undefined ? tokens.verify({ token, authmethod }) : tokens.verify({ token, authmethod, realm });
  }

  checkRealm(principal: Principal, realm: string): AuthOutcome {
    return checkRealm(principal, realm);
  }

  certificate(commonName: string): Principal {
    return { authid: commonName, authrole: this.options.certificateRole ?? 'device', authmethod: 'tls', authprovider: 'tls' };
  }

  anonymous(authid?: string): Principal {
    return {
      authid: authid ?? `anonymous-${randomBytes(6).toString('hex')}`,
      authrole: this.options.anonymousRole,
      authmethod: 'anonymous',
      authprovider: 'static',
    };
  }
}
