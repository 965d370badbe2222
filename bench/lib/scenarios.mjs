// The scenarios of the benchmark (issue 7), the systems each runs on, and the targets read off the results.

const MQTT_PEERS = ['switchboard', 'aedes', 'fox', 'mosquitto'];

function mqttFanouts() {
  const list = [];
  for (const subscribers of [1, 100, 1000]) {
    for (const qos of [0, 1]) {
      for (const transport of ['ws', 'tcp']) {
        list.push({
          id: `mqtt-${transport}-fanout-${subscribers}-q${qos}`,
          label: `MQTT/${transport === 'ws' ? 'WS' : 'TCP'} fan-out 1→${subscribers} QoS ${qos}`,
          kind: 'mqtt-fanout',
          transport,
          subscribers,
          qos,
          // The baseline cannot acknowledge, so it has no QoS 1 figure; over TCP it would forward whole chunks
          // with no per-message work at all, which is a pipe, not a ceiling for a router: WebSocket only.
          systems: qos === 0 && transport === 'ws' ? [...MQTT_PEERS, 'baseline'] : MQTT_PEERS,
        });
      }
    }
  }
  return list;
}

export const SCENARIOS = [
  ...mqttFanouts(),
  ...[0, 1].map((qos) => ({
    id: `mqtt-tcp-fanin-100-q${qos}`,
    label: `MQTT/TCP fan-in 100→1 (bench/in/+) QoS ${qos}`,
    kind: 'mqtt-fanin',
    transport: 'tcp',
    publishers: 100,
    qos,
    systems: MQTT_PEERS,
  })),
  ...['json', 'cbor'].flatMap((serialization) =>
    [1, 100, 1000].map((subscribers) => ({
      id: `wamp-${serialization}-fanout-${subscribers}`,
      label: `WAMP ${serialization.toUpperCase()} fan-out 1→${subscribers}`,
      kind: 'wamp-fanout',
      serialization,
      subscribers,
      systems: serialization === 'json' ? ['switchboard', 'fox', 'baseline'] : ['switchboard', 'baseline'],
    })),
  ),
  ...['json', 'cbor'].flatMap((serialization) =>
    [1, 10, 100].map((callers) => ({
      id: `wamp-${serialization}-rpc-${callers}`,
      label: `WAMP ${serialization.toUpperCase()} RPC, ${callers} caller${callers > 1 ? 's' : ''} → 1 callee`,
      kind: 'wamp-rpc',
      serialization,
      callers,
      latencyRate: 1000,
      systems: serialization === 'json' ? ['switchboard', 'fox'] : ['switchboard'],
    })),
  ),
  {
    id: 'cross-pubsub-100',
    label: 'MQTT/TCP publisher → 100 WAMP JSON subscribers',
    kind: 'cross-pubsub',
    subscribers: 100,
    systems: ['switchboard', 'fox'],
  },
  {
    id: 'cross-rpc-10',
    label: '10 WAMP JSON callers → MQTT/TCP callee ($rpc)',
    kind: 'cross-rpc',
    callers: 10,
    latencyRate: 1000,
    systems: ['switchboard'],
  },
  ...[
    ['mqtt-ws', 'MQTT/WS', [...MQTT_PEERS, 'baseline', 'baselineRoundTrip']],
    ['mqtt-tcp', 'MQTT/TCP', [...MQTT_PEERS, 'baseline', 'baselineRoundTrip']],
    ['wamp', 'WAMP JSON', ['switchboard', 'fox', 'baseline', 'baselineRoundTrip']],
  ].map(([protocol, name, systems]) => ({
    id: `conn-${protocol}`,
    label: `${name}: 10,000 idle connections`,
    kind: 'connections',
    protocol,
    count: 10000,
    systems,
  })),
];

/** --quick: one row per kind of scenario, fewer subscribers where the full run has 1,000. */
export const QUICK = [
  'mqtt-ws-fanout-100-q0',
  'mqtt-tcp-fanout-100-q0',
  'mqtt-ws-fanout-100-q1',
  'mqtt-tcp-fanin-100-q1',
  'wamp-json-fanout-100',
  'wamp-cbor-fanout-100',
  'wamp-json-rpc-10',
  'cross-pubsub-100',
  'cross-rpc-10',
  'conn-mqtt-ws',
  'conn-wamp',
];

export const DURATIONS = {
  full: { warmMs: 500, measureMs: 3000, latencyMs: 2000, connections: 10000 },
  quick: { warmMs: 300, measureMs: 800, latencyMs: 600, connections: 1000 },
  smoke: { warmMs: 200, measureMs: 500, latencyMs: 300, connections: 100 },
};

/** Offered rate of the latency phase: deliveries (or calls) per second, unless the scenario sets its own. */
export const LATENCY_RATE = 5000;

/**
 * Issue 7's targets. `check(get)` gets a lookup `get(scenarioId, system)` returning the result (or undefined)
 * and returns { ratio, met, text } entries.
 */
export const TARGETS = [
  ...[0, 1].map((qos) => ({
    name: `MQTT/WS fan-out 1→1000 QoS ${qos}: ≥ 1× Mosquitto, ≥ 4× Aedes, ≥ 1.5× fox-wamp`,
    parts: [
      { scenario: `mqtt-ws-fanout-1000-q${qos}`, peer: 'mosquitto', min: 1 },
      { scenario: `mqtt-ws-fanout-1000-q${qos}`, peer: 'aedes', min: 4 },
      { scenario: `mqtt-ws-fanout-1000-q${qos}`, peer: 'fox', min: 1.5 },
    ],
  })),
  { name: 'MQTT/TCP fan-out 1→100 QoS 0: ≥ 0.8× Mosquitto', parts: [{ scenario: 'mqtt-tcp-fanout-100-q0', peer: 'mosquitto', min: 0.8 }] },
  {
    name: 'MQTT fan-in 100→1 QoS 1: ≥ 0.8× Mosquitto, 0 acknowledged messages lost',
    parts: [{ scenario: 'mqtt-tcp-fanin-100-q1', peer: 'mosquitto', min: 0.8 }],
    lostAcked: 'mqtt-tcp-fanin-100-q1',
  },
  {
    name: 'WAMP fan-out 1→1000, JSON and CBOR: ≥ 0.9× the raw ws baseline',
    parts: [
      { scenario: 'wamp-json-fanout-1000', peer: 'baseline', min: 0.9 },
      { scenario: 'wamp-cbor-fanout-1000', peer: 'baseline', min: 0.9 },
    ],
  },
  { name: 'WAMP RPC, 10 callers: ≥ 2× fox-wamp calls/s', parts: [{ scenario: 'wamp-json-rpc-10', peer: 'fox', min: 2 }] },
  {
    name: 'p99 latency 1→100 at 5k deliveries/s: ≤ 1.2× the baseline',
    parts: [
      { scenario: 'mqtt-ws-fanout-100-q0', peer: 'baseline', maxP99: 1.2 },
      { scenario: 'wamp-json-fanout-100', peer: 'baseline', maxP99: 1.2 },
    ],
  },
  {
    name: 'RSS per 1,000 idle WebSocket connections: ≤ 8 MB',
    parts: [
      { scenario: 'conn-mqtt-ws', maxRss: 8 },
      { scenario: 'conn-wamp', maxRss: 8 },
    ],
  },
  {
    name: 'connects/s: ≥ 0.9× the baseline',
    parts: [
      { scenario: 'conn-mqtt-ws', peer: 'baseline', min: 0.9 },
      { scenario: 'conn-mqtt-tcp', peer: 'baseline', min: 0.9 },
      { scenario: 'conn-wamp', peer: 'baseline', min: 0.9 },
    ],
  },
];
