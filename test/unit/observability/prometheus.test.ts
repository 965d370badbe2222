import { afterEach, describe, expect, it } from 'vitest';
import { allowAll } from '../../../src/auth/authorizer.js';
import { Router } from '../../../src/core/router.js';
import type { Metrics } from '../../../src/observability/metrics.js';
import {
  MAX_SERIES,
  OVERFLOW_LABEL,
  PrometheusMetrics,
  routerStats,
  type PrometheusMetricsOptions,
} from '../../../src/observability/prometheus.js';

const started: PrometheusMetrics[] = [];
afterEach(() => {
  for (const metrics of started.splice(0)) metrics.stop();
});

/** An instance stopped after the test; process metrics off unless asked, to keep the text small. */
function make(options: PrometheusMetricsOptions = {}): PrometheusMetrics {
  const metrics = new PrometheusMetrics({ collectDefault: false, ...options });
  started.push(metrics);
  return metrics;
}

/** The `# TYPE` of a metric in exposition text, or undefined if absent. */
function typeOf(text: string, name: string): string | undefined {
  return new RegExp(`^# TYPE ${name} (\\w+)$`, 'm').exec(text)?.[1];
}

/** The value of one sample, by name and exact label set (in the order prom-client prints them). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const entries = Object.entries(labels);
  const labelText = entries.length === 0 ? '' : `{${entries.map(([k, v]) => `${k}="${v}"`).join(',')}}`;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}${labelText} `)) return Number(line.slice(name.length + labelText.length + 1));
  }
  return undefined;
}

/** How many sample lines a metric has. */
function samples(text: string, name: string): number {
  return text.split('\n').filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `)).length;
}

const P = 'switchboard_';
const WAMP = 'wamp.2.json';

describe('PrometheusMetrics', () => {
  it('implements Metrics and declares every metric with its type', async () => {
    const metrics: Metrics = make({ router: () => ({ sessionCount: 0, subscriptions: 0, registrations: 0 }) });
    const text = await (metrics as PrometheusMetrics).text();
    const expected: Record<string, string> = {
      connections_open: 'gauge',
      connection_lifetime_seconds: 'histogram',
      connects_total: 'counter',
      disconnects_total: 'counter',
      auth_failures_total: 'counter',
      messages_in_total: 'counter',
      messages_out_total: 'counter',
      bytes_in_total: 'counter',
      bytes_out_total: 'counter',
      dropped_messages_total: 'counter',
      limit_hits_total: 'counter',
      rpc_calls_total: 'counter',
      rpc_call_duration_seconds: 'histogram',
      sessions: 'gauge',
      subscriptions: 'gauge',
      registrations: 'gauge',
    };
    for (const [name, type] of Object.entries(expected)) expect(typeOf(text, P + name), name).toBe(type);
    expect(text).toMatch(/^# HELP switchboard_connections_open \S/m);
  });

  it('counts connections: the open gauge goes up and down, connects and disconnects by label', async () => {
    const metrics = make();
    metrics.connectionOpened(WAMP);
    metrics.connectionOpened(WAMP);
    metrics.connectionOpened('mqtt');
    let text = await metrics.text();
    expect(sample(text, `${P}connections_open`, { protocol: WAMP })).toBe(2);
    expect(sample(text, `${P}connections_open`, { protocol: 'mqtt' })).toBe(1);
    expect(sample(text, `${P}connects_total`, { protocol: WAMP })).toBe(2);

    metrics.connectionClosed(WAMP, 'normal', 500);
    metrics.connectionClosed(WAMP, 'protocol_error', 500);
    metrics.connectionClosed('mqtt', 'normal', 500);
    text = await metrics.text();
    expect(sample(text, `${P}connections_open`, { protocol: WAMP })).toBe(0);
    expect(sample(text, `${P}connections_open`, { protocol: 'mqtt' })).toBe(0);
    expect(sample(text, `${P}connects_total`, { protocol: WAMP })).toBe(2);
    expect(sample(text, `${P}connects_total`, { protocol: 'mqtt' })).toBe(1);
    expect(sample(text, `${P}disconnects_total`, { protocol: WAMP, reason: 'normal' })).toBe(1);
    expect(sample(text, `${P}disconnects_total`, { protocol: WAMP, reason: 'protocol_error' })).toBe(1);
    expect(sample(text, `${P}disconnects_total`, { protocol: 'mqtt', reason: 'normal' })).toBe(1);

    metrics.connectionOpened(WAMP);
    text = await metrics.text();
    expect(sample(text, `${P}connections_open`, { protocol: WAMP })).toBe(1);
    expect(sample(text, `${P}connects_total`, { protocol: WAMP })).toBe(3);
  });

  it('puts connection lifetimes, in seconds, in the right buckets', async () => {
    const metrics = make();
    metrics.connectionOpened('mqtt');
    metrics.connectionOpened('mqtt');
    metrics.connectionOpened('mqtt');
    metrics.connectionClosed('mqtt', 'normal', 5_000); // 5 s
    metrics.connectionClosed('mqtt', 'normal', 7_200_000); // 2 h
    metrics.connectionClosed('mqtt', 'normal', 200_000_000); // over a day
    const text = await metrics.text();
    const bucket = (le: string): number | undefined =>
      sample(text, `${P}connection_lifetime_seconds_bucket`, { le, protocol: 'mqtt' });
    expect(bucket('1')).toBe(0);
    expect(bucket('10')).toBe(1);
    expect(bucket('3600')).toBe(1);
    expect(bucket('21600')).toBe(2);
    expect(bucket('86400')).toBe(2);
    expect(bucket('+Inf')).toBe(3);
    expect(sample(text, `${P}connection_lifetime_seconds_count`, { protocol: 'mqtt' })).toBe(3);
    expect(sample(text, `${P}connection_lifetime_seconds_sum`, { protocol: 'mqtt' })).toBeCloseTo(5 + 7200 + 200_000);
  });

  it('counts refused logins by protocol and reason', async () => {
    const metrics = make();
    metrics.authFailed(WAMP, 'denied');
    metrics.authFailed(WAMP, 'denied');
    metrics.authFailed('mqtt', 'failed');
    const text = await metrics.text();
    expect(sample(text, `${P}auth_failures_total`, { protocol: WAMP, reason: 'denied' })).toBe(2);
    expect(sample(text, `${P}auth_failures_total`, { protocol: 'mqtt', reason: 'failed' })).toBe(1);
    expect(samples(text, `${P}auth_failures_total`)).toBe(2);
  });

  it('counts messages by protocol and type, and their bytes by protocol', async () => {
    const metrics = make();
    metrics.messageIn(WAMP, 'PUBLISH', 100);
    metrics.messageIn(WAMP, 'PUBLISH', 50);
    metrics.messageIn(WAMP, 'CALL', 10);
    metrics.messageIn('mqtt', 'PUBLISH', 7);
    metrics.messageOut(WAMP, 'EVENT', 120);
    metrics.messageOut(WAMP, 'EVENT', 120);
    metrics.messageOut('mqtt', 'PUBACK', 4);
    const text = await metrics.text();
    expect(sample(text, `${P}messages_in_total`, { protocol: WAMP, type: 'PUBLISH' })).toBe(2);
    expect(sample(text, `${P}messages_in_total`, { protocol: WAMP, type: 'CALL' })).toBe(1);
    expect(sample(text, `${P}messages_in_total`, { protocol: 'mqtt', type: 'PUBLISH' })).toBe(1);
    expect(sample(text, `${P}messages_out_total`, { protocol: WAMP, type: 'EVENT' })).toBe(2);
    expect(sample(text, `${P}messages_out_total`, { protocol: 'mqtt', type: 'PUBACK' })).toBe(1);
    expect(sample(text, `${P}bytes_in_total`, { protocol: WAMP })).toBe(160);
    expect(sample(text, `${P}bytes_in_total`, { protocol: 'mqtt' })).toBe(7);
    expect(sample(text, `${P}bytes_out_total`, { protocol: WAMP })).toBe(240);
    expect(sample(text, `${P}bytes_out_total`, { protocol: 'mqtt' })).toBe(4);
  });

  it('counts dropped messages by reason and limit hits by limit', async () => {
    const metrics = make();
    metrics.dropped('slow_consumer');
    metrics.dropped('slow_consumer');
    metrics.dropped('too_large');
    metrics.limitHit('max_connections');
    metrics.limitHit('handshake_timeout');
    metrics.limitHit('max_connections');
    const text = await metrics.text();
    expect(sample(text, `${P}dropped_messages_total`, { reason: 'slow_consumer' })).toBe(2);
    expect(sample(text, `${P}dropped_messages_total`, { reason: 'too_large' })).toBe(1);
    expect(sample(text, `${P}limit_hits_total`, { limit: 'max_connections' })).toBe(2);
    expect(sample(text, `${P}limit_hits_total`, { limit: 'handshake_timeout' })).toBe(1);
  });

  it('counts calls by outcome and puts their durations, in seconds, in the right buckets', async () => {
    const metrics = make();
    metrics.callEnded('result', 3); // 3 ms
    metrics.callEnded('result', 0.5); // under 1 ms
    metrics.callEnded('timeout', 120_000); // beyond 60 s
    metrics.callEnded('error', 45_000);
    const text = await metrics.text();
    expect(sample(text, `${P}rpc_calls_total`, { outcome: 'result' })).toBe(2);
    expect(sample(text, `${P}rpc_calls_total`, { outcome: 'timeout' })).toBe(1);
    expect(sample(text, `${P}rpc_calls_total`, { outcome: 'error' })).toBe(1);
    const bucket = (outcome: string, le: string): number | undefined =>
      sample(text, `${P}rpc_call_duration_seconds_bucket`, { le, outcome });
    expect(bucket('result', '0.001')).toBe(1);
    expect(bucket('result', '0.0025')).toBe(1);
    expect(bucket('result', '0.005')).toBe(2);
    expect(bucket('timeout', '60')).toBe(0);
    expect(bucket('timeout', '+Inf')).toBe(1);
    expect(bucket('error', '30')).toBe(0);
    expect(bucket('error', '60')).toBe(1);
    expect(sample(text, `${P}rpc_call_duration_seconds_sum`, { outcome: 'result' })).toBeCloseTo(0.0035);
    expect(sample(text, `${P}rpc_call_duration_seconds_count`, { outcome: 'timeout' })).toBe(1);
  });

  it('tolerates odd numbers without breaking the scrape', async () => {
    const metrics = make();
    metrics.callEnded('result', Number.NaN);
    metrics.callEnded('result', -5);
    metrics.connectionOpened('mqtt');
    metrics.connectionClosed('mqtt', 'normal', Number.POSITIVE_INFINITY);
    metrics.messageIn('mqtt', 'PUBLISH', Number.NaN);
    metrics.messageOut('mqtt', 'PUBLISH', Number.POSITIVE_INFINITY);
    metrics.messageOut('mqtt', 'PUBLISH', -3);
    const text = await metrics.text();
    expect(sample(text, `${P}rpc_calls_total`, { outcome: 'result' })).toBe(2);
    expect(sample(text, `${P}rpc_call_duration_seconds_count`, { outcome: 'result' })).toBe(1); // NaN not observed
    expect(sample(text, `${P}rpc_call_duration_seconds_bucket`, { le: '0.001', outcome: 'result' })).toBe(1); // -5 as 0
    expect(sample(text, `${P}disconnects_total`, { protocol: 'mqtt', reason: 'normal' })).toBe(1);
    expect(sample(text, `${P}messages_in_total`, { protocol: 'mqtt', type: 'PUBLISH' })).toBe(1);
    expect(sample(text, `${P}messages_out_total`, { protocol: 'mqtt', type: 'PUBLISH' })).toBe(2);
    expect(sample(text, `${P}bytes_out_total`, { protocol: 'mqtt' }) ?? 0).toBe(0);
  });

  it('caps the label combinations of a metric and counts the rest as overflow', async () => {
    const metrics = make();
    for (let i = 0; i < MAX_SERIES + 10; i++) metrics.dropped(`reason_${i}`);
    metrics.dropped('reason_0'); // a known one still counts under its own label
    metrics.dropped('another_new_one');
    const text = await metrics.text();
    expect(samples(text, `${P}dropped_messages_total`)).toBe(MAX_SERIES + 1);
    expect(sample(text, `${P}dropped_messages_total`, { reason: 'reason_0' })).toBe(2);
    expect(sample(text, `${P}dropped_messages_total`, { reason: OVERFLOW_LABEL })).toBe(11);
  });

  it('reads the router gauges from the callback at each scrape', async () => {
    let stats = { sessionCount: 3, subscriptions: 7, registrations: 2 };
    let calls = 0;
    const metrics = make({
      router: () => {
        calls++;
        return stats;
      },
    });
    expect(calls).toBe(0);
    let text = await metrics.text();
    expect(sample(text, `${P}sessions`)).toBe(3);
    expect(sample(text, `${P}subscriptions`)).toBe(7);
    expect(sample(text, `${P}registrations`)).toBe(2);
    expect(calls).toBeGreaterThan(0);

    stats = { sessionCount: 1, subscriptions: 0, registrations: 9 };
    text = await metrics.text();
    expect(sample(text, `${P}sessions`)).toBe(1);
    expect(sample(text, `${P}subscriptions`)).toBe(0);
    expect(sample(text, `${P}registrations`)).toBe(9);
  });

  it('leaves the router gauges out without a router callback', async () => {
    const text = await make().text();
    expect(typeOf(text, `${P}sessions`)).toBeUndefined();
    expect(typeOf(text, `${P}subscriptions`)).toBeUndefined();
    expect(typeOf(text, `${P}registrations`)).toBeUndefined();
  });

  it('routerStats sums over the realms of a Router', async () => {
    const router = new Router(allowAll);
    const one = router.addRealm('realm1', { uriCheck: 'loose' });
    const two = router.addRealm('realm2', { uriCheck: 'loose' });
    const read = routerStats(router);
    const expected = {
      sessionCount: router.sessionCount,
      subscriptions: one.broker.subscriptionCount + two.broker.subscriptionCount,
      registrations: one.dealer.registrationCount + two.dealer.registrationCount,
    };
    expect(read()).toEqual(expected);
    const text = await make({ router: read }).text();
    expect(sample(text, `${P}sessions`)).toBe(expected.sessionCount);
    expect(sample(text, `${P}subscriptions`)).toBe(expected.subscriptions);
    expect(sample(text, `${P}registrations`)).toBe(expected.registrations);
  });

  it('keeps two instances apart', async () => {
    const a = make();
    const b = make();
    a.connectionOpened(WAMP);
    a.messageIn(WAMP, 'HELLO', 20);
    b.dropped('offline');
    const [textA, textB] = [await a.text(), await b.text()];
    expect(sample(textA, `${P}connections_open`, { protocol: WAMP })).toBe(1);
    expect(sample(textB, `${P}connections_open`, { protocol: WAMP })).toBeUndefined();
    expect(sample(textB, `${P}messages_in_total`, { protocol: WAMP, type: 'HELLO' })).toBeUndefined();
    expect(sample(textA, `${P}dropped_messages_total`, { reason: 'offline' })).toBeUndefined();
    expect(sample(textB, `${P}dropped_messages_total`, { reason: 'offline' })).toBe(1);
    expect(a.registry).not.toBe(b.registry);
  });

  it('uses the prefix for every metric name', async () => {
    const metrics = make({ prefix: 'edge_' });
    metrics.connectionOpened('mqtt');
    const text = await metrics.text();
    expect(sample(text, 'edge_connections_open', { protocol: 'mqtt' })).toBe(1);
    expect(text).not.toContain('switchboard_');
  });

  it('includes no process metrics with collectDefault: false', async () => {
    const text = await make({ collectDefault: false }).text();
    expect(text).not.toContain('nodejs_');
    expect(text).not.toContain('process_');
  });

  it('includes the process metrics by default under their standard names, event-loop lag among them', async () => {
    const a = make({ collectDefault: true });
    const b = make({ collectDefault: true });
    a.connectionOpened('mqtt');
    const text = await a.text();
    expect(typeOf(text, `nodejs_eventloop_lag_seconds`)).toBe('gauge');
    expect(typeOf(text, `process_cpu_seconds_total`)).toBe('counter');
    expect(typeOf(text, `process_resident_memory_bytes`) ?? typeOf(text, `nodejs_heap_size_used_bytes`)).toBe(
      'gauge',
    );
    expect(sample(text, `${P}connections_open`, { protocol: 'mqtt' })).toBe(1);
    // Each metric appears once, and the second instance sees the process metrics but not a's own.
    expect(text.match(/^# TYPE nodejs_eventloop_lag_seconds /gm)).toHaveLength(1);
    const textB = await b.text();
    expect(typeOf(textB, `nodejs_eventloop_lag_seconds`)).toBe('gauge');
    expect(sample(textB, `${P}connections_open`, { protocol: 'mqtt' })).toBeUndefined();
  });

  it('exposes the Prometheus text content type', () => {
    expect(make().contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  });

  it('stop() removes every metric and leaves other instances working', async () => {
    const a = make({ collectDefault: true, router: () => ({ sessionCount: 1, subscriptions: 1, registrations: 1 }) });
    const b = make({ collectDefault: true });
    a.connectionOpened(WAMP);
    b.connectionOpened(WAMP);
    a.stop();
    a.connectionOpened(WAMP); // harmless after stop
    const textA = await a.text();
    expect(textA).not.toContain(P);
    expect(textA).not.toContain('nodejs_');
    const textB = await b.text();
    expect(sample(textB, `${P}connections_open`, { protocol: WAMP })).toBe(1);
    expect(typeOf(textB, `nodejs_eventloop_lag_seconds`)).toBe('gauge');
    a.stop(); // twice is fine
  });
});
