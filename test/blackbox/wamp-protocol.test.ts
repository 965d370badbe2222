/**
 * The router's WAMP wire behaviour, checked byte-near with a raw client: negotiation, the handshake, WELCOME
 * contents, error URIs, and bad input getting ABORT `wamp.error.protocol_violation` while other sessions
 * carry on.
 */
import { request } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { RawWamp } from '../helpers/raw-wamp.js';
import { startTestRouter, type TestRouter } from '../helpers/router.js';

let router: TestRouter;
const clients: RawWamp[] = [];

beforeEach(async () => {
  router = await startTestRouter({ realms: { strict1: { uriCheck: 'strict' } } });
});

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await router.close();
});

async function session(serialization: 'json' | 'cbor' = 'json', details: Record<string, unknown> = {}) {
  const [client, welcome] = await RawWamp.session(router.url, serialization, details);
  clients.push(client);
  return { client, welcome };
}

async function connect(serialization: 'json' | 'cbor' = 'json') {
  const client = await RawWamp.connect(router.url, serialization);
  clients.push(client);
  return client;
}

/** Opens an upgrade by hand and returns the HTTP status, headers and body the router answered with. */
function upgrade(protocols: string | undefined): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {
      connection: 'Upgrade',
      upgrade: 'websocket',
      'sec-websocket-version': '13',
      'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
    };
    if (protocols !== undefined) headers['sec-websocket-protocol'] = protocols;
    const req = request({ host: '127.0.0.1', port: router.port, path: '/', headers });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: '' });
    });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('subprotocol negotiation', () => {
  it('refuses an unsupported subprotocol with 400 naming the supported ones', async () => {
    const res = await upgrade('mqttv5, stomp');
    expect(res.status).toBe(400);
    expect(res.body).toContain('wamp.2.json');
    expect(res.body).toContain('wamp.2.cbor');
    expect(router.logs.some((line) => line.msg === 'upgrade refused: no supported subprotocol')).toBe(true);
  });

  it('refuses an upgrade that offers no subprotocol', async () => {
    const res = await upgrade(undefined);
    expect(res.status).toBe(400);
    expect(res.body).toContain('wamp.2.json');
  });

  it("picks the first supported subprotocol in the client's order and echoes it", async () => {
    const res = await upgrade('foo, wamp.2.cbor, wamp.2.json');
    expect(res.status).toBe(101);
    expect(res.headers['sec-websocket-protocol']).toBe('wamp.2.cbor');
    const other = await upgrade('wamp.2.json,wamp.2.cbor');
    expect(other.headers['sec-websocket-protocol']).toBe('wamp.2.json');
  });

  it('uses defaultProtocol for a client that offers none, without echoing one', async () => {
    const withDefault = await startTestRouter({ defaultProtocol: 'wamp.2.json' });
    try {
      const ws = new WebSocket(withDefault.url);
      await new Promise((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
      });
      expect(ws.protocol).toBe('');
      ws.send(JSON.stringify([1, 'realm1', { roles: { subscriber: {} } }]));
      const welcome = await new Promise<unknown[]>((resolve) => ws.once('message', (data) => resolve(JSON.parse(String(data)))));
      expect(welcome[0]).toBe(2);
      ws.terminate();
    } finally {
      await withDefault.close();
    }
  });

  it('answers GET /healthz with a small JSON status', async () => {
    const res = await fetch(`http://127.0.0.1:${router.port}/healthz`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body.status).toBe('ok');
    expect(typeof body.connections).toBe('number');
  });
});

describe.each(['json', 'cbor'] as const)('session lifecycle over %s', (serialization) => {
  it('WELCOME carries an integer session id, auth details and the broker and dealer features', async () => {
    const { client, welcome } = await session(serialization);
    expect(welcome[0]).toBe(2);
    expect(Number.isInteger(welcome[1])).toBe(true);
    const details = welcome[2] as Record<string, any>;
    expect(details.authmethod).toBe('anonymous');
    expect(details.authrole).toBe('anonymous');
    expect(details.authprovider).toBe('static');
    expect(typeof details.authid).toBe('string');
    expect(details.roles.broker.features.pattern_based_subscription).toBe(true);
    expect(details.roles.broker.features.publisher_identification).toBe(true);
    expect(details.roles.dealer.features.caller_identification).toBe(true);
    expect(details.roles.dealer.features.pattern_based_registration).toBe(true);
    expect(client.frames[0]).toBe(serialization === 'cbor' ? 'binary' : 'text');
  });

  it('GOODBYE is answered with wamp.close.goodbye_and_out and a clean close', async () => {
    const { client } = await session(serialization);
    client.send([6, {}, 'wamp.close.close_realm']);
    expect(await client.next()).toEqual([6, {}, 'wamp.close.goodbye_and_out']);
    expect((await client.waitClosed()).code).toBe(1000);
  });

  it('GOODBYE with any reason is accepted', async () => {
    const { client } = await session(serialization);
    client.send([6, { message: 'bye' }, 'com.example.whatever']);
    expect((await client.next())[2]).toBe('wamp.close.goodbye_and_out');
  });

  it('an unknown realm gets ABORT wamp.error.no_such_realm', async () => {
    const client = await connect(serialization);
    client.send([1, 'no.such.realm', { roles: { subscriber: {} } }]);
    const abort = await client.next();
    expect(abort[0]).toBe(3);
    expect(abort[2]).toBe('wamp.error.no_such_realm');
  });
});

describe('CBOR ids above 2^32', () => {
  it('are encoded as CBOR integers, never floats', async () => {
    // Session ids are random in [1, 2^53-1], so nearly all need 64 bits; try a few to be sure of one.
    for (let attempt = 0; attempt < 5; attempt++) {
      const { client, welcome } = await session('cbor');
      const id = welcome[1] as number;
      if (id <= 0xffffffff) continue;
      const raw = client.rawFrames[0]!;
      // [2, id, {...}]: 0x83 array(3), 0x02, then the id: 0x1b uint64 (0xfb would be a float64).
      expect(raw[0]).toBe(0x83);
      expect(raw[1]).toBe(0x02);
      expect(raw[2]).toBe(0x1b);
      expect(raw.readBigUInt64BE(3)).toBe(BigInt(id));
      return;
    }
    throw new Error('no session id above 2^32 in 5 tries');
  });
});

describe.each(['json', 'cbor'] as const)('error URIs over %s', (serialization) => {
  it('an invalid topic gets wamp.error.invalid_uri', async () => {
    const { client } = await session(serialization);
    client.send([32, 1, {}, 'bad topic with spaces']);
    expect(await client.next()).toEqual([8, 32, 1, {}, 'wamp.error.invalid_uri', ["invalid topic for match 'exact'"]]);
  });

  it('unknown subscription and registration ids get no_such_subscription and no_such_registration', async () => {
    const { client } = await session(serialization);
    client.send([34, 2, 12345]);
    expect((await client.next()).slice(0, 5)).toEqual([8, 34, 2, {}, 'wamp.error.no_such_subscription']);
    client.send([66, 3, 12345]);
    expect((await client.next()).slice(0, 5)).toEqual([8, 66, 3, {}, 'wamp.error.no_such_registration']);
  });

  it('a strict realm refuses URIs that are only loose', async () => {
    const client = await connect(serialization);
    client.send([1, 'strict1', { roles: { subscriber: {} } }]);
    expect((await client.next())[0]).toBe(2);
    client.send([32, 1, {}, 'com.Example.Topic']);
    expect((await client.next())[4]).toBe('wamp.error.invalid_uri');
    client.send([32, 2, {}, 'com.example.topic']);
    expect((await client.next())[0]).toBe(33);
  });

  it('an unknown match policy gets wamp.error.invalid_argument', async () => {
    const { client } = await session(serialization);
    client.send([32, 1, { match: 'regex' }, 'com.a']);
    expect((await client.next())[4]).toBe('wamp.error.invalid_argument');
  });

  it('a publication with acknowledge gets PUBLISHED with a publication id', async () => {
    const { client } = await session(serialization);
    client.send([16, 7, { acknowledge: true }, 'com.a', [1]]);
    const published = await client.next();
    expect(published[0]).toBe(17);
    expect(published[1]).toBe(7);
    expect(Number.isInteger(published[2])).toBe(true);
  });

  it('subscribers to the same topic share one subscription id', async () => {
    const { client: a } = await session(serialization);
    const { client: b } = await session(serialization);
    a.send([32, 1, {}, 'com.shared']);
    b.send([32, 1, {}, 'com.shared']);
    const [subA, subB] = [await a.next(), await b.next()];
    expect(subA[2]).toBe(subB[2]);
    b.send([32, 2, { match: 'prefix' }, 'com.shared']);
    expect((await b.next())[2]).not.toBe(subA[2]);
  });
});

describe.each(['json', 'cbor'] as const)('bad input over %s', (serialization) => {
  async function expectViolation(client: RawWamp) {
    const abort = await client.next();
    expect(abort[0]).toBe(3);
    expect(abort[2]).toBe('wamp.error.protocol_violation');
    expect(typeof (abort[1] as Record<string, unknown>).message).toBe('string');
    expect((await client.waitClosed()).code).toBe(1002);
  }

  it('undecodable bytes get ABORT protocol_violation, while another session carries on', async () => {
    const { client: bystander } = await session(serialization);
    bystander.send([32, 1, {}, 'com.still.alive']);
    await bystander.next();
    const { client: bad } = await session(serialization);
    bad.sendRaw(serialization === 'json' ? '[1, "realm1", {' : Buffer.from([0xff, 0xfe, 0x00]), serialization === 'cbor');
    await expectViolation(bad);
    expect(router.logs.some((line) => line.msg === 'protocol violation' && line.conn !== undefined)).toBe(true);

    const { client: publisher } = await session(serialization);
    publisher.send([16, 1, {}, 'com.still.alive', ['yes']]);
    const event = await bystander.next();
    expect(event[0]).toBe(36);
    expect(event[4]).toEqual(['yes']);
  });

  it('a message before HELLO is a protocol violation', async () => {
    const client = await connect(serialization);
    client.send([32, 1, {}, 'com.a']);
    await expectViolation(client);
  });

  it('a second HELLO is a protocol violation', async () => {
    const { client } = await session(serialization);
    client.send([1, 'realm1', {}]);
    await expectViolation(client);
  });

  it('a message that is not a list, or has an unknown type, is a protocol violation', async () => {
    const { client: a } = await session(serialization);
    a.send({ hello: 'world' });
    await expectViolation(a);
    const { client: b } = await session(serialization);
    b.send([999, 1]);
    await expectViolation(b);
  });

  it('a router-to-client message type sent by a client is a protocol violation', async () => {
    const { client } = await session(serialization);
    client.send([36, 1, 2, {}]);
    await expectViolation(client);
  });

  it('a request id outside [1, 2^53-1] is a protocol violation', async () => {
    const { client } = await session(serialization);
    client.send([32, 0, {}, 'com.a']);
    await expectViolation(client);
  });

  it('a wrong field type is a protocol violation', async () => {
    const { client } = await session(serialization);
    client.send([48, 1, 'not-a-dict', 'com.a']);
    await expectViolation(client);
  });

  it('ERROR for anything but an INVOCATION is a protocol violation', async () => {
    const { client } = await session(serialization);
    client.send([8, 48, 1, {}, 'com.err']);
    await expectViolation(client);
  });
});

describe('message size limit', () => {
  it('closes with 1009 when a message exceeds limits.maxMessageSize, and logs it', async () => {
    const small = await startTestRouter({ limits: { maxMessageSize: 2048 } });
    try {
      const [client] = await RawWamp.session(small.url, 'json');
      client.send([16, 1, {}, 'com.big', ['x'.repeat(4096)]]);
      expect((await client.waitClosed()).code).toBe(1009);
      expect(small.logs.some((line) => line.msg === 'connection closed' && line.code === 1009)).toBe(true);
      client.close();
    } finally {
      await small.close();
    }
  });
});
