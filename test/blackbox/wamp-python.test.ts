/**
 * Interoperability with autobahn-python (Debian's python3-autobahn, with python3-cbor2): a real third-party
 * WAMP client, driven as a child process (test/blackbox/python/wamp_client.py), talks to the router over
 * `wamp.2.json` and `wamp.2.cbor`. Over CBOR this also proves that ids above 2^32 (session and publication ids
 * are random up to 2^53) go out as CBOR integers: autobahn-python refuses a WELCOME whose session id is a float.
 *
 * Only /usr/bin/python3 is used (the `python3` on PATH may lack the modules). If autobahn or cbor2 is missing
 * the tests fail, they do not skip: CI installs python3-autobahn and python3-cbor2.
 */
import { fileURLToPath } from 'node:url';
// autobahn-js ships no type declarations; the little used here is typed by AutobahnJs below.
// @ts-ignore
import autobahnModule from 'autobahn';
import { SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { probePython, PYTHON, PythonScripts, type PyChild, type PyRun } from '../helpers/python.js';
import { startTestRouter, type TestRouter } from '../helpers/router.js';

const SCRIPT = fileURLToPath(new URL('./python/wamp_client.py', import.meta.url));
const REALM = 'realm1';
const SECRET = 'x'.repeat(32);
const BIG = 2 ** 40 + 1;
/** The script stops itself after this long; the test kills it a little later as a last resort. */
const SCRIPT_TIMEOUT_SEC = 10;
const KILL_AFTER_MS = (SCRIPT_TIMEOUT_SEC + 3) * 1000;
const SERIALIZERS = ['json', 'cbor'] as const;
type PySerializer = (typeof SERIALIZERS)[number];

// Prerequisite: autobahn-python and cbor2 importable by /usr/bin/python3.
const pythonProblem = probePython('autobahn, cbor2, txaio', 'autobahn.__version__', 'python3-autobahn and python3-cbor2').problem;

const scripts = new PythonScripts(KILL_AFTER_MS);
afterEach(() => scripts.killAll());

function startPython(url: string, serializer: PySerializer, scenario: string, jwt?: string): PyChild {
  if (pythonProblem) throw new Error(pythonProblem);
  return scripts.start([SCRIPT, url, REALM, serializer, scenario, ...(jwt === undefined ? [] : [jwt]), '--timeout', String(SCRIPT_TIMEOUT_SEC)]);
}

function runPython(url: string, serializer: PySerializer, scenario: string, jwt?: string): Promise<PyRun> {
  return startPython(url, serializer, scenario, jwt).done;
}

/** Asserts a successful run, showing the script's own diagnosis when it is not. */
function expectOk(run: PyRun): Record<string, any> {
  expect(run.result, `python said ${JSON.stringify(run.result)}; stderr: ${run.stderr}`).toMatchObject({ ok: true });
  expect(run.code).toBe(0);
  return run.result;
}

function expectWelcome(result: Record<string, any>, serializer: PySerializer): void {
  const welcome = result.welcome as Record<string, unknown>;
  expect(welcome.serializer).toBe(serializer);
  expect(welcome.session_type).toBe('int');
  expect(Number.isSafeInteger(welcome.session)).toBe(true);
  expect(welcome.session as number).toBeGreaterThan(0);
  expect(welcome.realm).toBe(REALM);
}

// ---------------------------------------------------------------------------------------------------------
// The Node side: autobahn-js with JSON.

interface AutobahnSession {
  id: number;
  subscribe(topic: string, handler: (args: unknown[], kwargs: Record<string, unknown>, details: unknown) => void): Promise<unknown>;
  publish(topic: string, args?: unknown[], kwargs?: Record<string, unknown>, options?: Record<string, unknown>): Promise<{ id: number } | undefined>;
  call(procedure: string, args?: unknown[], kwargs?: Record<string, unknown>, options?: Record<string, unknown>): Promise<unknown>;
}
interface AutobahnJs {
  Connection: new (options: Record<string, unknown>) => {
    onopen: (session: AutobahnSession, details: unknown) => void;
    onclose: (reason: string, details: unknown) => boolean;
    open(): void;
    close(): void;
  };
  serializer: { JSONSerializer: new () => unknown };
  Result: new (...args: unknown[]) => { args: unknown[]; kwargs: Record<string, unknown> };
}
const autobahn = autobahnModule as AutobahnJs;

interface NodeClient {
  session: AutobahnSession;
  close(): Promise<void>;
}
const nodeClients = new Set<NodeClient>();

afterEach(async () => {
  await Promise.all([...nodeClients].map((client) => client.close()));
});

function connectNode(url: string): Promise<NodeClient> {
  return new Promise((resolve, reject) => {
    const connection = new autobahn.Connection({
      url,
      realm: REALM,
      serializers: [new autobahn.serializer.JSONSerializer()],
      max_retries: 0,
    });
    let closed: Promise<void> | undefined;
    connection.onopen = (session) => {
      const client: NodeClient = {
        session,
        close: () => {
          closed ??= new Promise<void>((done) => {
            connection.onclose = () => {
              done();
              return true;
            };
            nodeClients.delete(client);
            connection.close();
          });
          return closed;
        },
      };
      nodeClients.add(client);
      resolve(client);
    };
    connection.onclose = (reason, details) => {
      reject(new Error(`autobahn-js could not open a session: ${reason} ${JSON.stringify(details)}`));
      return true;
    };
    connection.open();
  });
}

function token(claims: Record<string, unknown>, expires: string | number): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('alice')
    .setIssuedAt()
    .setExpirationTime(expires)
    .sign(new TextEncoder().encode(SECRET));
}

// ---------------------------------------------------------------------------------------------------------

// A missing prerequisite fails this test and every scenario (startPython throws it): never a skip.
test(`${PYTHON} can import autobahn and cbor2`, () => {
  expect(pythonProblem, pythonProblem).toBeUndefined();
});

describe.each(SERIALIZERS)('autobahn-python over wamp.2.%s', (serializer) => {
  let dev: TestRouter;
  let secured: TestRouter;

  beforeAll(async () => {
    [dev, secured] = await Promise.all([
      startTestRouter(),
      startTestRouter({ jwt: { secret: SECRET }, allowAnonymous: false }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([dev?.close(), secured?.close()]);
  });

  test('pubsub: acknowledged publish to itself, args/kwargs round-trip (big integers, bytes, nested dicts)', async () => {
    const result = expectOk(await runPython(dev.url, serializer, 'pubsub'));
    expectWelcome(result, serializer);
    expect(result.welcome.authmethod).toBe('anonymous');
    expect(Number.isSafeInteger(result.publication)).toBe(true);
    expect(result.event_publication).toBe(result.publication);
    // Session and publication ids are random in [1, 2^53): at least one of them is above 2^32 (all but
    // certainly), so over CBOR the router must have written a 64-bit integer that autobahn-python accepted.
    expect(Math.max(result.session, result.publication)).toBeGreaterThan(2 ** 32);
    expect(result.args[0]).toBe(BIG);
    expect(result.args[1]).toBe(-BIG);
    expect(result.args[2]).toBe(Number.MAX_SAFE_INTEGER);
    expect(result.args[11]).toEqual({ bytes: Buffer.from([0, 1, 0xfe, 0xff]).toString('base64') });
    expect(result.kwargs.big).toBe(BIG);
    expect(result.kwargs.nested).toEqual({ a: { b: [1, { c: null, d: BIG }], e: 'x' }, empty: {}, list: [] });
  });

  test('rpc: register and call, no_such_procedure, ApplicationError with args', async () => {
    const result = expectOk(await runPython(dev.url, serializer, 'rpc'));
    expectWelcome(result, serializer);
    expect(result.sum_small).toBe(5);
    expect(result.sum_big).toBe(BIG);
    expect(result.missing_error).toBe('wamp.error.no_such_procedure');
    expect(result.raised_error).toBe('com.py.oops');
    expect(result.raised_args).toEqual([1, 2]);
  });

  test('ticket: a valid JWT logs in, WELCOME carries authid/authrole/authmethod', async () => {
    const jwt = await token({ role: 'py-tester' }, '5m');
    const result = expectOk(await runPython(secured.url, serializer, 'ticket', jwt));
    expectWelcome(result, serializer);
    expect(result.welcome).toMatchObject({ authid: 'alice', authrole: 'py-tester', authmethod: 'ticket', authprovider: 'jwt' });
  });

  test('ticket: an expired JWT is refused with ABORT wamp.error.authentication_denied', async () => {
    const jwt = await token({ role: 'user' }, Math.floor(Date.now() / 1000) - 60);
    const run = await runPython(secured.url, serializer, 'ticket', jwt);
    expect(run.result, run.stderr).toMatchObject({ ok: false, error: 'aborted', reason: 'wamp.error.authentication_denied' });
    expect(run.result.message).toMatch(/expired/);
    expect(run.code).toBe(2);
  });

  test('ticket: a JWT signed with another secret is refused with wamp.error.authentication_denied', async () => {
    const jwt = await new SignJWT({ role: 'user' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('alice')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode('y'.repeat(32)));
    const run = await runPython(secured.url, serializer, 'ticket', jwt);
    expect(run.result, run.stderr).toMatchObject({ ok: false, error: 'aborted', reason: 'wamp.error.authentication_denied' });
    expect(run.code).toBe(2);
  });

  test('cross: autobahn-js (JSON) publishes, autobahn-python receives', async () => {
    const py = startPython(dev.url, serializer, 'cross');
    await py.ready;
    const node = await connectNode(dev.url);
    const published = await node.session.publish('com.cross', ['from node', BIG, { deep: [1, { x: BIG }] }], { who: 'node', big: BIG }, { acknowledge: true });
    const run = await py.done;
    const result = expectOk(run);
    expectWelcome(result, serializer);
    expect(result.args).toEqual(['from node', BIG, { deep: [1, { x: BIG }] }]);
    expect(result.kwargs).toEqual({ who: 'node', big: BIG });
    expect(result.publication).toBe(published!.id);
  });

  test('cross: autobahn-python publishes, autobahn-js (JSON) receives', async () => {
    const node = await connectNode(dev.url);
    let deliver!: (event: { args: unknown[]; kwargs: Record<string, unknown> }) => void;
    const received = new Promise<{ args: unknown[]; kwargs: Record<string, unknown> }>((resolve) => (deliver = resolve));
    await node.session.subscribe('com.cross.back', (args, kwargs) => deliver({ args, kwargs }));
    const result = expectOk(await runPython(dev.url, serializer, 'publish'));
    const event = await received;
    expect(event.args).toEqual(['from python', BIG, { nested: [1, 2, { x: BIG }] }]);
    expect(event.kwargs).toEqual({ who: 'python', big: BIG });
    expect(Number.isSafeInteger(result.publication)).toBe(true);
  });

  test('cross: autobahn-js (JSON) calls a procedure registered by autobahn-python', async () => {
    const py = startPython(dev.url, serializer, 'callee');
    await py.ready;
    const node = await connectNode(dev.url);
    const reply = (await node.session.call('com.cross.echo', ['hi', BIG], { n: BIG, deep: { a: [1] } })) as {
      args: unknown[];
      kwargs: Record<string, unknown>;
    };
    expect(reply).toBeInstanceOf(autobahn.Result);
    expect(reply.args).toEqual(['hi', BIG]);
    expect(reply.kwargs).toEqual({ n: BIG, deep: { a: [1] }, echoed_by: 'python' });
    const result = expectOk(await py.done);
    expect(result.args).toEqual(['hi', BIG]);
    expect(result.kwargs).toEqual({ n: BIG, deep: { a: [1] } });
  });
});
