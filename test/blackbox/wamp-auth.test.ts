/**
 * JWT login over WAMP, black-box: the ticket method (CHALLENGE/AUTHENTICATE), a token on the upgrade
 * (Authorization header, access_token query parameter, cookie), every key kind, and every refusal.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import autobahn from 'autobahn';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RawWamp } from '../helpers/raw-wamp.js';
import { startTestRouter, type ConfigPatch, type TestRouter } from '../helpers/router.js';
import { hs256, makeKeyFiles, SECRET, sign, unsignedToken, type KeyFiles } from '../helpers/tokens.js';

let keys: KeyFiles;
let jwksServer: Server;
let jwksUrl: string;
let router: TestRouter | undefined;
const clients: RawWamp[] = [];

beforeAll(async () => {
  keys = await makeKeyFiles();
  jwksServer = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(keys.jwksJson);
  });
  await new Promise<void>((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
  jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks.json`;
});

afterAll(async () => {
  keys.cleanup();
  await new Promise((resolve) => jwksServer.close(resolve));
});

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await router?.close();
  router = undefined;
});

async function start(patch: ConfigPatch): Promise<TestRouter> {
  router = await startTestRouter({ allowAnonymous: false, ...patch });
  return router;
}

/** Runs HELLO(ticket) + AUTHENTICATE(token) with a raw client; returns WELCOME or ABORT. */
async function ticketLogin(token: string, realm = 'realm1'): Promise<unknown[]> {
  const client = await RawWamp.connect(router!.url, 'json');
  clients.push(client);
  client.send([1, realm, { roles: { caller: {} }, authmethods: ['ticket'], authid: 'alice' }]);
  const challenge = await client.next();
  if (challenge[0] !== 4) return challenge;
  expect(challenge).toEqual([4, 'ticket', {}]);
  client.send([5, token, {}]);
  return client.next();
}

/** Opens the upgrade with the token placed as the test says, then HELLO without authmethods. */
async function upgradeLogin(url: string, headers: Record<string, string> = {}): Promise<unknown[]> {
  const client = await RawWamp.connect(url, 'json', headers);
  clients.push(client);
  client.send([1, 'realm1', { roles: { caller: {} } }]);
  return client.next();
}

function expectWelcome(message: unknown[], authid: string, authmethod: string, authrole = 'user') {
  expect(message[0]).toBe(2);
  expect(message[2]).toMatchObject({ authid, authrole, authmethod, authprovider: 'jwt' });
}

function expectAbort(message: unknown[], uri: string, messagePart?: string) {
  expect(message[0]).toBe(3);
  expect(message[2]).toBe(uri);
  if (messagePart !== undefined) expect(String((message[1] as Record<string, unknown>).message)).toContain(messagePart);
}

describe('ticket login with each kind of key', () => {
  it('HS256 secret', async () => {
    await start({ jwt: { secret: SECRET } });
    expectWelcome(await ticketLogin(await hs256({ claims: { role: 'operator' } })), 'alice', 'ticket', 'operator');
  });

  it('RS256, ES256 and EdDSA PEM public keys, several files with the right one anywhere', async () => {
    await start({ jwt: { publicKeys: [keys.ec.pem, keys.ed.pem, keys.rsa.pem] } });
    expectWelcome(await ticketLogin(await sign(keys.rsa.privateKey, 'RS256', { sub: 'rsa-user' })), 'rsa-user', 'ticket');
    expectWelcome(await ticketLogin(await sign(keys.ec.privateKey, 'ES256', { sub: 'ec-user' })), 'ec-user', 'ticket');
    expectWelcome(await ticketLogin(await sign(keys.ed.privateKey, 'EdDSA', { sub: 'ed-user' })), 'ed-user', 'ticket');
  });

  it('a JWKS file, and a JWKS URL', async () => {
    await start({ jwt: { jwks: keys.jwksFile } });
    expectWelcome(await ticketLogin(await sign(keys.jwksPrivate, 'RS256', { kid: 'jwks-1' })), 'alice', 'ticket');
    await router!.close();
    await start({ jwt: { jwks: jwksUrl } });
    expectWelcome(await ticketLogin(await sign(keys.jwksPrivate, 'RS256', { kid: 'jwks-1', sub: 'bob' })), 'bob', 'ticket');
  });

  it('a secret and public keys together accept both kinds of token', async () => {
    await start({ jwt: { secret: SECRET, publicKeys: [keys.rsa.pem] } });
    expectWelcome(await ticketLogin(await hs256()), 'alice', 'ticket');
    expectWelcome(await ticketLogin(await sign(keys.rsa.privateKey, 'RS256', { sub: 'r' })), 'r', 'ticket');
  });

  it('autobahn-js logs in with ticket', async () => {
    await start({ jwt: { secret: SECRET } });
    const token = await hs256({ sub: 'carol', claims: { role: 'device' } });
    const details = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const connection = new autobahn.Connection({
        url: router!.url,
        realm: 'realm1',
        authmethods: ['ticket'],
        authid: 'carol',
        onchallenge: () => token,
        max_retries: 0,
      });
      connection.onopen = (_session: unknown, welcome: Record<string, unknown>) => {
        resolve(welcome);
        connection.close();
      };
      connection.onclose = (reason: string, info: Record<string, unknown>) => {
        reject(new Error(`closed: ${reason} ${JSON.stringify(info)}`));
        return true;
      };
      connection.open();
    });
    expect(details).toMatchObject({ authid: 'carol', authrole: 'device', authmethod: 'ticket', authprovider: 'jwt' });
  });
});

describe('token on the WebSocket upgrade', () => {
  it('Authorization: Bearer, the access_token query parameter and the cookie all log in with authmethod jwt', async () => {
    await start({ jwt: { secret: SECRET } });
    const token = await hs256({ sub: 'browser' });
    expectWelcome(await upgradeLogin(router!.url, { authorization: `Bearer ${token}` }), 'browser', 'jwt');
    expectWelcome(await upgradeLogin(`${router!.url}?access_token=${token}`), 'browser', 'jwt');
    expectWelcome(await upgradeLogin(router!.url, { cookie: `other=1; switchboard_token=${token}` }), 'browser', 'jwt');
  });

  it('the cookie name is configurable', async () => {
    await start({ jwt: { secret: SECRET, cookie: 'sb' } });
    const token = await hs256({ sub: 'cookie-user' });
    expectWelcome(await upgradeLogin(router!.url, { cookie: `sb=${token}` }), 'cookie-user', 'jwt');
  });

  it('a bad upgrade token gets ABORT authentication_denied at HELLO', async () => {
    await start({ jwt: { secret: SECRET } });
    const token = await hs256({}, 'another-secret-that-is-long-enough-too!!');
    expectAbort(await upgradeLogin(router!.url, { authorization: `Bearer ${token}` }), 'wamp.error.authentication_denied', 'signature');
  });
});

describe('refusals', () => {
  it('an expired token is denied', async () => {
    await start({ jwt: { secret: SECRET } });
    expectAbort(await ticketLogin(await hs256({ expiresIn: Math.floor(Date.now() / 1000) - 60 })), 'wamp.error.authentication_denied', 'expired');
  });

  it('a token not yet valid is denied', async () => {
    await start({ jwt: { secret: SECRET } });
    expectAbort(await ticketLogin(await hs256({ notBefore: '10m' })), 'wamp.error.authentication_denied');
  });

  it('a bad signature is denied, and the message never leaks the secret', async () => {
    await start({ jwt: { secret: SECRET } });
    const abort = await ticketLogin(await hs256({}, 'another-secret-that-is-long-enough-too!!'));
    expectAbort(abort, 'wamp.error.authentication_denied', 'signature');
    expect(JSON.stringify(abort)).not.toContain(SECRET);
  });

  it('alg none is refused', async () => {
    await start({ jwt: { secret: SECRET } });
    expectAbort(await ticketLogin(unsignedToken()), 'wamp.error.authentication_denied', 'none');
  });

  it('an algorithm outside the configured list is refused', async () => {
    await start({ jwt: { secret: SECRET, publicKeys: [keys.rsa.pem], algorithms: ['HS256'] } });
    expectAbort(await ticketLogin(await sign(keys.rsa.privateKey, 'RS256')), 'wamp.error.authentication_denied', 'RS256');
  });

  it('a wrong audience or issuer is refused', async () => {
    await start({ jwt: { secret: SECRET, audience: 'switchboard', issuer: 'https://issuer.example' } });
    expectWelcome(await ticketLogin(await hs256({ audience: 'switchboard', issuer: 'https://issuer.example' })), 'alice', 'ticket');
    expectAbort(await ticketLogin(await hs256({ audience: 'other', issuer: 'https://issuer.example' })), 'wamp.error.authentication_denied', 'aud');
    expectAbort(await ticketLogin(await hs256({ audience: 'switchboard', issuer: 'https://evil.example' })), 'wamp.error.authentication_denied', 'iss');
  });

  it('a token for another realm is refused', async () => {
    await start({ jwt: { secret: SECRET }, realms: { other: {} } });
    expectAbort(await ticketLogin(await hs256({ claims: { realm: 'other' } })), 'wamp.error.authentication_denied', "realm 'other'");
    expectWelcome(await ticketLogin(await hs256({ claims: { realm: 'other' } }), 'other'), 'alice', 'ticket');
  });

  it('a HELLO without a usable method gets no_matching_auth_method when anonymous is off', async () => {
    await start({ jwt: { secret: SECRET } });
    const client = await RawWamp.connect(router!.url, 'json');
    clients.push(client);
    client.send([1, 'realm1', { roles: { caller: {} } }]);
    expectAbort(await client.next(), 'wamp.error.no_matching_auth_method');
  });

  it('an unreachable JWKS URL is a technical failure: authentication_failed', async () => {
    const dead = createServer();
    await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve));
    const port = (dead.address() as AddressInfo).port;
    await new Promise((resolve) => dead.close(resolve));
    await start({ jwt: { jwks: `http://127.0.0.1:${port}/jwks.json` } });
    expectAbort(await ticketLogin(await sign(keys.jwksPrivate, 'RS256', { kid: 'jwks-1' })), 'wamp.error.authentication_failed');
  });

  it('anonymous is admitted only when configured', async () => {
    await start({ jwt: { secret: SECRET }, allowAnonymous: true, anonymousRole: 'guest' });
    const [client, welcome] = await RawWamp.session(router!.url, 'json', { authmethods: ['anonymous'] });
    clients.push(client);
    expect(welcome[0]).toBe(2);
    expect(welcome[2]).toMatchObject({ authmethod: 'anonymous', authrole: 'guest' });
  });
});
