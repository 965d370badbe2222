/**
 * Verifies a JWT against the configured keys and maps it to a {@link Principal}. Every refusal is a short
 * message safe to send to the client: it never holds key material, the token, or unbounded token content.
 */
import { decodeProtectedHeader, jwtVerify, type CryptoKey, type JWTPayload, type ProtectedHeaderParameters } from 'jose';
import type { JwtAlgorithm, JwtConfig } from '../config/defaults.js';
import type { CandidateKey, JwksKeys, KeySet } from './keys.js';
import { printable } from './printable.js';
import { checkRealm } from './realm-check.js';
import type { AuthOutcome, Principal, TokenAuthenticator, TokenRequest } from './types.js';

type VerifyKey = CandidateKey['key'] | CryptoKey;

/** What one key made of the token. Only a signature mismatch means another key might still do better. */
type Attempt =
  | { kind: 'verified'; payload: JWTPayload }
  | { kind: 'wrong-key' }
  | { kind: 'unusable-key' }
  | { kind: 'final'; outcome: AuthOutcome };

const MALFORMED: AuthOutcome = { kind: 'deny', message: 'malformed token' };

export class JwtAuthenticator implements TokenAuthenticator {
  private readonly allowed: ReadonlySet<string>;

  constructor(
    private readonly config: JwtConfig,
    private readonly keySet: KeySet,
  ) {
    this.allowed = new Set<string>(config.algorithms);
  }

  async verify(request: TokenRequest): Promise<AuthOutcome> {
    const header = readHeader(request.token);
    if (!header) return MALFORMED;
    const { alg, kid } = header;
    if (typeof alg !== 'string' || alg === '') return MALFORMED;
    // Checked before any key is touched, so no key type can ever be coaxed into an algorithm it was not
    // configured for (`none`, or HS256 with an RSA public key as the "secret").
    if (alg.toLowerCase() === 'none' || !this.allowed.has(alg)) {
      return deny(`alg '${printable(alg)}' is not accepted`);
    }
    const tokenKid = typeof kid === 'string' ? kid : undefined;

    let wrongKey = false;
    let unusableKey = false;
    const consider = async (key: VerifyKey): Promise<AuthOutcome | undefined> => {
      const attempt = await this.attempt(request.token, key);
      switch (attempt.kind) {
        case 'verified':
          return this.principal(attempt.payload, request);
        case 'final':
          return attempt.outcome;
        case 'wrong-key':
          wrongKey = true;
          return undefined;
        case 'unusable-key':
          unusableKey = true;
          return undefined;
      }
    };

    for (const candidate of this.keySet.keys) {
      if (!candidate.algorithms.has(alg as JwtAlgorithm)) continue;
      if (tokenKid !== undefined && candidate.kid !== undefined && candidate.kid !== tokenKid) continue;
      const outcome = await consider(candidate.key);
      if (outcome) return outcome;
    }

    // A JWKS never holds HMAC secrets (jose refuses them), so HS tokens do not reach it.
    const jwks = this.keySet.jwks;
    if (jwks && !alg.startsWith('HS')) {
      const found = await jwksKeys(jwks, header);
      // Even when a static key already rejected the signature, a JWKS key might have accepted it: the check
      // could not be made, which is not the same as a bad token.
      if (!Array.isArray(found)) return found;
      for (const key of found) {
        const outcome = await consider(key);
        if (outcome) return outcome;
      }
    }

    if (unusableKey) return { kind: 'failed', message: 'a configured key could not be used to check the token' };
    if (wrongKey) return deny('signature verification failed');
    const kidNote = tokenKid === undefined ? '' : ` and kid '${printable(tokenKid)}'`;
    return deny(`no configured key fits alg ${alg}${kidNote}`);
  }

  private async attempt(token: string, key: VerifyKey): Promise<Attempt> {
    try {
      const { payload } = await jwtVerify(token, key, {
        algorithms: this.config.algorithms,
        issuer: this.config.issuer,
        audience: this.config.audience,
        clockTolerance: this.config.clockToleranceSec,
      });
      return { kind: 'verified', payload };
    } catch (err) {
      return classifyVerifyError(err);
    }
  }

  private principal(payload: JWTPayload, request: TokenRequest): AuthOutcome {
    const { claims, defaultRole } = this.config;
    const authid = payload[claims.authid];
    if (typeof authid !== 'string' || authid === '') return deny(`token has no '${claims.authid}' claim`);

    const role = payload[claims.authrole];
    const realmClaim = payload[claims.realm];
    // A realm restriction we cannot read must not turn into no restriction.
    if (realmClaim !== undefined && typeof realmClaim !== 'string') {
      return deny(`token claim '${claims.realm}' is not a string`);
    }

    const principal: Principal = {
      authid,
      authrole: typeof role === 'string' && role !== '' ? role : defaultRole,
      authmethod: request.authmethod,
      authprovider: 'jwt',
      claims: Object.freeze({ ...payload }),
    };
    if (realmClaim !== undefined) principal.realm = realmClaim;
    if (typeof payload.exp === 'number') principal.expiresAt = payload.exp;
    return request.realm === undefined ? { kind: 'accept', principal } : checkRealm(principal, request.realm);
  }
}

function readHeader(token: string): ProtectedHeaderParameters | undefined {
  // decodeProtectedHeader also accepts JWE (5 parts) and flattened JSON; only a compact JWS is a JWT here.
  if (typeof token !== 'string' || token.split('.').length !== 3) return undefined;
  try {
    return decodeProtectedHeader(token);
  } catch {
    return undefined;
  }
}

function classifyVerifyError(err: unknown): Attempt {
  switch (errorCode(err)) {
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return { kind: 'wrong-key' };
    case 'ERR_JWT_EXPIRED':
      return { kind: 'final', outcome: deny('token expired') };
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return { kind: 'final', outcome: deny(claimMessage(err)) };
    case 'ERR_JWT_INVALID':
    case 'ERR_JWS_INVALID':
      return { kind: 'final', outcome: MALFORMED };
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return { kind: 'final', outcome: deny('token alg is not accepted') };
    case 'ERR_JOSE_NOT_SUPPORTED':
      return { kind: 'final', outcome: deny('token uses an unsupported feature') };
    default:
      // A TypeError/DOMException from jose or WebCrypto is about the key, not the token: try the others.
      return { kind: 'unusable-key' };
  }
}

function claimMessage(err: unknown): string {
  const { claim, reason } = err as { claim?: unknown; reason?: unknown };
  if (claim === 'nbf') return 'token not yet valid';
  const name = typeof claim === 'string' ? printable(claim) : 'unknown';
  return reason === 'missing' ? `token claim '${name}' is missing` : `token claim '${name}' check failed`;
}

/** Keys from the JWKS that match this header (possibly none), or why the JWKS could not be consulted. */
async function jwksKeys(jwks: JwksKeys, header: ProtectedHeaderParameters): Promise<CryptoKey[] | AuthOutcome> {
  try {
    return [await jwks.resolve(header)];
  } catch (err) {
    const code = errorCode(err);
    if (code === 'ERR_JWKS_MULTIPLE_MATCHING_KEYS') {
      // jose leaves trying each match to the caller; the error iterates over them.
      const keys: CryptoKey[] = [];
      for await (const key of err as AsyncIterable<CryptoKey>) keys.push(key);
      return keys;
    }
    if (code === 'ERR_JWKS_NO_MATCHING_KEY' || code === 'ERR_JOSE_NOT_SUPPORTED') return [];
    const why = jwksFailureReason(err);
    return {
      kind: 'failed',
      message: jwks.remote ? `could not fetch JWKS (${why})` : `could not use the JWKS (${why})`,
    };
  }
}

function jwksFailureReason(err: unknown): string {
  switch (errorCode(err)) {
    case 'ERR_JWKS_TIMEOUT':
      return 'request timed out';
    case 'ERR_JWKS_INVALID':
      return 'not a valid key set';
    case 'ERR_JOSE_GENERIC':
      // jose's own wording (non-200 status, unparseable JSON): fixed strings, no response content.
      return err instanceof Error ? err.message : 'bad response';
    default: {
      // Node's fetch reports network trouble as TypeError('fetch failed') with the socket error (or an
      // undici reason such as 'bad port') as cause.
      const cause = (err as { cause?: unknown } | null)?.cause;
      const why = errorCode(cause) ?? (cause instanceof Error ? cause.message : undefined);
      return why ? printable(why) : 'unreachable or unusable';
    }
  }
}

function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

function deny(message: string): AuthOutcome {
  return { kind: 'deny', message };
}
