/** `/metrics`: what a Prometheus scrape sees after real clients of both protocols used the router. */
import { afterEach, describe, expect, it } from 'vitest';
import { openSession, type OpenSession } from '../helpers/autobahn.js';
import { connectClient, endAll } from '../helpers/mqtt.js';
import { RawWamp } from '../helpers/raw-wamp.js';
import { freePort, startTestRouter, type TestRouter } from '../helpers/router.js';
import { SECRET } from '../helpers/tokens.js';

let router: TestRouter | undefined;
const sessions: OpenSession[] = [];

afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.close().catch(() => undefined)));
  await endAll();
  await router?.close();
  router = undefined;
});

async function scrape(port: number): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('text/plain');
  return response.text();
}

/** The value of one sample, by its exact name and label set as Prometheus writes it. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('/metrics', () => {
  it('counts connections, messages, calls, refusals and drops of both protocols', async () => {
    router = await startTestRouter({ jwt: { secret: SECRET }, allowAnonymous: true }, { tcp: true });
    const wamp = await openSession(router.url, 'json');
    sessions.push(wamp);
    await wamp.session.register('com.echo', (args: unknown[]) => args[0]);
    expect(await wamp.session.call('com.echo', ['hi'])).toBe('hi');
    await wamp.session.call('com.missing').catch(() => undefined);
    const device = await connectClient(`mqtt://127.0.0.1:${router.mqttPort}`, 5);
    await device.subscribeAsync('sensors/#', { qos: 1 });
    await device.publishAsync('sensors/t', '21', { qos: 1 });
    // A refused login and an oversized message, for the refusal and limit counters.
    const [bad] = await RawWamp.session(router.url, 'json', { authmethods: ['ticket'] });
    bad.send([5, 'not-a-token', {}]);
    await bad.next();
    bad.close();
    await new Promise((resolve) => setTimeout(resolve, 100));

    const text = await scrape(router.port);
    expect(sample(text, 'switchboard_connections_open{protocol="wamp.2.json"}')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'switchboard_connections_open{protocol="mqtt"}')).toBe(1);
    expect(sample(text, 'switchboard_connects_total{protocol="mqtt"}')).toBe(1);
    expect(sample(text, 'switchboard_messages_in_total{protocol="wamp.2.json",type="CALL"}')).toBe(2);
    expect(sample(text, 'switchboard_messages_out_total{protocol="wamp.2.json",type="INVOCATION"}')).toBe(1);
    expect(sample(text, 'switchboard_messages_in_total{protocol="mqtt",type="PUBLISH"}')).toBe(1);
    expect(sample(text, 'switchboard_messages_out_total{protocol="mqtt",type="PUBLISH"}')).toBe(1);
    expect(sample(text, 'switchboard_bytes_in_total{protocol="mqtt"}')).toBeGreaterThan(0);
    expect(sample(text, 'switchboard_rpc_calls_total{outcome="result"}')).toBe(1);
    expect(sample(text, 'switchboard_rpc_calls_total{outcome="no_such_procedure"}')).toBe(1);
    expect(sample(text, 'switchboard_rpc_call_duration_seconds_count{outcome="result"}')).toBe(1);
    expect(sample(text, 'switchboard_auth_failures_total{protocol="wamp.2.json",reason="denied"}')).toBe(1);
    expect(sample(text, 'switchboard_sessions')).toBe(2);
    expect(sample(text, 'switchboard_subscriptions')).toBe(1);
    expect(text).toMatch(/^# TYPE switchboard_connection_lifetime_seconds histogram$/m);
    expect(text).toMatch(/^# TYPE nodejs_eventloop_lag_seconds gauge$/m);
    expect(text).toMatch(/^process_cpu_seconds_total /m);
  });

  it('counts disconnects by reason and limit hits', async () => {
    router = await startTestRouter({ limits: { maxConnections: 1 } });
    const [first] = await RawWamp.session(router.url, 'json');
    const refused = await RawWamp.connect(router.url, 'json').catch((error: Error) => error);
    expect(refused).toBeInstanceOf(Error);
    first.send({ not: 'a list' });
    await first.waitClosed();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const text = await scrape(router.port);
    expect(sample(text, 'switchboard_limit_hits_total{limit="max_connections"}')).toBe(1);
    expect(sample(text, 'switchboard_disconnects_total{protocol="wamp.2.json",reason="protocol_error"}')).toBe(1);
    expect(sample(text, 'switchboard_connections_open{protocol="wamp.2.json"}')).toBe(0);
  });

  it('serves /metrics on its own port when metrics.port is set, and not on the main one', async () => {
    const port = await freePort();
    router = await startTestRouter({ metrics: { enabled: true, port } });
    expect((await fetch(`http://127.0.0.1:${router.port}/metrics`)).status).toBe(404);
    expect(await scrape(port)).toMatch(/switchboard_connections_open/);
  });

  it('metrics.enabled false serves no /metrics', async () => {
    router = await startTestRouter({ metrics: { enabled: false, port: 0 } });
    expect((await fetch(`http://127.0.0.1:${router.port}/metrics`)).status).toBe(404);
  });
});
