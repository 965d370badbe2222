/**
 * Interoperability with Eclipse Mosquitto's command-line clients (Debian's mosquitto-clients: mosquitto_sub and
 * mosquitto_pub, built on libmosquitto), over MQTT 3.1.1 and 5.0 on the router's TCP listener: delivery at every
 * QoS, retained messages, wildcards, JWT passwords, wills, 5.0 properties, persistent sessions, and crossing to
 * and from WAMP (autobahn-js).
 *
 * Every client is a child process with its own timeout (`-W`) and a hard kill after it; afterEach kills whatever is
 * still running. Subscribers run with `-d` so that the test can wait for "Subscribed" before publishing; messages
 * are printed with a `MSG|...` format and told apart from the debug lines by that prefix.
 *
 * If the binaries are missing the tests fail, they do not skip: CI installs mosquitto-clients.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { deferred, openSession, within, type OpenSession } from '../helpers/autobahn.js';
import { RawWamp } from '../helpers/raw-wamp.js';
import { startTestRouter, type TestRouter } from '../helpers/router.js';
import { hs256, SECRET } from '../helpers/tokens.js';

const VERSIONS = ['mqttv311', 'mqttv5'] as const;
type MqttVersion = (typeof VERSIONS)[number];

/** A client's own timeout, in seconds (mosquitto_sub -W), and the hard kill a little after it. */
const CLIENT_TIMEOUT_SEC = 5;
const KILL_AFTER_MS = (CLIENT_TIMEOUT_SEC + 2) * 1000;
/** What every message line looks like: topic, QoS, retain flag, payload. */
const FORMAT = 'MSG|%t|%q|%r|%p';

// ---------------------------------------------------------------------------------------------------------
// Prerequisite: the mosquitto clients.

function checkBinaries(): string | undefined {
  const stdbuf = spawnSync('stdbuf', ['--version'], { encoding: 'utf8', timeout: 5000 });
  if (stdbuf.error) return `cannot run stdbuf (coreutils): ${stdbuf.error.message}`;
  for (const binary of ['mosquitto_sub', 'mosquitto_pub']) {
    const probe = spawnSync(binary, ['--help'], { encoding: 'utf8', timeout: 5000 });
    if (probe.error) return `cannot run ${binary} (install the Debian package mosquitto-clients): ${probe.error.message}`;
  }
  return undefined;
}
const binaryProblem = checkBinaries();

// ---------------------------------------------------------------------------------------------------------
// Child processes.

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The `MSG|...` lines, without the prefix, split on `|` (the payload may hold `|`, so it is re-joined). */
  messages: Message[];
}

interface Message {
  topic: string;
  qos: number;
  retain: boolean;
  payload: string;
  /** Fields after the standard four, for formats that add some (see `extraFormat`). */
  extra: string[];
}

interface Proc {
  child: ChildProcess;
  exited: Promise<Exit>;
  /** Resolves when stdout or stderr has printed a line matching `pattern`; rejects when the process ends first. */
  waitFor(pattern: RegExp, ms?: number): Promise<void>;
  messages(): Message[];
}

const running = new Set<ChildProcess>();

afterEach(() => {
  for (const child of running) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  running.clear();
});

function parseMessages(stdout: string, extraFields: number): Message[] {
  const messages: Message[] = [];
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('MSG|')) continue;
    const parts = line.slice(4).split('|');
    const extra = parts.splice(3, extraFields);
    const [topic, qos, retain, ...payload] = parts;
    messages.push({ topic: topic!, qos: Number(qos), retain: retain === '1', payload: payload.join('|'), extra });
  }
  return messages;
}

function run(binary: 'mosquitto_sub' | 'mosquitto_pub', args: string[], extraFields = 0): Proc {
  if (binaryProblem) throw new Error(binaryProblem);
  // Line-buffered stdout (stdbuf execs the client, so the child's pid is the client's): mosquitto_sub prints its
  // debug lines, "Subscribed" among them, without flushing.
  const child = spawn('stdbuf', ['-oL', binary, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let stdout = '';
  let stderr = '';
  const watchers: Array<{ pattern: RegExp; resolve: () => void }> = [];
  const check = () => {
    for (const watcher of [...watchers]) {
      if (watcher.pattern.test(stdout) || watcher.pattern.test(stderr)) {
        watchers.splice(watchers.indexOf(watcher), 1);
        watcher.resolve();
      }
    }
  };
  child.stdout!.setEncoding('utf8');
  child.stderr!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    stdout += chunk;
    check();
  });
  child.stderr!.on('data', (chunk: string) => {
    stderr += chunk;
    check();
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS);
  const exited = new Promise<Exit>((resolve, reject) => {
    child.on('error', (error) => {
      clearTimeout(killer);
      reject(new Error(`cannot spawn ${binary}: ${error.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      running.delete(child);
      resolve({ code, signal, stdout, stderr, messages: parseMessages(stdout, extraFields) });
    });
  });
  exited.catch(() => undefined);
  return {
    child,
    exited,
    messages: () => parseMessages(stdout, extraFields),
    waitFor(pattern, ms = 4000) {
      if (pattern.test(stdout) || pattern.test(stderr)) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern} from ${binary}; stdout: ${stdout} stderr: ${stderr}`)), ms);
        watchers.push({
          pattern,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
        exited.then((exit) => {
          clearTimeout(timer);
          reject(new Error(`${binary} exited (code ${exit.code}, signal ${exit.signal}) before ${pattern}; stdout: ${exit.stdout} stderr: ${exit.stderr}`));
        }, reject);
      });
    },
  };
}

function hostArgs(port: number, version: MqttVersion): string[] {
  return ['-h', '127.0.0.1', '-p', String(port), '-V', version];
}

/**
 * Starts mosquitto_sub and resolves once its SUBACK has arrived. `extraFormat` adds `|`-separated fields after
 * the standard ones (parsed into `extra`).
 */
async function subscribe(port: number, version: MqttVersion, topics: string[], args: string[] = [], extraFormat: string[] = []): Promise<Proc> {
  const format = extraFormat.length === 0 ? FORMAT : `MSG|%t|%q|%r|${extraFormat.join('|')}|%p`;
  const proc = run(
    'mosquitto_sub',
    [...hostArgs(port, version), '-d', '-W', String(CLIENT_TIMEOUT_SEC), '-F', format, ...topics.flatMap((t) => ['-t', t]), ...args],
    extraFormat.length,
  );
  await proc.waitFor(/^Subscribed \(mid: \d+\)/m);
  return proc;
}

/** Runs mosquitto_pub to completion and asserts that it succeeded. */
async function publish(port: number, version: MqttVersion, topic: string, message: string | null, args: string[] = []): Promise<Exit> {
  const body = message === null ? ['-n'] : ['-m', message];
  const exit = await run('mosquitto_pub', [...hostArgs(port, version), '-t', topic, ...body, ...args]).exited;
  expect(exit.code, `mosquitto_pub failed: ${exit.stderr}`).toBe(0);
  return exit;
}

/** Waits for a subscriber run with `-C n` to exit and asserts a clean exit. */
async function received(proc: Proc): Promise<Message[]> {
  const exit = await proc.exited;
  expect(exit.code, `mosquitto_sub: code ${exit.code} signal ${exit.signal}; stdout: ${exit.stdout} stderr: ${exit.stderr}`).toBe(0);
  return exit.messages;
}

let counter = 0;
/** A topic prefix no other test uses (retained messages outlive a test). */
function fresh(version: MqttVersion): string {
  return `mosq/${version}/${++counter}`;
}

// ---------------------------------------------------------------------------------------------------------

let dev: TestRouter;
let secured: TestRouter;
let token: string;
const sessions: OpenSession[] = [];

beforeAll(async () => {
  [dev, secured] = await Promise.all([
    startTestRouter({}, { tcp: true }),
    startTestRouter({ jwt: { secret: SECRET }, allowAnonymous: false }, { tcp: true }),
  ]);
  token = await hs256({ sub: 'alice', expiresIn: '10m' });
});

afterAll(async () => {
  await Promise.all([dev?.close(), secured?.close()]);
});

afterEach(async () => {
  await Promise.all(sessions.splice(0).map((session) => session.close().catch(() => undefined)));
});

// A missing prerequisite fails this test and every scenario (run throws it): never a skip.
test('mosquitto_sub and mosquitto_pub are installed', () => {
  expect(binaryProblem, binaryProblem).toBeUndefined();
});

describe.each(VERSIONS)('mosquitto clients over TCP, %s', (version) => {
  const port = () => dev.mqttPort!;

  test('a mosquitto_pub message reaches mosquitto_sub', async () => {
    const topic = fresh(version);
    const sub = await subscribe(port(), version, [topic], ['-C', '1']);
    await publish(port(), version, topic, 'hello from mosquitto_pub');
    expect(await received(sub)).toEqual([{ topic, qos: 0, retain: false, payload: 'hello from mosquitto_pub', extra: [] }]);
  });

  test.each([0, 1, 2])('QoS %i end to end: the subscriber gets the QoS it asked for, exactly once', async (qos) => {
    const topic = fresh(version);
    const sub = await subscribe(port(), version, [topic], ['-q', String(qos), '-C', '2']);
    await publish(port(), version, topic, `qos-${qos}-a`, ['-q', String(qos)]);
    await publish(port(), version, topic, `qos-${qos}-b`, ['-q', String(qos)]);
    const messages = await received(sub);
    expect(messages.map((m) => [m.payload, m.qos])).toEqual([
      [`qos-${qos}-a`, qos],
      [`qos-${qos}-b`, qos],
    ]);
  });

  test('a delivery is at the lower of the publication and subscription QoS', async () => {
    const topic = fresh(version);
    const sub1 = await subscribe(port(), version, [topic], ['-q', '1', '-C', '1']);
    const sub2 = await subscribe(port(), version, [topic], ['-q', '2', '-C', '1']);
    await publish(port(), version, topic, 'published at 2', ['-q', '2']);
    expect((await received(sub1))[0]).toMatchObject({ payload: 'published at 2', qos: 1 });
    expect((await received(sub2))[0]).toMatchObject({ payload: 'published at 2', qos: 2 });
    const sub0 = await subscribe(port(), version, [topic], ['-q', '2', '-C', '1']);
    await publish(port(), version, topic, 'published at 0', ['-q', '0']);
    expect((await received(sub0))[0]).toMatchObject({ payload: 'published at 0', qos: 0 });
  });

  test('a QoS 2 message is delivered exactly once (no duplicate within the timeout)', async () => {
    const topic = fresh(version);
    const sub = run('mosquitto_sub', [...hostArgs(port(), version), '-d', '-W', '1', '-F', FORMAT, '-t', topic, '-q', '2']);
    await sub.waitFor(/^Subscribed/m);
    await publish(port(), version, topic, 'once', ['-q', '2']);
    const exit = await sub.exited;
    expect(exit.messages.map((m) => m.payload)).toEqual(['once']);
    // The -W timeout ended it, not an error.
    expect(exit.stderr).toMatch(/Timed out/);
  });

  test('retained: a later subscriber gets the retained message with RETAIN set; live ones without', async () => {
    const topic = fresh(version);
    await publish(port(), version, topic, 'kept', ['-r', '-q', '1']);
    const late = await subscribe(port(), version, [topic], ['-C', '2', '-q', '1']);
    await publish(port(), version, topic, 'live');
    expect(await received(late)).toEqual([
      { topic, qos: 1, retain: true, payload: 'kept', extra: [] },
      { topic, qos: 0, retain: false, payload: 'live', extra: [] },
    ]);
  });

  test('retained: a newer retained message replaces the older, an empty one clears it', async () => {
    const topic = fresh(version);
    await publish(port(), version, topic, 'first', ['-r']);
    await publish(port(), version, topic, 'second', ['-r']);
    const sub = await subscribe(port(), version, [topic], ['-C', '1']);
    expect((await received(sub)).map((m) => [m.payload, m.retain])).toEqual([['second', true]]);
    await publish(port(), version, topic, null, ['-r']);
    const after = run('mosquitto_sub', [...hostArgs(port(), version), '-W', '1', '-F', FORMAT, '-t', topic]);
    const exit = await after.exited;
    expect(exit.messages).toEqual([]);
  });

  test('retained: -R skips the stale retained message and prints the next live one', async () => {
    const topic = fresh(version);
    await publish(port(), version, topic, 'stale', ['-r']);
    const sub = await subscribe(port(), version, [topic], ['-R', '-C', '1']);
    await publish(port(), version, topic, 'fresh');
    expect((await received(sub)).map((m) => [m.payload, m.retain])).toEqual([['fresh', false]]);
  });

  test('retained: --retained-only prints the retained messages and exits at the first live one', async () => {
    const base = fresh(version);
    await publish(port(), version, `${base}/a`, 'ra', ['-r']);
    await publish(port(), version, `${base}/b`, 'rb', ['-r']);
    const sub = await subscribe(port(), version, [`${base}/#`], ['--retained-only']);
    await sub.waitFor(/MSG\|[^\n]*\|rb$/m);
    await publish(port(), version, `${base}/a`, 'live');
    const exit = await sub.exited;
    expect(exit.code).toBe(0);
    expect(exit.messages.map((m) => [m.topic, m.payload, m.retain]).sort()).toEqual([
      [`${base}/a`, 'ra', true],
      [`${base}/b`, 'rb', true],
    ]);
  });

  test('wildcards: + matches one level, # any number (including the parent), exact filters only themselves', async () => {
    const base = fresh(version);
    const plus = await subscribe(port(), version, [`${base}/+/temp`], ['-C', '2']);
    const hash = await subscribe(port(), version, [`${base}/#`], ['-C', '4']);
    const exact = await subscribe(port(), version, [`${base}/kitchen/temp`], ['-C', '1']);
    for (const [topic, payload] of [
      [`${base}/kitchen/temp`, '21'],
      [`${base}/kitchen/humidity`, '40'],
      [`${base}/hall/temp`, '19'],
      [`${base}`, 'parent'],
    ]) {
      await publish(port(), version, topic!, payload!);
    }
    expect((await received(plus)).map((m) => m.topic)).toEqual([`${base}/kitchen/temp`, `${base}/hall/temp`]);
    expect((await received(hash)).map((m) => m.payload)).toEqual(['21', '40', '19', 'parent']);
    expect((await received(exact)).map((m) => m.payload)).toEqual(['21']);
  });

  test('overlapping subscriptions in one client: one copy of each message', async () => {
    const base = fresh(version);
    const sub = run('mosquitto_sub', [...hostArgs(port(), version), '-d', '-W', '1', '-F', FORMAT, '-t', `${base}/#`, '-t', `${base}/+`, '-t', `${base}/x`]);
    await sub.waitFor(/^Subscribed/m);
    await publish(port(), version, `${base}/x`, 'one copy');
    const exit = await sub.exited;
    expect(exit.messages.map((m) => m.payload)).toEqual(['one copy']);
  });

  test('a JWT as the password is accepted (-u alice -P TOKEN)', async () => {
    const topic = fresh(version);
    const auth = ['-u', 'alice', '-P', token];
    const sub = run('mosquitto_sub', [...hostArgs(secured.mqttPort!, version), ...auth, '-d', '-W', String(CLIENT_TIMEOUT_SEC), '-F', FORMAT, '-t', topic, '-C', '1', '-q', '1']);
    await sub.waitFor(/^Subscribed/m);
    await publish(secured.mqttPort!, version, topic, 'with a token', [...auth, '-q', '1']);
    expect((await received(sub)).map((m) => m.payload)).toEqual(['with a token']);
  });

  test('a bad token is refused: bad user name or password', async () => {
    const exit = await run('mosquitto_sub', [...hostArgs(secured.mqttPort!, version), '-u', 'alice', '-P', 'not.a.token', '-t', 'x', '-C', '1', '-W', '3']).exited;
    expect(exit.code).not.toBe(0);
    expect(exit.stderr).toMatch(version === 'mqttv5' ? /Bad User Name or Password/i : /Connection Refused: bad user name or password/i);
    // A token signed with another secret is refused the same way.
    const forged = await hs256({ sub: 'alice' }, 'another-secret-that-is-long-enough-for-hs256');
    const exit2 = await run('mosquitto_pub', [...hostArgs(secured.mqttPort!, version), '-u', 'alice', '-P', forged, '-t', 'x', '-m', 'y']).exited;
    expect(exit2.code).not.toBe(0);
    expect(exit2.stderr).toMatch(/bad user name or password/i);
  });

  test('no credentials when anonymous access is off: not authorised', async () => {
    const exit = await run('mosquitto_pub', [...hostArgs(secured.mqttPort!, version), '-t', 'x', '-m', 'y']).exited;
    expect(exit.code).not.toBe(0);
    expect(exit.stderr).toMatch(/not authori[sz]ed/i);
  });

  test('a will: a client killed with SIGKILL has its will published to another subscriber', async () => {
    const willTopic = `${fresh(version)}/status`;
    const watcher = await subscribe(port(), version, [willTopic], ['-C', '1', '-q', '1']);
    const doomed = run('mosquitto_sub', [
      ...hostArgs(port(), version),
      '-d',
      '-t',
      `${willTopic}/ignored`,
      '--will-topic',
      willTopic,
      '--will-payload',
      'offline',
      '--will-qos',
      '1',
    ]);
    await doomed.waitFor(/^Subscribed/m);
    doomed.child.kill('SIGKILL');
    expect((await received(watcher)).map((m) => [m.topic, m.payload, m.qos])).toEqual([[willTopic, 'offline', 1]]);
  });

  test('a retained will is kept for later subscribers', async () => {
    const willTopic = `${fresh(version)}/status`;
    const doomed = run('mosquitto_sub', [...hostArgs(port(), version), '-d', '-t', 'unused', '--will-topic', willTopic, '--will-payload', 'gone', '--will-retain']);
    await doomed.waitFor(/^Subscribed/m);
    doomed.child.kill('SIGKILL');
    await doomed.exited;
    // The will is published when the router sees the connection close: poll briefly for it.
    let messages: Message[] = [];
    for (let attempt = 0; attempt < 10 && messages.length === 0; attempt++) {
      messages = (await run('mosquitto_sub', [...hostArgs(port(), version), '-W', '1', '-C', '1', '-F', FORMAT, '-t', willTopic]).exited).messages;
    }
    expect(messages.map((m) => [m.payload, m.retain])).toEqual([['gone', true]]);
  });

  test('no will after a normal DISCONNECT', async () => {
    const willTopic = `${fresh(version)}/status`;
    const watcher = await subscribe(port(), version, [willTopic], ['-C', '1']);
    // mosquitto_pub sends DISCONNECT after publishing: its will must be discarded.
    await publish(port(), version, `${willTopic}/other`, 'x', ['--will-topic', willTopic, '--will-payload', 'must not appear']);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await publish(port(), version, willTopic, 'sentinel');
    expect((await received(watcher)).map((m) => m.payload)).toEqual(['sentinel']);
  });

  test('a persistent session (-c with a client id) gets the QoS 1 messages published while it was away', async () => {
    const topic = fresh(version);
    const id = `mosq-persist-${version}-${counter}`;
    const persistent = ['-c', '-i', id, '-q', '1'];
    const first = await subscribe(port(), version, [topic], persistent);
    first.child.kill('SIGTERM'); // mosquitto_sub disconnects cleanly on SIGTERM
    await first.exited;
    await publish(port(), version, topic, 'while away 1', ['-q', '1']);
    await publish(port(), version, topic, 'while away 2', ['-q', '1']);
    await publish(port(), version, topic, 'qos 0 is not kept', ['-q', '0']);
    // Reconnect without subscribing again (-t is required; a different topic proves the old subscription kept).
    const again = run('mosquitto_sub', [...hostArgs(port(), version), ...persistent, '-W', '2', '-F', FORMAT, '-t', `${topic}/unrelated`, '-C', '2']);
    expect((await received(again)).map((m) => [m.payload, m.qos])).toEqual([
      ['while away 1', 1],
      ['while away 2', 1],
    ]);
  });

  test('cross-protocol: a mosquitto_pub message reaches a WAMP subscriber (autobahn-js)', async () => {
    const base = fresh(version);
    const wamp = await openSession(dev.url, 'json');
    sessions.push(wamp);
    const text = deferred<{ args: unknown[]; details: Record<string, unknown> }>();
    const json = deferred<{ args: unknown[]; kwargs: unknown }>();
    // MQTT topic a/b/c is WAMP URI a.b.c.
    await wamp.session.subscribe(`${base.replaceAll('/', '.')}.text`, (args: unknown[], _kwargs: unknown, details: Record<string, unknown>) =>
      text.resolve({ args, details }),
    );
    await wamp.session.subscribe(`${base.replaceAll('/', '.')}.json`, (args: unknown[], kwargs: unknown) => json.resolve({ args, kwargs }));
    await publish(port(), version, `${base}/text`, 'plain text', ['-q', '1']);
    await publish(port(), version, `${base}/json`, '{"args":[1,"two"],"kwargs":{"k":true}}');
    // A payload that is not JSON arrives as one string argument; the {"args","kwargs"} envelope as args/kwargs.
    expect((await within(text.promise, 3000, 'the WAMP event')).args).toEqual(['plain text']);
    expect(await within(json.promise, 3000, 'the WAMP event')).toEqual({ args: [1, 'two'], kwargs: { k: true } });
  });

  test('cross-protocol: a WAMP publish reaches mosquitto_sub', async () => {
    const base = fresh(version);
    const sub = await subscribe(port(), version, [`${base}/#`], ['-C', '2', '-q', '1']);
    const wamp = await openSession(dev.url, 'json');
    sessions.push(wamp);
    const uri = base.replaceAll('/', '.');
    await wamp.session.publish(`${uri}.one`, ['from wamp'], {}, { acknowledge: true });
    await wamp.session.publish(`${uri}.two`, [1, 2, 3], { x: 'y' }, { acknowledge: true });
    expect((await received(sub)).map((m) => [m.topic, m.payload])).toEqual([
      [`${base}/one`, 'from wamp'],
      [`${base}/two`, '{"args":[1,2,3],"kwargs":{"x":"y"}}'],
    ]);
  });
});

describe('mosquitto clients, MQTT 5.0 only', () => {
  const port = () => dev.mqttPort!;

  test('user properties (repeated names kept) and the other message properties arrive at mosquitto_sub', async () => {
    const topic = fresh('mqttv5');
    const sub = await subscribe(port(), 'mqttv5', [topic], ['-C', '1'], ['%P', '%C', '%R', '%D', '%E', '%F']);
    await publish(port(), 'mqttv5', topic, 'with properties', [
      '-D', 'publish', 'user-property', 'k', 'v1',
      '-D', 'publish', 'user-property', 'k', 'v2',
      '-D', 'publish', 'user-property', 'other', 'x',
      '-D', 'publish', 'content-type', 'text/plain',
      '-D', 'publish', 'response-topic', 'reply/here',
      '-D', 'publish', 'correlation-data', 'corr-42',
      '-D', 'publish', 'message-expiry-interval', '60',
      '-D', 'publish', 'payload-format-indicator', '1',
    ]);
    const [message] = await received(sub);
    expect(message!.payload).toBe('with properties');
    const [userProperties, contentType, responseTopic, correlation, expiry, format] = message!.extra;
    expect(userProperties!.split(' ')).toEqual(['k:v1', 'k:v2', 'other:x']);
    expect(contentType).toBe('text/plain');
    expect(responseTopic).toBe('reply/here');
    expect(correlation).toBe('corr-42');
    expect(Number(expiry)).toBeGreaterThanOrEqual(59);
    expect(Number(expiry)).toBeLessThanOrEqual(60);
    expect(format).toBe('1');
  });

  // Known deviation (README, "MQTT support"): mqtt-packet holds user properties as an object keyed by name, so
  // the values of one name keep their order but interleaved names come out grouped. This pins that behaviour.
  test('[MQTT-3.3.2-18] user properties keep their order per name; interleaved names come out grouped', async () => {
    const topic = fresh('mqttv5');
    const sub = await subscribe(port(), 'mqttv5', [topic], ['-C', '1'], ['%P']);
    await publish(port(), 'mqttv5', topic, 'ordered', [
      '-D', 'publish', 'user-property', 'k', 'v1',
      '-D', 'publish', 'user-property', 'other', 'x',
      '-D', 'publish', 'user-property', 'k', 'v2',
    ]);
    const [message] = await received(sub);
    expect(message!.extra[0]!.split(' ')).toEqual(['k:v1', 'k:v2', 'other:x']);
  });

  test('user properties and content type reach a WAMP subscriber in the EVENT details', async () => {
    const base = fresh('mqttv5');
    // autobahn-js keeps only the standard EVENT details, so a raw WAMP client reads these.
    const [wamp] = await RawWamp.session(dev.url, 'json');
    try {
      wamp.send([32, 1, {}, `${base.replaceAll('/', '.')}.props`]);
      const subscribed = await wamp.next();
      expect(subscribed[0]).toBe(33);
      await publish(port(), 'mqttv5', `${base}/props`, 'x', [
        '-D', 'publish', 'user-property', 'k', 'a',
        '-D', 'publish', 'user-property', 'k', 'b',
        '-D', 'publish', 'content-type', 'text/plain',
      ]);
      const event = await wamp.next();
      expect(event[0]).toBe(36);
      expect(event[1]).toBe(subscribed[2]);
      expect(event[3]).toMatchObject({ content_type: 'text/plain', user_properties: { k: ['a', 'b'] } });
      expect(event[4]).toEqual(['x']);
    } finally {
      wamp.close();
    }
  });

  test('a subscription identifier comes back on the deliveries (%S)', async () => {
    const topic = fresh('mqttv5');
    const sub = await subscribe(port(), 'mqttv5', [topic], ['-C', '1', '-D', 'subscribe', 'subscription-identifier', '42'], ['%S']);
    await publish(port(), 'mqttv5', topic, 'tagged');
    const [message] = await received(sub);
    expect(message!.extra).toEqual(['42']);
  });

  test('the message expiry is counted down while a message waits for an offline persistent session', async () => {
    const topic = fresh('mqttv5');
    const id = `mosq-expiry-${counter}`;
    const persistent = ['-c', '-i', id, '-q', '1', '-x', '60'];
    const first = await subscribe(port(), 'mqttv5', [topic], persistent);
    first.child.kill('SIGTERM');
    await first.exited;
    await publish(port(), 'mqttv5', topic, 'short', ['-q', '1', '-D', 'publish', 'message-expiry-interval', '1']);
    await publish(port(), 'mqttv5', topic, 'long', ['-q', '1', '-D', 'publish', 'message-expiry-interval', '100']);
    await new Promise((resolve) => setTimeout(resolve, 1300));
    const again = run('mosquitto_sub', [...hostArgs(port(), 'mqttv5'), ...persistent, '-W', '2', '-F', `${FORMAT.replace('%p', '%E|%p')}`, '-t', `${topic}/x`, '-C', '1']);
    const exit = await again.exited;
    expect(exit.code, exit.stderr).toBe(0);
    // The expired one is gone; the other arrives with what is left of its 100 s.
    const lines = exit.stdout.split('\n').filter((line) => line.startsWith('MSG|'));
    expect(lines).toHaveLength(1);
    const [, , , , expiry, payload] = lines[0]!.split('|');
    expect(payload).toBe('long');
    expect(Number(expiry)).toBeGreaterThanOrEqual(97);
    expect(Number(expiry)).toBeLessThanOrEqual(99);
  });

  test('a will with a Message Expiry Interval: the interval counts from the will publication, not from CONNECT', async () => {
    // MQTT 5.0 section 3.1.3.2.4: the Message Expiry Interval of the will "is the lifetime of the Will Message"
    // and "is sent as the Publication Expiry Interval when the Server publishes the Will Message". A client that
    // has been connected for longer than that interval must still have its will delivered.
    const willTopic = `${fresh('mqttv5')}/status`;
    const watcher = await subscribe(port(), 'mqttv5', [willTopic], ['-C', '1', '-q', '1'], ['%E']);
    const doomed = run('mosquitto_sub', [
      ...hostArgs(port(), 'mqttv5'),
      '-d',
      '-t',
      'unused',
      '--will-topic',
      willTopic,
      '--will-payload',
      'expiring will',
      '--will-qos',
      '1',
      '-D',
      'will',
      'message-expiry-interval',
      '1',
    ]);
    await doomed.waitFor(/^Subscribed/m);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    doomed.child.kill('SIGKILL');
    await watcher.waitFor(/^MSG\|/m, 2000).catch(() => undefined);
    const messages = watcher.messages();
    expect(messages.map((m) => m.payload), 'the will never arrived (it expired before it was published)').toEqual(['expiring will']);
    // Sent with what is left of its own interval, counted from its publication.
    expect(Number(messages[0]!.extra[0])).toBe(1);
  });

  test('Will Delay Interval: the will waits for the delay', async () => {
    const willTopic = `${fresh('mqttv5')}/status`;
    const watcher = await subscribe(port(), 'mqttv5', [willTopic], ['-C', '1']);
    const doomed = run('mosquitto_sub', [
      ...hostArgs(port(), 'mqttv5'),
      '-d',
      '-x',
      '60',
      '-t',
      'unused',
      '--will-topic',
      willTopic,
      '--will-payload',
      'late',
      '-D',
      'will',
      'will-delay-interval',
      '1',
    ]);
    await doomed.waitFor(/^Subscribed/m);
    doomed.child.kill('SIGKILL');
    const killedAt = Date.now();
    await watcher.waitFor(/^MSG\|/m, 4000);
    expect(Date.now() - killedAt).toBeGreaterThanOrEqual(900);
    expect((await received(watcher)).map((m) => m.payload)).toEqual(['late']);
  });
});

describe('mosquitto clients, MQTT 3.1 (MQIsdp)', () => {
  test('mqttv31 connects, subscribes and receives', async () => {
    const topic = fresh('mqttv311');
    const sub = run('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(dev.mqttPort!), '-V', 'mqttv31', '-d', '-W', String(CLIENT_TIMEOUT_SEC), '-F', FORMAT, '-t', topic, '-C', '1', '-q', '1']);
    await sub.waitFor(/^Subscribed/m);
    await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(dev.mqttPort!), '-V', 'mqttv31', '-t', topic, '-m', 'old protocol', '-q', '1']).exited;
    expect((await received(sub)).map((m) => [m.payload, m.qos])).toEqual([['old protocol', 1]]);
  });
});
