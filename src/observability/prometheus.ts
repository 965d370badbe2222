/**
 * The Prometheus implementation of `Metrics`: what the router reports, exposed as text for a `/metrics` endpoint.
 *
 * Each instance has its own `Registry` (never prom-client's global one), so several routers in one process do not
 * clash. The hot path stays cheap:
 * - counters and the open-connections gauge are plain numbers in cells found through small Maps keyed by label
 *   value; prom-client hears their totals only at scrape time (the metric's `collect()`), so a message in or out
 *   costs two Map lookups and two additions, with no allocation once its labels were seen;
 * - histograms (connection lifetime, call duration) observe through prom-client label children cached the same way.
 * Label values come from the router's own vocabulary (protocols, message types, reasons, outcomes); should a caller
 * ever pass unbounded values, each metric keeps at most `MAX_SERIES` label combinations and counts the rest under
 * the label value `OVERFLOW_LABEL`.
 *
 * Process metrics (`collectDefault`, on by default): prom-client's default collectors, under their standard names. They
 * describe the process, not a router, and prom-client 15 offers no way to switch them off once started (the
 * event-loop delay monitor and the GC observer run for the life of the process; neither keeps it alive). So they are
 * started at most once per process and prefix, in a registry shared by the instances that ask for them, and `text()`
 * appends that registry's output to the instance's own.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Router } from '../core/router.js';
import type { MessageCounter, Metrics } from './metrics.js';

/** What the router gauges read at scrape time. */
export interface RouterStats {
  sessionCount: number;
  subscriptions: number;
  registrations: number;
}

export interface PrometheusMetricsOptions {
  /** Read at each scrape for the `sessions`, `subscriptions` and `registrations` gauges; without it they are absent. */
  router?: () => RouterStats;
  /** Prepended to every metric name, the process metrics' included. Default `switchboard_`. */
  prefix?: string;
  /** Include prom-client's process metrics (`nodejs_eventloop_lag_seconds`, CPU, memory...). Default true. */
  collectDefault?: boolean;
}

/** Connection lifetime buckets, in seconds: 1 s to 1 day. */
export const LIFETIME_BUCKETS: readonly number[] = [1, 10, 60, 300, 1800, 3600, 21600, 86400];
/** Call duration buckets, in seconds: 1 ms to 60 s. */
export const CALL_DURATION_BUCKETS: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];
/** At most this many label combinations per metric; further ones are counted under `OVERFLOW_LABEL`. */
export const MAX_SERIES = 500;
export const OVERFLOW_LABEL = '_overflow';

/** A counter or gauge value with its labels, built once per label combination. */
interface Cell {
  readonly labels: Record<string, string>;
  value: number;
}

/** Values keyed by one label value, made on first use; at most `MAX_SERIES` of them. */
class Keyed1<V> {
  readonly values: V[] = [];
  private readonly map = new Map<string, V>();

  constructor(private readonly make: (a: string) => V) {}

  get(a: string): V {
    return this.map.get(a) ?? this.add(a);
  }

  private add(a: string): V {
    if (this.values.length >= MAX_SERIES) {
      a = OVERFLOW_LABEL;
      const overflow = this.map.get(a);
      if (overflow !== undefined) return overflow;
    }
    const value = this.make(a);
    this.map.set(a, value);
    this.values.push(value);
    return value;
  }
}

/** Values keyed by two label values, made on first use; at most `MAX_SERIES` of them. */
class Keyed2<V> {
  readonly values: V[] = [];
  private readonly map = new Map<string, Map<string, V>>();

  constructor(private readonly make: (a: string, b: string) => V) {}

  get(a: string, b: string): V {
    return this.map.get(a)?.get(b) ?? this.add(a, b);
  }

  private add(a: string, b: string): V {
    if (this.values.length >= MAX_SERIES) {
      a = OVERFLOW_LABEL;
      b = OVERFLOW_LABEL;
      const overflow = this.map.get(a)?.get(b);
      if (overflow !== undefined) return overflow;
    }
    let inner = this.map.get(a);
    if (inner === undefined) {
      inner = new Map();
      this.map.set(a, inner);
    }
    const value = this.make(a, b);
    inner.set(b, value);
    this.values.push(value);
    return value;
  }
}

const cells1 = (name: string): Keyed1<Cell> => new Keyed1((a) => ({ labels: { [name]: a }, value: 0 }));
const cells2 = (first: string, second: string): Keyed2<Cell> =>
  new Keyed2((a, b) => ({ labels: { [first]: a, [second]: b }, value: 0 }));

/** Process metrics, started at most once per prefix: prom-client cannot stop them (see the file comment). */
const processRegistries = new Map<string, Registry>();

function processRegistry(prefix: string): Registry {
  let registry = processRegistries.get(prefix);
  if (registry === undefined) {
    registry = new Registry();
    collectDefaultMetrics({ register: registry, prefix });
    processRegistries.set(prefix, registry);
  }
  return registry;
}

/** Sessions, subscriptions and registrations over every realm of a router, for the `router` option. */
export function routerStats(router: Router): () => RouterStats {
  return () => {
    let subscriptions = 0;
    let registrations = 0;
    for (const name of router.realmNames) {
      const realm = router.realm(name);
      if (realm === undefined) continue;
      subscriptions += realm.broker.subscriptionCount;
      registrations += realm.dealer.registrationCount;
    }
    return { sessionCount: router.sessionCount, subscriptions, registrations };
  };
}

type Observer = { observe(value: number): void };

export class PrometheusMetrics implements Metrics {
  /** This instance's own metrics (the shared process metrics are not in it). */
  readonly registry = new Registry();
  readonly prefix: string;
  private processMetrics: Registry | undefined;

  private readonly open = cells1('protocol');
  private readonly connects = cells1('protocol');
  private readonly disconnects = cells2('protocol', 'reason');
  private readonly authFailures = cells2('protocol', 'reason');
  private readonly messagesIn = cells2('protocol', 'type');
  private readonly messagesOut = cells2('protocol', 'type');
  private readonly bytesIn = cells1('protocol');
  private readonly bytesOut = cells1('protocol');
  private readonly drops = cells1('reason');
  private readonly limits = cells1('limit');
  private readonly calls = cells1('outcome');
  private readonly lifetimes: Keyed1<Observer>;
  private readonly callDurations: Keyed1<Observer>;

  constructor(options: PrometheusMetricsOptions = {}) {
    this.prefix = options.prefix ?? 'switchboard_';
    const registers = [this.registry];

    const gaugeOf = (name: string, help: string, labelNames: string[], cells: Keyed1<Cell>): void => {
      new Gauge({
        name: this.prefix + name,
        help,
        labelNames,
        registers,
        collect() {
          for (const cell of cells.values) this.set(cell.labels, cell.value);
        },
      });
    };
    const counterOf = (name: string, help: string, labelNames: string[], cells: Keyed1<Cell> | Keyed2<Cell>): void => {
      new Counter({
        name: this.prefix + name,
        help,
        labelNames,
        registers,
        collect() {
          this.reset();
          for (const cell of cells.values) this.inc(cell.labels, cell.value);
        },
      });
    };

    gaugeOf('connections_open', 'Connections open now, by protocol.', ['protocol'], this.open);
    const lifetime = new Histogram({
      name: `${this.prefix}connection_lifetime_seconds`,
      help: 'How long closed connections were open, in seconds, by protocol.',
      labelNames: ['protocol'],
      buckets: [...LIFETIME_BUCKETS],
      registers,
    });
    this.lifetimes = new Keyed1((protocol) => lifetime.labels(protocol));
    counterOf('connects_total', 'Connections opened, by protocol.', ['protocol'], this.connects);
    counterOf('disconnects_total', 'Connections closed, by protocol and reason.', ['protocol', 'reason'], this.disconnects);
    counterOf('auth_failures_total', 'Refused logins, by protocol and reason.', ['protocol', 'reason'], this.authFailures);
    counterOf('messages_in_total', 'Messages received, by protocol and type.', ['protocol', 'type'], this.messagesIn);
    counterOf('messages_out_total', 'Messages sent, by protocol and type.', ['protocol', 'type'], this.messagesOut);
    counterOf('bytes_in_total', 'Bytes of messages received, by protocol.', ['protocol'], this.bytesIn);
    counterOf('bytes_out_total', 'Bytes of messages sent, by protocol.', ['protocol'], this.bytesOut);
    counterOf('dropped_messages_total', 'Messages not delivered, by reason.', ['reason'], this.drops);
    counterOf('limit_hits_total', 'Limits hit, by limit.', ['limit'], this.limits);
    counterOf('rpc_calls_total', 'Calls ended, by outcome.', ['outcome'], this.calls);
    const duration = new Histogram({
      name: `${this.prefix}rpc_call_duration_seconds`,
      help: 'How long calls took to end, in seconds, by outcome.',
      labelNames: ['outcome'],
      buckets: [...CALL_DURATION_BUCKETS],
      registers,
    });
    this.callDurations = new Keyed1((outcome) => duration.labels(outcome));

    const router = options.router;
    if (router !== undefined) {
      const routerGauge = (name: string, help: string, read: (stats: RouterStats) => number): void => {
        new Gauge({
          name: this.prefix + name,
          help,
          registers,
          collect() {
            this.set(read(router()));
          },
        });
      };
      routerGauge('sessions', 'Sessions joined to any realm.', (stats) => stats.sessionCount);
      routerGauge('subscriptions', 'Subscriptions over every realm.', (stats) => stats.subscriptions);
      routerGauge('registrations', 'Registrations over every realm.', (stats) => stats.registrations);
    }

    // Node's process metrics keep their standard names (`nodejs_eventloop_lag_seconds`...), which dashboards expect.
    if (options.collectDefault ?? true) this.processMetrics = processRegistry('');
  }

  /** The exposition content type, for the response's `Content-Type`. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition text: this instance's metrics, then the process metrics if enabled. */
  async text(): Promise<string> {
    const own = await this.registry.metrics();
    const processMetrics = this.processMetrics;
    return processMetrics === undefined ? own : `${own}\n${await processMetrics.metrics()}`;
  }

  /** Removes every metric and detaches from the process metrics; `text()` is then empty. Nothing is left running. */
  stop(): void {
    this.registry.clear();
    this.processMetrics = undefined;
  }

  connectionOpened(protocol: string): void {
    this.open.get(protocol).value++;
    this.connects.get(protocol).value++;
  }

  connectionClosed(protocol: string, reason: string, lifetimeMs: number): void {
    this.open.get(protocol).value--;
    this.disconnects.get(protocol, reason).value++;
    if (Number.isFinite(lifetimeMs)) this.lifetimes.get(protocol).observe(lifetimeMs > 0 ? lifetimeMs / 1000 : 0);
  }

  authFailed(protocol: string, reason: string): void {
    this.authFailures.get(protocol, reason).value++;
  }

  messageIn(protocol: string, type: string, bytes: number): void {
    this.messagesIn.get(protocol, type).value++;
    if (bytes > 0 && bytes !== Infinity) this.bytesIn.get(protocol).value += bytes;
  }

  messageOut(protocol: string, type: string, bytes: number): void {
    this.messagesOut.get(protocol, type).value++;
    if (bytes > 0 && bytes !== Infinity) this.bytesOut.get(protocol).value += bytes;
  }

  /** The same cells `messageIn`/`messageOut` would find, found once: counting is then two additions. */
  messageCounter(direction: 'in' | 'out', protocol: string, type: string): MessageCounter {
    const messages = (direction === 'in' ? this.messagesIn : this.messagesOut).get(protocol, type);
    const bytes = (direction === 'in' ? this.bytesIn : this.bytesOut).get(protocol);
    return {
      count(size: number): void {
        messages.value++;
        if (size > 0 && size !== Infinity) bytes.value += size;
      },
    };
  }

  dropped(reason: string): void {
    this.drops.get(reason).value++;
  }

  callEnded(outcome: string, latencyMs: number): void {
    this.calls.get(outcome).value++;
    if (Number.isFinite(latencyMs)) this.callDurations.get(outcome).observe(latencyMs > 0 ? latencyMs / 1000 : 0);
  }

  limitHit(limit: string): void {
    this.limits.get(limit).value++;
  }
}
