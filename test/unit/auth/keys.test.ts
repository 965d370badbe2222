import { generateKeyPairSync, KeyObject } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { exportJWK, exportPKCS8, exportSPKI, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasAnyKey, loadKeys } from '../../../src/auth/keys.js';
import { DEFAULTS, type JwtConfig } from '../../../src/config/defaults.js';

// The certificate from jwt.test.ts: a fixed self-signed P-256 certificate.
const CERT_PEM = `-----BEGIN CERTIFICATE-----
MIIBjDCCATOgAwIBAgIUNAkS6Qdjc5QApWY3WrMLRR3FWLkwCgYIKoZIzj0EAwIw
GzEZMBcGA1UEAwwQc3dpdGNoYm9hcmQtdGVzdDAgFw0yNjExMjIxMjM5NTlaGA8y
MTI2MTAyOTEyMzk1OVowGzEZMBcGA1UEAwwQc3dpdGNoYm9hcmQtdGVzdDBZMBMG
ByqGSM49AgEGCCqGSM49AwEHA0IABEsGJ5HKuBCYcFGWdjarWJ2py6A5tcBhIY61
gG1f+ua8qXqDIpmv+J9LdgECVZ78Zutu8cpOj3+OuZh98uarE1KjUzBRMB0GA1Ud
DgQWBBREWRRdLO9GgH+z+cF7cGvon97vNjAfBgNVHSMEGDAWgBREWRRdLO9GgH+z
+cF7cGvon97vNjAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0cAMEQCIB0m
d7OkKbnHl1F++Abvbgz8j83Ug3aFftsVtPWPXhGqAiA70QaRnQ+6o1972hfP75nE
4rTWPeTTf+4Q7g2e6pg8Og==
-----END CERTIFICATE-----
`;

let dir: string;
const file: Record<string, string> = {};

function config(overrides: Partial<JwtConfig> = {}): JwtConfig {
  return { ...DEFAULTS.jwt, claims: { ...DEFAULTS.jwt.claims }, publicKeys: [], ...overrides };
}

function write(name: string, content: string): string {
  const full = path.join(dir, name);
  fs.writeFileSync(full, content);
  return full;
}

function pemPath(name: string): string {
  const p = file[name];
  if (p === undefined) throw new Error(`no fixture ${name}`);
  return p;
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchboard-keys-'));
  const [rsa, p256, p384, p521, ed] = await Promise.all([
    generateKeyPair('RS256', { extractable: true }),
    generateKeyPair('ES256', { extractable: true }),
    generateKeyPair('ES384', { extractable: true }),
    generateKeyPair('ES512', { extractable: true }),
    generateKeyPair('EdDSA', { extractable: true }),
  ]);
  file.rsa = write('rsa.pem', await exportSPKI(rsa.publicKey));
  file.p256 = write('p256.pem', await exportSPKI(p256.publicKey));
  file.p384 = write('p384.pem', await exportSPKI(p384.publicKey));
  file.p521 = write('p521.pem', await exportSPKI(p521.publicKey));
  file.ed = write('ed.pem', await exportSPKI(ed.publicKey));
  file.cert = write('cert.pem', CERT_PEM);
  file.private = write('private.pem', await exportPKCS8(rsa.privateKey));
  file.garbage = write('garbage.pem', 'this is not a key\n');
  const small = generateKeyPairSync('rsa', { modulusLength: 1024 });
  file.small = write('small.pem', small.publicKey.export({ type: 'spki', format: 'pem' }).toString());
  const secp256k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' });
  file.k1 = write('k1.pem', secp256k1.publicKey.export({ type: 'spki', format: 'pem' }).toString());
  file.jwks = write('jwks.json', JSON.stringify({ keys: [{ ...(await exportJWK(rsa.publicKey)), kid: 'k1' }] }));
  file.notJson = write('not-json.json', '{ keys: ');
  file.notJwks = write('not-jwks.json', JSON.stringify({ foo: 1 }));
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('hasAnyKey', () => {
  it('is false with nothing configured and true with any key source', () => {
    expect(hasAnyKey(config())).toBe(false);
    expect(hasAnyKey(config({ secret: '' }))).toBe(false);
    expect(hasAnyKey(config({ secret: 's' }))).toBe(true);
    expect(hasAnyKey(config({ publicKeys: ['/k.pem'] }))).toBe(true);
    expect(hasAnyKey(config({ jwks: 'https://idp.example/jwks.json' }))).toBe(true);
  });
});

describe('loadKeys', () => {
  it('returns an empty set with nothing configured', async () => {
    expect(await loadKeys(config())).toEqual({ keys: [], ignored: [] });
  });

  it('turns the secret into bytes for HS256/384/512', async () => {
    const set = await loadKeys(config({ secret: 'sécret' }));
    expect(set.keys).toHaveLength(1);
    const [key] = set.keys;
    expect(key?.key).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(key?.key as Uint8Array).toString('utf8')).toBe('sécret');
    expect([...(key?.algorithms ?? [])]).toEqual(['HS256', 'HS384', 'HS512']);
    expect(key?.source).toBe('jwt.secret');
    expect(key?.kid).toBeUndefined();
  });

  it.each([
    ['rsa', ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512']],
    ['p256', ['ES256']],
    ['p384', ['ES384']],
    ['p521', ['ES512']],
    ['ed', ['EdDSA']],
    ['cert', ['ES256']],
  ])('tags the %s PEM with the algorithms it can verify', async (name, algorithms) => {
    const set = await loadKeys(config({ publicKeys: [pemPath(name)] }));
    expect(set.keys).toHaveLength(1);
    const [key] = set.keys;
    expect(key?.key).toBeInstanceOf(KeyObject);
    expect((key?.key as KeyObject).type).toBe('public');
    expect([...(key?.algorithms ?? [])]).toEqual(algorithms);
    expect(key?.kid).toBeUndefined();
    expect(key?.source).toBe(pemPath(name));
  });

  it('intersects with the configured algorithms and reports keys left with none', async () => {
    const set = await loadKeys(
      config({ secret: 's', publicKeys: [pemPath('rsa'), pemPath('p256')], algorithms: ['RS256', 'PS512'] }),
    );
    expect(set.keys).toHaveLength(1);
    expect([...(set.keys[0]?.algorithms ?? [])]).toEqual(['RS256', 'PS512']);
    expect(set.ignored).toHaveLength(2);
    expect(set.ignored[0]).toContain('jwt.secret');
    expect(set.ignored[1]).toContain(pemPath('p256'));
  });

  it('keeps the order of the configured files', async () => {
    const set = await loadKeys(config({ publicKeys: [pemPath('ed'), pemPath('rsa'), pemPath('p384')] }));
    expect(set.keys.map((k) => k.source)).toEqual([pemPath('ed'), pemPath('rsa'), pemPath('p384')]);
  });

  it.each([
    ['a missing file', () => path.join(dir, 'missing.pem'), /cannot read file \(ENOENT\)/],
    ['a file that is not PEM', () => pemPath('garbage'), /not a PEM public key or X.509 certificate/],
    ['a private key', () => pemPath('private'), /contains a private key/],
    ['an RSA key under 2048 bits', () => pemPath('small'), /RSA key is 1024 bits/],
    ['an unsupported curve', () => pemPath('k1'), /unsupported EC curve secp256k1/],
  ])('rejects %s, naming the config key and the file', async (_label, pick, why) => {
    const bad = pick();
    const load = loadKeys(config({ publicKeys: [pemPath('rsa'), bad] }));
    await expect(load).rejects.toThrow(why);
    await expect(load).rejects.toThrow(`jwt.publicKeys: ${bad}`);
  });

  it('does not put key material in its errors', async () => {
    const privatePem = fs.readFileSync(pemPath('private'), 'utf8');
    const body = privatePem.split('\n')[1] ?? '';
    const error = await loadKeys(config({ publicKeys: [pemPath('private')] })).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).not.toContain(body);
  });
});

describe('loadKeys: jwks', () => {
  it('loads a JWKS file as a local set that resolves by kid', async () => {
    const set = await loadKeys(config({ jwks: pemPath('jwks') }));
    expect(set.jwks?.remote).toBe(false);
    expect(set.jwks?.source).toBe(pemPath('jwks'));
    const key = await set.jwks?.resolve({ alg: 'RS256', kid: 'k1' });
    expect(key?.type).toBe('public');
    await expect(set.jwks?.resolve({ alg: 'RS256', kid: 'other' })).rejects.toMatchObject({
      code: 'ERR_JWKS_NO_MATCHING_KEY',
    });
  });

  it.each([
    ['a missing file', () => path.join(dir, 'missing.json'), /cannot read file \(ENOENT\)/],
    ['invalid JSON', () => pemPath('notJson'), /not valid JSON/],
    ['JSON that is not a key set', () => pemPath('notJwks'), /not a JSON Web Key Set/],
  ])('rejects %s, naming jwt.jwks and the file', async (_label, pick, why) => {
    const bad = pick();
    const load = loadKeys(config({ jwks: bad }));
    await expect(load).rejects.toThrow(why);
    await expect(load).rejects.toThrow(`jwt.jwks: ${bad}`);
  });

  it.each(['https://idp.example/.well-known/jwks.json', 'http://127.0.0.1:9/jwks', 'http://localhost/jwks', 'http://[::1]:8/j'])(
    'accepts the URL %s as a remote set without fetching it yet',
    async (url) => {
      const set = await loadKeys(config({ jwks: url }));
      expect(set.jwks?.remote).toBe(true);
      expect(set.jwks?.source).toBe(new URL(url).href);
    },
  );

  it.each(['http://idp.example/jwks.json', 'http://10.0.0.1/jwks.json', 'ftp://idp.example/jwks.json', 'https://'])(
    'rejects the URL %s',
    async (url) => {
      await expect(loadKeys(config({ jwks: url }))).rejects.toThrow(/^jwt\.jwks: /);
    },
  );
});
