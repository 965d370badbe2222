/** Keys and tokens for auth tests, generated fresh per run and written to a temp dir. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose';

export const SECRET = 'test-secret-that-is-long-enough-for-hs256!';

export interface KeyFiles {
  dir: string;
  rsa: { privateKey: CryptoKey; pem: string };
  ec: { privateKey: CryptoKey; pem: string };
  ed: { privateKey: CryptoKey; pem: string };
  /** A JWKS file holding one RSA key with kid 'jwks-1'. */
  jwksFile: string;
  jwksPrivate: CryptoKey;
  jwksJson: string;
  cleanup(): void;
}

async function pair(alg: string): Promise<{ privateKey: CryptoKey; publicKey: CryptoKey }> {
  return generateKeyPair(alg, { extractable: true });
}

export async function makeKeyFiles(): Promise<KeyFiles> {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-keys-'));
  const write = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const rsa = await pair('RS256');
  const ec = await pair('ES256');
  const ed = await pair('EdDSA');
  const jwks = await pair('RS256');
  const jwk = { ...(await exportJWK(jwks.publicKey)), kid: 'jwks-1', alg: 'RS256', use: 'sig' };
  const jwksJson = JSON.stringify({ keys: [jwk] });
  return {
    dir,
    rsa: { privateKey: rsa.privateKey, pem: write('rsa.pem', await exportSPKI(rsa.publicKey)) },
    ec: { privateKey: ec.privateKey, pem: write('ec.pem', await exportSPKI(ec.publicKey)) },
    ed: { privateKey: ed.privateKey, pem: write('ed.pem', await exportSPKI(ed.publicKey)) },
    jwksFile: write('jwks.json', jwksJson),
    jwksPrivate: jwks.privateKey,
    jwksJson,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface TokenOptions {
  sub?: string;
  claims?: JWTPayload;
  expiresIn?: string | number;
  notBefore?: string | number;
  issuer?: string;
  audience?: string;
  kid?: string;
}

export async function sign(key: CryptoKey | Uint8Array, alg: string, options: TokenOptions = {}): Promise<string> {
  let jwt = new SignJWT(options.claims ?? {}).setProtectedHeader(options.kid ? { alg, kid: options.kid } : { alg }).setIssuedAt();
  if (options.sub !== '') jwt = jwt.setSubject(options.sub ?? 'alice');
  jwt = jwt.setExpirationTime(options.expiresIn ?? '5m');
  if (options.notBefore !== undefined) jwt = jwt.setNotBefore(options.notBefore);
  if (options.issuer) jwt = jwt.setIssuer(options.issuer);
  if (options.audience) jwt = jwt.setAudience(options.audience);
  return jwt.sign(key);
}

export function hs256(options: TokenOptions = {}, secret = SECRET): Promise<string> {
  return sign(new TextEncoder().encode(secret), 'HS256', options);
}

/** A token with `alg: none`, which no configuration may accept. */
export function unsignedToken(sub = 'mallory'): string {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${encode({ alg: 'none', typ: 'JWT' })}.${encode({ sub, exp: Math.floor(Date.now() / 1000) + 300 })}.`;
}
