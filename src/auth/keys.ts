/**
 * Turns the `jwt` config into the keys a token may be checked against. Everything that can fail on a bad
 * config file fails here, at startup, rather than on the first token.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  type CryptoKey,
  type JSONWebKeySet,
  type JWSHeaderParameters,
} from 'jose';
import type { JwtAlgorithm, JwtConfig } from '../config/defaults.js';

/** One key from `jwt.secret` or `jwt.publicKeys`, with the algorithms it may verify. */
export interface CandidateKey {
  key: KeyObject | Uint8Array;
  /** Already intersected with `JwtConfig.algorithms`; never empty. */
  algorithms: ReadonlySet<JwtAlgorithm>;
  /** PEM and secret keys carry none; kept so a kid-bearing source can be added without changing callers. */
  kid?: string;
  /** Where the key came from (`jwt.secret` or a file path), for messages. Never key material. */
  source: string;
}

/** The configured JWKS; jose picks the key by `alg`/`kid` itself. */
export interface JwksKeys {
  resolve(header: JWSHeaderParameters): Promise<CryptoKey>;
  /** Remote sets can fail at verify time for reasons that are not the token's fault. */
  remote: boolean;
  source: string;
}

export interface KeySet {
  keys: CandidateKey[];
  jwks?: JwksKeys;
  /** Configured keys that verify none of the configured algorithms, with why: worth a startup warning. */
  ignored: string[];
}

export interface LoadKeysOptions {
  /** Remote JWKS request timeout. jose's default (5 s) when unset. */
  jwksTimeoutMs?: number;
}

const HS: readonly JwtAlgorithm[] = ['HS256', 'HS384', 'HS512'];
const RSA: readonly JwtAlgorithm[] = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
const EC_BY_CURVE: Readonly<Record<string, JwtAlgorithm>> = {
  prime256v1: 'ES256',
  secp384r1: 'ES384',
  secp521r1: 'ES512',
};

/** Whether any verification key is configured at all (the server decides dev mode / anonymous on this). */
export function hasAnyKey(config: JwtConfig): boolean {
  return Boolean(config.secret) || config.publicKeys.length > 0 || Boolean(config.jwks);
}

export async function loadKeys(config: JwtConfig, options: LoadKeysOptions = {}): Promise<KeySet> {
  const allowed = new Set<JwtAlgorithm>(config.algorithms);
  const set: KeySet = { keys: [], ignored: [] };

  const add = (candidate: Omit<CandidateKey, 'algorithms'>, fits: readonly JwtAlgorithm[]): void => {
    const algorithms = new Set(fits.filter((alg) => allowed.has(alg)));
    if (algorithms.size === 0) {
      set.ignored.push(`${candidate.source}: verifies only ${fits.join('/')}, none of which is in jwt.algorithms`);
      return;
    }
    set.keys.push({ ...candidate, algorithms });
  };

  // An empty secret would make every HMAC signature trivially forgeable, so it counts as unset.
  if (config.secret) {
    add({ key: new TextEncoder().encode(config.secret), source: 'jwt.secret' }, HS);
  }

  for (const path of config.publicKeys) {
    const { key, fits } = await loadPem(path);
    add({ key, source: path }, fits);
  }

  if (config.jwks) {
    set.jwks = await loadJwks(config.jwks, options);
  }
  return set;
}

async function loadPem(path: string): Promise<{ key: KeyObject; fits: readonly JwtAlgorithm[] }> {
  const fail = (why: string): Error => new Error(`jwt.publicKeys: ${path}: ${why}`);
  let pem: string;
  try {
    pem = await readFile(path, 'utf8');
  } catch (err) {
    throw fail(`cannot read file (${errorCode(err)})`);
  }
  // createPublicKey would quietly derive a public key from a private one; a private key on the verifying
  // side is a deployment mistake worth stopping for.
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) {
    throw fail('contains a private key; configure the public key (SPKI PEM) or a certificate instead');
  }
  let key: KeyObject;
  try {
    // Accepts SPKI, PKCS#1 RSA public keys and X.509 certificates alike.
    key = createPublicKey(pem);
  } catch {
    throw fail('not a PEM public key or X.509 certificate');
  }
  switch (key.asymmetricKeyType) {
    case 'rsa': {
      // jose refuses RSA keys under 2048 bits at verify time; say so now, naming the file.
      const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
      if (bits < 2048) throw fail(`RSA key is ${bits} bits; at least 2048 are required`);
      return { key, fits: RSA };
    }
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve ?? 'unknown';
      const alg = EC_BY_CURVE[curve];
      if (!alg) throw fail(`unsupported EC curve ${curve} (P-256, P-384 or P-521 only)`);
      return { key, fits: [alg] };
    }
    case 'ed25519':
      return { key, fits: ['EdDSA'] };
    default:
      // rsa-pss-restricted keys land here too: jose on Node 20 cannot use them (no JWK export).
      throw fail(`unsupported key type ${key.asymmetricKeyType ?? 'unknown'} (RSA, EC or Ed25519 only)`);
  }
}

async function loadJwks(location: string, options: LoadKeysOptions): Promise<JwksKeys> {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) {
    const url = parseUrl(location);
    const timeoutDuration = options.jwksTimeoutMs;
    const resolve = createRemoteJWKSet(url, timeoutDuration === undefined ? {} : { timeoutDuration });
    return { resolve: (header) => resolve(header), remote: true, source: url.href };
  }

  let json: unknown;
  try {
    json = JSON.parse(await readFile(location, 'utf8'));
  } catch (err) {
    const why = err instanceof SyntaxError ? 'not valid JSON' : `cannot read file (${errorCode(err)})`;
    throw new Error(`jwt.jwks: ${location}: ${why}`);
  }
  try {
    const resolve = createLocalJWKSet(json as JSONWebKeySet);
    return { resolve: (header) => resolve(header), remote: false, source: location };
  } catch {
    throw new Error(`jwt.jwks: ${location}: not a JSON Web Key Set (expected {"keys": [...]})`);
  }
}

function parseUrl(location: string): URL {
  let url: URL;
  try {
    url = new URL(location);
  } catch {
    throw new Error(`jwt.jwks: ${location}: not a valid URL`);
  }
  if (url.protocol === 'https:') return url;
  // Plain http lets anyone on the path swap the keys; only a loopback server (tests, sidecars) is trusted.
  if (url.protocol === 'http:' && isLoopback(url.hostname)) return url;
  throw new Error(`jwt.jwks: ${location}: must be an https:// URL (http:// only for loopback hosts) or a file path`);
}

function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host === '::1') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'unknown error';
}
