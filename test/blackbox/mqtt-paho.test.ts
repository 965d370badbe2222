/**
 * Interoperability with Eclipse Paho for Python (Debian's python3-paho-mqtt): a real third-party MQTT client,
 * driven as a child process (test/blackbox/python/mqtt_paho.py), talks to the router over WebSocket (path `/`,
 * subprotocol `mqtt`, which paho offers by default) with MQTT 3.1.1 and 5.0: connect, subscribe, publish at every
 * QoS to itself, retained messages, JWT passwords, a persistent session, and crossing to and from WAMP.
 *
 * Only /usr/bin/python3 is used (the `python3` on PATH may lack the module). If paho is missing the tests fail,
 * they do not skip: CI installs python3-paho-mqtt.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { deferred, openSession, within, type OpenSession } from '../helpers/autobahn.js';
import { probePython, PYTHON, PythonScripts, type PyChild, type PyRun } from '../helpers/python.js';
import { startTestRouter, type TestRouter } from '../helpers/router.js';
import { hs256, SECRET } from '../helpers/tokens.js';

const SCRIPT = fileURLToPath(new URL('./python/mqtt_paho.py', import.meta.url));
/** The script stops itself after this long; the test kills it a little later as a last resort. */
const SCRIPT_TIMEOUT_SEC = 8;
const KILL_AFTER_MS = (SCRIPT_TIMEOUT_SEC + 3) * 1000;
const VERSIONS = ['311', '5'] as const;
type PahoVersion = (typeof VERSIONS)[number];

// Prerequisite: paho-mqtt importable by /usr/bin/python3.
const python = probePython('paho.mqtt, paho.mqtt.client', 'paho.mqtt.__version__', 'python3-paho-mqtt');

const scripts = new PythonScripts(KILL_AFTER_MS);
afterEach(() => scripts.killAll());

function startPython(url: string, version: PahoVersion, scenario: string, options: { jwt?: string; topic?: string; qos?: string } = {}): PyChild {
  if (python.problem) throw new Error(python.problem);
  const args = [SCRIPT, url, version, scenario, '--timeout', String(SCRIPT_TIMEOUT_SEC)];
  if (options.jwt !== undefined) args.push('--jwt', options.jwt);
  if (options.topic !== undefined) args.push('--topic', options.topic);
  if (options.qos !== undefined) args.push('--qos', options.qos);
  return scripts.start(args);
}

function runPython(url: string, version: PahoVersion, scenario: string, options: { jwt?: string; topic?: string; qos?: string } = {}): Promise<PyRun> {
  return startPython(url, version, scenario, options).done;
}

/** Asserts a successful run, showing the script's own diagnosis when it is not. */
function expectOk(run: PyRun): Record<string, any> {
  expect(run.result, `python said ${JSON.stringify(run.result)}; stderr: ${run.stderr}`).toMatchObject({ ok: true });
  expect(run.code).toBe(0);
  return run.result;
}

// ---------------------------------------------------------------------------------------------------------

let dev: TestRouter;
let secured: TestRouter;
let token: string;
const sessions: OpenSession[] = [];

beforeAll(async () => {
  [dev, secured] = await Promise.all([startTestRouter(), startTestRouter({ jwt: { secret: SECRET }, allowAnonymous: false })]);
  token = await hs256({ sub: 'alice', expiresIn: '10m' });
});

afterAll(async () => {
  await Promise.all([dev?.close(), secured?.close()]);
});

afterEach(async () => {
  await Promise.all(sessions.splice(0).map((session) => session.close().catch(() => undefined)));
});

// A missing prerequisite fails this test and every scenario (startPython throws it): never a skip.
test(`${PYTHON} can import paho.mqtt`, () => {
  expect(python.problem, python.problem).toBeUndefined();
});

let counter = 0;

describe.each(VERSIONS)('paho-mqtt over WebSocket, MQTT %s', (version) => {
  test('connect, subscribe, publish QoS 0 and 1 to itself and receive each once at its QoS; retained', async () => {
    const result = expectOk(await runPython(dev.url, version, 'pubsub', { qos: '0,1' }));
    expect(result.connack).toMatchObject({ rc: 0, session_present: false });
    expect(result.granted).toEqual([2]);
    expect(result.live.map((m: { qos: number; payload: string }) => [m.qos, m.payload]).sort()).toEqual([
      [0, 'payload-0'],
      [1, 'payload-1'],
    ]);
    expect(result.retained).toMatchObject({ payload: 'retained-payload', retain: true, qos: 1 });
    if (version === '5') {
      // User properties (a repeated name included) and the content type came back unchanged.
      const q1 = result.live.find((m: { qos: number }) => m.qos === 1);
      expect(q1.user_properties).toEqual([
        ['k', 'v1'],
        ['k', 'again'],
        ['qos', '1'],
      ]);
      expect(q1.content_type).toBe('text/plain');
    }
  });

  test('QoS 2 to itself: PUBLISH, PUBREC, PUBREL, PUBCOMP both ways, exactly once', async () => {
    // MQTT 5: the router sends PUBREL as 62 04 <id> 00 00 (reason code and an empty property length spelled
    // out). That is legal, but paho-mqtt 1.6 (Debian 12's python3-paho-mqtt) only takes a 2-byte PUBREL and its
    // network thread dies on it. The short form, which the router's own ack() means to send on success, is
    // what every client reads.
    const result = expectOk(await runPython(dev.url, version, 'pubsub', { qos: '2' }));
    expect(result.live.map((m: { qos: number; payload: string; dup: boolean }) => [m.qos, m.payload, m.dup])).toEqual([[2, 'payload-2', false]]);
  });

  test('a JWT as the password is accepted', async () => {
    const result = expectOk(await runPython(secured.url, version, 'pubsub', { jwt: token, qos: '0,1' }));
    expect(result.connack).toMatchObject({ rc: 0 });
    expect(result.live).toHaveLength(2);
  });

  test('a bad JWT is refused: CONNACK 0x04 (3.1.1) / 0x86 (5.0), then the connection closes', async () => {
    const run = await runPython(secured.url, version, 'connect', { jwt: 'not.a.jwt' });
    expect(run.result, run.stderr).toMatchObject({ ok: false, error: 'refused', closed: true });
    expect(run.result.connack.rc).toBe(version === '5' ? 0x86 : 0x04);
    expect(run.code).toBe(2);
    // Signed with another secret: the same.
    const forged = await hs256({ sub: 'alice' }, 'another-secret-that-is-long-enough-for-hs256');
    const run2 = await runPython(secured.url, version, 'connect', { jwt: forged });
    expect(run2.result.connack?.rc, JSON.stringify(run2.result)).toBe(version === '5' ? 0x86 : 0x04);
  });

  test('no credentials when anonymous access is off: CONNACK 0x05 (3.1.1) / 0x87 (5.0)', async () => {
    const run = await runPython(secured.url, version, 'connect');
    expect(run.result, run.stderr).toMatchObject({ ok: false, error: 'refused' });
    expect(run.result.connack.rc).toBe(version === '5' ? 0x87 : 0x05);
  });

  test('an empty client id is accepted with a clean session (5.0: Assigned Client Identifier)', async () => {
    const result = expectOk(await runPython(dev.url, version, 'connect'));
    expect(result.connack.rc).toBe(0);
    if (version === '5') expect(result.connack.assigned_client_id).toMatch(/^sb-/);
    else expect(result.connack.assigned_client_id).toBeNull();
  });

  test('a persistent session: present on reconnect, with the QoS 1 message published while away', async () => {
    const result = expectOk(await runPython(dev.url, version, 'persistent'));
    expect(result.connack).toMatchObject({ rc: 0, session_present: true });
    expect(result.received).toMatchObject([{ payload: 'while away', qos: 1 }]);
  });

  test('cross-protocol: paho publishes, a WAMP subscriber (autobahn-js) receives', async () => {
    const topic = `paho/cross/${version}/${++counter}`;
    const wamp = await openSession(dev.url, 'json');
    sessions.push(wamp);
    const event = deferred<unknown[]>();
    await wamp.session.subscribe(topic.replaceAll('/', '.'), (args: unknown[]) => event.resolve(args));
    const result = expectOk(await runPython(dev.url, version, 'publish', { topic }));
    expect(result.mid).toBeGreaterThan(0);
    expect(await within(event.promise, 3000, 'the WAMP event')).toEqual(['from paho']);
  });

  test('cross-protocol: a WAMP publish reaches paho', async () => {
    const topic = `paho/cross/${version}/${++counter}`;
    const py = startPython(dev.url, version, 'receive', { topic });
    await py.ready;
    const wamp = await openSession(dev.url, 'json');
    sessions.push(wamp);
    await wamp.session.publish(topic.replaceAll('/', '.'), ['from wamp'], {}, { acknowledge: true });
    const result = expectOk(await py.done);
    expect(result.message).toMatchObject({ topic, payload: 'from wamp', retain: false });
  });
});
