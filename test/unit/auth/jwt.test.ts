import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
  CompactSign,
  SignJWT,
  base64url,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  type CryptoKey,
  type JWK,
  type JWTPayload,
} from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JwtAuthenticator } from '../../../src/auth/jwt.js';
import { loadKeys } from '../../../src/auth/keys.js';
import type { AuthOutcome } from '../../../src/auth/types.js';
import { DEFAULTS, type JwtConfig } from '../../../src/config/defaults.js';

const SECRET = 'hs-secret-for-tests-0123456789abcdef';
const SECRET_BYTES = new TextEncoder().encode(SECRET);

// A fixed self-signed P-256 certificate and its key: jose cannot mint certificates.
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
const CERT_KEY_PEM = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgo17sqnllB2j7cBDq
TgFlpQJEDasvwGO4muQLSkFO36ehRANCAARLBieRyrgQmHBRlnY2q1idqcugObXA
YSGOtYBtX/rmvKl6gyKZr/ifS3YBAlWe/GbrbvHKTo9/jrmYffLmqxNS
-----END PRIVATE KEY-----
`;

interface Pair {
  publicKey: CryptoKey;
  privateKey: CryptoKey;
}

let dir: string;
let rsa: Pair;
let rsaOther: Pair;
let ec: Pair;
let ed: Pair;
const pem: Record<'rsa' | 'rsaOther' | 'ec' | 'ed' | 'cert', string> = {
  rsa: '',
  rsaOther: '',
  ec: '',
  ed: '',
  cert: '',
};

let server: http.Server;
let baseUrl: string;
let jwksBody = '';

const now = (): number => Math.floor(Date.now() / 1000);

function config(overrides: Partial<JwtConfig> = {}): JwtConfig {
  return { ...DEFAULTS.jwt, claims: { ...DEFAULTS.jwt.claims }, publicKeys: [], ...overrides };
}

async function authenticator(overrides: Partial<JwtConfig> = {}): Promise<JwtAuthenticator> {
  const cfg = config(overrides);
  return new JwtAuthenticator(cfg, await loadKeys(cfg, { jwksTimeoutMs: 1000 }));
}

async function sign(
  key: CryptoKey | Uint8Array,
  alg: string,
  claims: JWTPayload = {},
  kid?: string,
): Promise<string> {
  return new SignJWT({ sub: 'alice', exp: now() + 300, ...claims })
    .setProtectedHeader(kid === undefined ? { alg } : { alg, kid })
    .sign(key);
}

function verify(auth: JwtAuthenticator, token: string, realm?: string): Promise<AuthOutcome> {
  return auth.verify(realm === undefined ? { token, authmethod: 'jwt' } : { token, authmethod: 'jwt', realm });
}

function expectDeny(outcome: AuthOutcome, message: string | RegExp): void {
  expect(outcome.kind).toBe('deny');
  if (outcome.kind !== 'deny') return;
  if (typeof message === 'string') expect(outcome.message).toBe(message);
  else expect(outcome.message).toMatch(message);
}

function expectAccept(outcome: AuthOutcome): asserts outcome is Extract<AuthOutcome, { kind: 'accept' }> {
  expect(outcome, JSON.stringify(outcome)).toMatchObject({ kind: 'accept' });
}

function writeFile(name: string, content: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, content);
  return file;
}

async function jwk(key: CryptoKey, kid?: string): Promise<JWK> {
  const exported = await exportJWK(key);
  return kid === undefined ? exported : { ...exported, kid };
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchboard-jwt-'));
  [rsa, rsaOther, ec, ed] = await Promise.all([
    generateKeyPair('RS256', { extractable: true }),
    generateKeyPair('RS256', { extractable: true }),
    generateKeyPair('ES256', { extractable: true }),
    generateKeyPair('EdDSA', { extractable: true }),
  ]);
  pem.rsa = writeFile('rsa.pem', await exportSPKI(rsa.publicKey));
  pem.rsaOther = writeFile('rsa-other.pem', await exportSPKI(rsaOther.publicKey));
  pem.ec = writeFile('ec.pem', await exportSPKI(ec.publicKey));
  pem.ed = writeFile('ed.pem', await exportSPKI(ed.publicKey));
  pem.cert = writeFile('cert.pem', CERT_PEM);

  jwksBody = JSON.stringify({ keys: [await jwk(rsa.publicKey, 'rsa-1'), await jwk(ec.publicKey, 'ec-1')] });
  server = http.createServer((req, res) => {
    if (req.url === '/jwks.json') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(jwksBody);
    } else if (req.url === '/hang') {
      // Never answers: exercises the JWKS timeout.
    } else {
      res.writeHead(500).end('boom');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('JwtAuthenticator: keys', () => {
  it('accepts an HS256 token and builds the principal', async () => {
    const auth = await authenticator({ secret: SECRET });
    const exp = now() + 120;
    const outcome = await verify(auth, await sign(SECRET_BYTES, 'HS256', { exp, extra: 1 }));
    expectAccept(outcome);
    expect(outcome.principal).toEqual({
      authid: 'alice',
      authrole: 'user',
      authmethod: 'jwt',
      authprovider: 'jwt',
      expiresAt: exp,
      claims: { sub: 'alice', exp, extra: 1 },
    });
  });

  it('accepts HS384 and HS512 with the same secret', async () => {
    const auth = await authenticator({ secret: SECRET });
    expectAccept(await verify(auth, await sign(SECRET_BYTES, 'HS384')));
    expectAccept(await verify(auth, await sign(SECRET_BYTES, 'HS512')));
  });

  it('records the authmethod it was asked with', async () => {
    const auth = await authenticator({ secret: SECRET });
    const outcome = await auth.verify({ token: await sign(SECRET_BYTES, 'HS256'), authmethod: 'ticket' });
    expectAccept(outcome);
    expect(outcome.principal.authmethod).toBe('ticket');
  });

  it('accepts RS256 and PS256 tokens via an RSA PEM', async () => {
    const auth = await authenticator({ publicKeys: [pem.rsa] });
    expectAccept(await verify(auth, await sign(rsa.privateKey, 'RS256')));
    const ps = await generateKeyPair('PS256', { extractable: true });
    const psAuth = await authenticator({ publicKeys: [writeFile('ps.pem', await exportSPKI(ps.publicKey))] });
    expectAccept(await verify(psAuth, await sign(ps.privateKey, 'PS256')));
  });

  it('accepts an ES256 token via an EC PEM', async () => {
    const auth = await authenticator({ publicKeys: [pem.ec] });
    expectAccept(await verify(auth, await sign(ec.privateKey, 'ES256')));
  });

  it('accepts an EdDSA token via an Ed25519 PEM', async () => {
    const auth = await authenticator({ publicKeys: [pem.ed] });
    expectAccept(await verify(auth, await sign(ed.privateKey, 'EdDSA')));
  });

  it('accepts an ES256 token via an X.509 certificate PEM', async () => {
    const { importPKCS8 } = await import('jose');
    const key = await importPKCS8(CERT_KEY_PEM, 'ES256');
    const auth = await authenticator({ publicKeys: [pem.cert] });
    expectAccept(await verify(auth, await sign(key, 'ES256')));
  });

  it('finds the right PEM when it is not the first', async () => {
    const auth = await authenticator({ publicKeys: [pem.rsaOther, pem.ec, pem.ed, pem.rsa] });
    expectAccept(await verify(auth, await sign(rsa.privateKey, 'RS256')));
    expectAccept(await verify(auth, await sign(ed.privateKey, 'EdDSA')));
  });

  it('accepts each kind of token when a secret and public keys are configured together', async () => {
    const auth = await authenticator({ secret: SECRET, publicKeys: [pem.rsa, pem.ec] });
    expectAccept(await verify(auth, await sign(SECRET_BYTES, 'HS256')));
    expectAccept(await verify(auth, await sign(rsa.privateKey, 'RS256')));
    expectAccept(await verify(auth, await sign(ec.privateKey, 'ES256')));
  });

  it('denies an alg no configured key can verify', async () => {
    const auth = await authenticator({ publicKeys: [pem.ec] });
    expectDeny(await verify(auth, await sign(rsa.privateKey, 'RS256')), 'no configured key fits alg RS256');
    const es384 = await generateKeyPair('ES384');
    expectDeny(await verify(auth, await sign(es384.privateKey, 'ES384')), 'no configured key fits alg ES384');
  });

  it('does not let an HS256 token signed with the public key PEM pass (algorithm confusion)', async () => {
    const auth = await authenticator({ publicKeys: [pem.rsa] });
    const forged = await sign(fs.readFileSync(pem.rsa), 'HS256');
    expectDeny(await verify(auth, forged), 'no configured key fits alg HS256');
  });
});

describe('JwtAuthenticator: JWKS', () => {
  it('accepts tokens via a JWKS file, selecting by kid', async () => {
    const file = writeFile('jwks.json', jwksBody);
    const auth = await authenticator({ jwks: file });
    expectAccept(await verify(auth, await sign(rsa.privateKey, 'RS256', {}, 'rsa-1')));
    expectAccept(await verify(auth, await sign(ec.privateKey, 'ES256', {}, 'ec-1')));
  });

  it('denies a kid the JWKS does not hold', async () => {
    const auth = await authenticator({ jwks: writeFile('jwks-kid.json', jwksBody) });
    expectDeny(await verify(auth, await sign(rsa.privateKey, 'RS256', {}, 'nope')), /no configured key fits alg RS256/);
  });

  it('tries every JWKS key that matches when tokens carry no kid', async () => {
    const body = JSON.stringify({ keys: [await jwk(rsaOther.publicKey), await jwk(rsa.publicKey)] });
    const auth = await authenticator({ jwks: writeFile('jwks-nokid.json', body) });
    expectAccept(await verify(auth, await sign(rsa.privateKey, 'RS256')));
  });

  it('accepts a token via a JWKS URL', async () => {
    const auth = await authenticator({ jwks: `${baseUrl}/jwks.json` });
    expectAccept(await verify(auth, await sign(ec.privateKey, 'ES256', {}, 'ec-1')));
    expectAccept(await verify(auth, await sign(rsa.privateKey, 'RS256', {}, 'rsa-1')));
  });

  it('reports an unreachable JWKS URL as failed, not denied', async () => {
    const auth = await authenticator({ jwks: 'http://127.0.0.1:1/jwks.json' });
    const outcome = await verify(auth, await sign(rsa.privateKey, 'RS256', {}, 'rsa-1'));
    expect(outcome.kind).toBe('failed');
    if (outcome.kind === 'failed') expect(outcome.message).toMatch(/^could not fetch JWKS/);
  });

  it('reports a refused connection to the JWKS URL as failed', async () => {
    // A port that was free a moment ago: nothing listens there now.
    const probe = http.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const auth = await authenticator({ jwks: `http://127.0.0.1:${port}/jwks.json` });
    const outcome = await verify(auth, await sign(rsa.privateKey, 'RS256'));
    expect(outcome).toEqual({ kind: 'failed', message: 'could not fetch JWKS (ECONNREFUSED)' });
  });

  it('reports a JWKS URL answering 500 as failed', async () => {
    const auth = await authenticator({ jwks: `${baseUrl}/broken` });
    const outcome = await verify(auth, await sign(rsa.privateKey, 'RS256'));
    expect(outcome).toMatchObject({ kind: 'failed', message: expect.stringMatching(/^could not fetch JWKS/) });
  });

  it('reports a JWKS URL that times out as failed', async () => {
    const cfg = config({ jwks: `${baseUrl}/hang` });
    const auth = new JwtAuthenticator(cfg, await loadKeys(cfg, { jwksTimeoutMs: 100 }));
    const outcome = await verify(auth, await sign(rsa.privateKey, 'RS256'));
    expect(outcome).toEqual({ kind: 'failed', message: 'could not fetch JWKS (request timed out)' });
  });

  it('still accepts a PEM-verified token when the JWKS URL is down', async () => {
    const auth = await authenticator({ publicKeys: [pem.rsa], jwks: 'http://127.0.0.1:1/jwks.json' });
    expectAccept(await verify(auth, await sign(rsa.privateKey, 'RS256')));
  });

  it('never sends HS tokens to the JWKS', async () => {
    const auth = await authenticator({ jwks: 'http://127.0.0.1:1/jwks.json' });
    expectDeny(await verify(auth, await sign(SECRET_BYTES, 'HS256')), 'no configured key fits alg HS256');
  });
});

describe('JwtAuthenticator: refusals', () => {
  it('denies an expired token, within clock tolerance accepts it', async () => {
    const token = await sign(SECRET_BYTES, 'HS256', { exp: now() - 10 });
    expectDeny(await verify(await authenticator({ secret: SECRET }), token), 'token expired');
    expectAccept(await verify(await authenticator({ secret: SECRET, clockToleranceSec: 60 }), token));
  });

  it('denies a token whose nbf is in the future', async () => {
    const auth = await authenticator({ secret: SECRET });
    expectDeny(await verify(auth, await sign(SECRET_BYTES, 'HS256', { nbf: now() + 600 })), 'token not yet valid');
  });

  it('denies a bad signature', async () => {
    const auth = await authenticator({ secret: SECRET, publicKeys: [pem.rsa] });
    expectDeny(await verify(auth, await sign(rsaOther.privateKey, 'RS256')), 'signature verification failed');
    const wrongSecret = new TextEncoder().encode('some-other-secret-0123456789abcdef');
    expectDeny(await verify(auth, await sign(wrongSecret, 'HS256')), 'signature verification failed');
  });

  it('denies a token whose payload was altered after signing', async () => {
    const auth = await authenticator({ secret: SECRET });
    const [h, , s] = (await sign(SECRET_BYTES, 'HS256')).split('.');
    const payload = base64url.encode(JSON.stringify({ sub: 'admin', exp: now() + 300 }));
    expectDeny(await verify(auth, `${h}.${payload}.${s}`), 'signature verification failed');
  });

  it.each(['none', 'NONE', 'None'])('denies alg %s', async (alg) => {
    const auth = await authenticator({ secret: SECRET });
    const header = base64url.encode(JSON.stringify({ alg, typ: 'JWT' }));
    const payload = base64url.encode(JSON.stringify({ sub: 'alice', exp: now() + 300 }));
    expectDeny(await verify(auth, `${header}.${payload}.`), `alg '${alg}' is not accepted`);
  });

  it('denies an alg that is not in the configured list', async () => {
    const auth = await authenticator({ secret: SECRET, publicKeys: [pem.rsa], algorithms: ['RS256'] });
    expectDeny(await verify(auth, await sign(SECRET_BYTES, 'HS256')), "alg 'HS256' is not accepted");
    expectAccept(await verify(auth, await sign(rsa.privateKey, 'RS256')));
  });

  it('denies a wrong or missing audience', async () => {
    const auth = await authenticator({ secret: SECRET, audience: 'switchboard' });
    expectAccept(await verify(auth, await sign(SECRET_BYTES, 'HS256', { aud: ['other', 'switchboard'] })));
    expectDeny(await verify(auth, await sign(SECRET_BYTES, 'HS256', { aud: 'other' })), "token claim 'aud' check failed");
    expectDeny(await verify(auth, await sign(SECRET_BYTES, 'HS256')), "token claim 'aud' is missing");
  });

  it('denies a wrong issuer', async () => {
    const auth = await authenticator({ secret: SECRET, issuer: 'https://idp.example' });
    expectAccept(await verify(auth, await sign(SECRET_BYTES, 'HS256', { iss: 'https://idp.example' })));
    expectDeny(
      await verify(auth, await sign(SECRET_BYTES, 'HS256', { iss: 'https://evil.example' })),
      "token claim 'iss' check failed",
    );
  });

  it('denies a token without a usable sub', async () => {
    const auth = await authenticator({ secret: SECRET });
    expectDeny(await verify(auth, await sign(SECRET_BYTES, 'HS256', { sub: undefined })), "token has no 'sub' claim");
    expectDeny(await verify(auth, await sign(SECRET_BYTES, 'HS256', { sub: '' })), "token has no 'sub' claim");
  });

  it.each([
    ['not-a-token'],
    ['a.b.c'],
    [''],
    ['....'],
    ['eyJhbGciOiJIUzI1NiJ9.e30'],
    ['eyJhbGciOiJIUzI1NiJ9..sig.x.y'],
  ])('denies the garbage token %j as malformed', async (token) => {
    const auth = await authenticator({ secret: SECRET });
    expectDeny(await verify(auth, token), 'malformed token');
  });

  it('denies a validly signed token whose payload is not a JSON object', async () => {
    const auth = await authenticator({ secret: SECRET });
    const token = await new CompactSign(new TextEncoder().encode('[1,2]'))
      .setProtectedHeader({ alg: 'HS256' })
      .sign(SECRET_BYTES);
    expectDeny(await verify(auth, token), 'malformed token');
  });

  it('never puts the secret or the token in a message', async () => {
    const auth = await authenticator({ secret: SECRET, audience: 'aud', issuer: 'iss' });
    const tokens = [
      await sign(SECRET_BYTES, 'HS256', { exp: now() - 10, aud: 'aud', iss: 'iss' }),
      await sign(SECRET_BYTES, 'HS256', { aud: 'x', iss: 'iss' }),
      await sign(SECRET_BYTES, 'HS256', { aud: 'aud', iss: 'x' }),
      await sign(new TextEncoder().encode(`${SECRET}-wrong`), 'HS256', { aud: 'aud', iss: 'iss' }),
      await sign(SECRET_BYTES, 'HS256', { aud: 'aud', iss: 'iss', sub: 42 as unknown as string }),
      `${SECRET}.${SECRET}.${SECRET}`,
    ];
    for (const token of tokens) {
      const outcome = await verify(auth, token);
      expect(outcome.kind).toBe('deny');
      if (outcome.kind !== 'deny') continue;
      expect(outcome.message).not.toContain(SECRET);
      expect(outcome.message).not.toContain(token);
    }
  });
});

describe('JwtAuthenticator: claim mapping', () => {
  it('takes the role from the role claim, else the default role', async () => {
    const auth = await authenticator({ secret: SECRET, defaultRole: 'guest' });
    const withRole = await verify(auth, await sign(SECRET_BYTES, 'HS256', { role: 'admin' }));
    expectAccept(withRole);
    expect(withRole.principal.authrole).toBe('admin');
    for (const role of [undefined, '', 7, ['admin']]) {
      const outcome = await verify(auth, await sign(SECRET_BYTES, 'HS256', { role }));
      expectAccept(outcome);
      expect(outcome.principal.authrole).toBe('guest');
    }
  });

  it('checks the realm claim against the requested realm', async () => {
    const auth = await authenticator({ secret: SECRET });
    const token = await sign(SECRET_BYTES, 'HS256', { realm: 'realm1' });
    const same = await verify(auth, token, 'realm1');
    expectAccept(same);
    expect(same.principal.realm).toBe('realm1');
    expectDeny(await verify(auth, token, 'other'), "token is for realm 'realm1'");
    // No realm asked for: the token's realm is reported, for the caller to use.
    const unasked = await verify(auth, token);
    expectAccept(unasked);
    expect(unasked.principal.realm).toBe('realm1');
    // No realm claim: any realm.
    const free = await verify(auth, await sign(SECRET_BYTES, 'HS256'), 'anything');
    expectAccept(free);
    expect(free.principal.realm).toBeUndefined();
  });

  it('denies a realm claim that is not a string rather than ignoring it', async () => {
    const auth = await authenticator({ secret: SECRET });
    expectDeny(
      await verify(auth, await sign(SECRET_BYTES, 'HS256', { realm: ['realm1'] }), 'realm1'),
      "token claim 'realm' is not a string",
    );
  });

  it('uses custom claim names', async () => {
    const auth = await authenticator({
      secret: SECRET,
      claims: { authid: 'email', authrole: 'https://example.com/role', realm: 'tenant' },
    });
    const token = await sign(SECRET_BYTES, 'HS256', {
      sub: 'ignored',
      email: 'bob@example.com',
      'https://example.com/role': 'operator',
      tenant: 'acme',
      role: 'ignored',
      realm: 'ignored',
    });
    const outcome = await verify(auth, token, 'acme');
    expectAccept(outcome);
    expect(outcome.principal).toMatchObject({ authid: 'bob@example.com', authrole: 'operator', realm: 'acme' });
    expectDeny(await verify(auth, token, 'ignored'), "token is for realm 'acme'");
    expectDeny(await verify(auth, await sign(SECRET_BYTES, 'HS256')), "token has no 'email' claim");
  });
});
