// The load generator: runs one scenario against one running system and prints one line `RESULT {json}`.
// The harness (bench/run.mjs) starts it pinned to the core the system under test is not on.
// Usage: node bench/lib/generator.mjs '{"scenario": {...}, "endpoints": {...}, "sutPid": 123}'
//
// Every scenario has two phases:
// - throughput: the publisher (or callers) may run a fixed window ahead of what has been delivered, so the
//   system runs as fast as it can without queueing without bound; deliveries are counted over a measured
//   interval after a warm-up;
// - latency: a fixed offered rate well below saturation, with every message's send time kept under the
//   sequence number its payload carries, so each delivery gives one end-to-end latency sample.
// Both phases drain before they end: what never arrives is reported as lost.
import { readFileSync } from 'node:fs';
import { Decoder, Encoder } from 'cbor-x';
import mqttPacket from 'mqtt-packet';
import { Link, OP_BINARY, OP_TEXT, findStamp, jsonStampPayload, publishLayout, pubackFrame, readStampAt, stampPayload, tcpConnect, writeStamp, wsConnect, wsFrame } from './wire.mjs';

const { scenario, endpoints, sutPid } = JSON.parse(process.argv[2]);
const RUN = Math.random().toString(36).slice(2, 8); // client ids unique across runs against one broker
const now = () => performance.now();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ---- CPU and load accounting ----

const HZ = 100; // USER_HZ: the unit of /proc/*/stat times on Linux
function procCpuSeconds(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / HZ; // utime + stime
  } catch {
    return NaN;
  }
}
function machineBusySeconds() {
  const [, user, nice, system, , , irq, softirq, steal] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
  return (user + nice + system + irq + softirq + steal) / HZ;
}
function snapshot() {
  const self = process.cpuUsage();
  return { t: now(), sut: procCpuSeconds(sutPid), gen: (self.user + self.system) / 1e6, busy: machineBusySeconds() };
}
/** CPU use over an interval in % of one core: the system under test, this generator, and everything else. */
function cpuBetween(a, b) {
  const seconds = (b.t - a.t) / 1000;
  const sut = (b.sut - a.sut) / seconds;
  const gen = (b.gen - a.gen) / seconds;
  const other = (b.busy - a.busy) / seconds - sut - gen;
  const pct = (x) => Math.round(x * 100);
  return { sut: pct(sut), gen: pct(gen), other: Math.max(0, pct(other)) };
}
function rssBytes(pid) {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) * 1024 : NaN;
}

// ---- Clients ----

/** Runs `fn(i)` for i < count, at most `concurrency` at a time. */
async function pool(count, fn, concurrency = 64) {
  const results = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      results[i] = await fn(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return results;
}

const encodeMqtt = (packet) => mqttPacket.generate(packet);

/** An MQTT 3.1.1 client over `transport` (`ws` or `tcp`), logged in; for the baseline, just connected. */
async function mqttClient(endpoint, transport, clientId, role = 'sub') {
  let link;
  if (transport === 'ws') {
    const path = endpoint.baseline ? (role === 'pub' ? endpoint.pubPath : endpoint.path) : endpoint.path;
    const { socket, rest } = await wsConnect(endpoint.port, path, endpoint.baseline ? undefined : 'mqtt');
    link = new Link(socket, 'ws', 'mqtt', rest);
    if (endpoint.baseline) return link;
  } else {
    const port = endpoint.baseline && role === 'pub' ? endpoint.pubPort : endpoint.port;
    link = new Link(await tcpConnect(port), 'tcp', 'mqtt');
    if (endpoint.baseline) {
      await link.next(); // the forwarder's ready bytes
      return link;
    }
  }
  link.send(encodeMqtt({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: `${RUN}-${clientId}`, keepalive: 0, ...(endpoint.username ? { username: endpoint.username } : {}) }));
  const connack = await link.next();
  if (connack[0] >> 4 !== 2 || connack[3] !== 0) throw new Error(`CONNACK refused: ${connack.toString('hex')}`);
  return link;
}

async function mqttSubscribe(link, endpoint, filter, qos) {
  if (endpoint.baseline) return;
  link.send(encodeMqtt({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: filter, qos }] }));
  const suback = await link.next();
  if (suback[0] >> 4 !== 9 || suback[suback.length - 1] >= 0x80) throw new Error(`SUBACK refused: ${suback.toString('hex')}`);
}

/** A pre-encoded PUBLISH, framed for the transport, with where to patch its stamp and packet id. */
function publishTemplate(transport, topic, qos, json = false) {
  const packet = encodeMqtt({ cmd: 'publish', topic, payload: json ? jsonStampPayload() : stampPayload(), qos, messageId: qos ? 1 : undefined });
  const { frame, offset } = transport === 'ws' ? wsFrame(packet, OP_BINARY) : { frame: packet, offset: 0 };
  const stampAt = offset + packet.length - 64 + (json ? 1 : 0);
  return { frame, stampAt, idAt: qos ? stampAt - 2 : -1 };
}

const cbor = { enc: new Encoder({ useRecords: false }), dec: new Decoder({ useRecords: false, int64AsNumber: true }) };
function wampCodec(serialization) {
  return serialization === 'cbor'
    ? { opcode: OP_BINARY, enc: (m) => cbor.enc.encode(m), dec: (b) => cbor.dec.decode(b) }
    : { opcode: OP_TEXT, enc: (m) => Buffer.from(JSON.stringify(m)), dec: (b) => JSON.parse(b.toString()) };
}

async function wampClient(endpoint, serialization, role = 'sub') {
  const path = endpoint.baseline ? (role === 'pub' ? endpoint.pubPath : endpoint.path) : endpoint.path;
  const { socket, rest } = await wsConnect(endpoint.port, path, endpoint.baseline ? undefined : `wamp.2.${serialization}`);
  const link = new Link(socket, 'ws', 'msg', rest);
  if (endpoint.baseline) return link;
  const codec = wampCodec(serialization);
  link.send(codec.enc([1, 'realm1', { roles: { publisher: {}, subscriber: {}, caller: {}, callee: {} } }]), codec.opcode);
  const welcome = codec.dec(await link.next());
  if (welcome[0] !== 2) throw new Error(`no WELCOME: ${JSON.stringify(welcome).slice(0, 200)}`);
  return link;
}

/** Sends `request` and waits for the answer of type `expect`; returns it decoded. */
async function wampRequest(link, codec, request, expect) {
  link.send(codec.enc(request), codec.opcode);
  const answer = codec.dec(await link.next());
  if (answer[0] !== expect) throw new Error(`expected message ${expect}, got ${JSON.stringify(answer).slice(0, 200)}`);
  return answer;
}

/**
 * A WAMP message template: `message` is encoded once with a request id of 1e9 (ten digits in JSON, a 4-byte
 * integer in CBOR) and a stamped payload; each send copies it and patches both with the sequence number.
 */
function wampTemplate(codec, message) {
  const encoded = codec.enc(message);
  const { frame, offset } = wsFrame(encoded, codec.opcode);
  const stampAt = offset + encoded.indexOf('|0000000000|');
  let requestAt;
  let requestKind;
  if (codec.opcode === OP_TEXT) {
    requestAt = offset + encoded.indexOf(',1000000000,') + 1;
    requestKind = 'text';
  } else {
    requestAt = offset + encoded.indexOf(Buffer.from([0x1a, 0x3b, 0x9a, 0xca, 0x00])) + 1;
    requestKind = 'u32';
  }
  return {
    frame,
    patch(buf, base, seq) {
      writeStamp(buf, base + stampAt, seq);
      if (requestKind === 'text') writeStamp(buf, base + requestAt - 1, 1e9 + seq);
      else buf.writeUInt32BE(1e9 + seq, base + requestAt);
    },
  };
}
// writeStamp writes ten digits after its `at`; for a request id there is no leading bar, hence `requestAt - 1`.

/** Copies `template.frame` `count` times into one buffer, patching each copy; one write per batch. */
function batch(template, count, firstSeq, patch) {
  const length = template.frame.length;
  const out = Buffer.allocUnsafe(length * count);
  for (let k = 0; k < count; k++) {
    template.frame.copy(out, k * length);
    patch(out, k * length, firstSeq + k);
  }
  return out;
}

// ---- Phases ----

const LAT_SLOTS = 1 << 20;
const sendTimes = new Float64Array(LAT_SLOTS);

/** Waits until `done()` or no progress in `count()` for `quietMs`. */
async function drain(count, done, quietMs = 1500, maxMs = 15000) {
  const start = now();
  let last = count();
  let lastChange = now();
  while (!done() && now() - start < maxMs) {
    await sleep(10);
    const c = count();
    if (c !== last) {
      last = c;
      lastChange = now();
    } else if (now() - lastChange > quietMs) break;
  }
}

/**
 * Runs a throughput phase: `start()` begins closed-loop sending, `stop()` ends it; `count()` is what has been
 * delivered, `expected()` what should be once drained. Returns the rate over the measured interval.
 */
async function throughputPhase(ctl) {
  ctl.start();
  await sleep(scenario.warmMs);
  const a = snapshot();
  const c0 = ctl.count();
  await sleep(scenario.measureMs);
  const b = snapshot();
  const c1 = ctl.count();
  ctl.stop();
  await drain(ctl.count, () => ctl.count() >= ctl.expected());
  return { rate: Math.round((c1 - c0) / ((b.t - a.t) / 1000)), cpu: cpuBetween(a, b), lost: Math.max(0, ctl.expected() - ctl.count()) };
}

/**
 * Runs a latency phase: `send(n)` is called from a 1 ms ticker so that `ratePerSec` sends go out evenly;
 * `samples` collects the latencies (ms) the receivers record.
 */
async function latencyPhase(ctl, ratePerSec, samples) {
  const t0 = now();
  let sent = 0;
  const ticker = setInterval(() => {
    const due = Math.floor(((now() - t0) / 1000) * ratePerSec) - sent;
    if (due > 0) {
      const n = Math.min(due, 2000);
      ctl.send(n);
      sent += n;
    }
  }, 1);
  await sleep(scenario.latencyMs);
  clearInterval(ticker);
  await drain(ctl.count, () => ctl.count() >= ctl.expected());
  samples.sort((x, y) => x - y);
  const at = (q) => (samples.length === 0 ? null : Math.round(samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] * 1000) / 1000);
  return { p50: at(0.5), p99: at(0.99), samples: samples.length, offered: ratePerSec, lost: Math.max(0, ctl.expected() - ctl.count()) };
}

// ---- Scenarios ----

/**
 * 1 publisher to N subscribers. `pub.write(batch)` sends; `attach(i, onDelivery)` wires subscriber i to call
 * onDelivery(i, seq) per delivery. The publisher may run `window` messages ahead of the slowest subscriber.
 */
async function fanout({ subscribers, window, template, pub, attach, ackedBy, kicker }) {
  const lastSeq = new Float64Array(subscribers).fill(-1);
  let delivered = 0;
  let sent = 0;
  let sending = false;
  let latency = null;
  let scheduled = false;
  const pump = () => {
    scheduled = false;
    if (!sending) return;
    let slowest = Infinity;
    for (let i = 0; i < subscribers; i++) if (lastSeq[i] < slowest) slowest = lastSeq[i];
    let allowed = slowest + 1 + window - sent;
    if (ackedBy) allowed = Math.min(allowed, window - (sent - ackedBy()));
    if (allowed <= 0) return;
    const n = Math.min(allowed, 512);
    pub.write(batch(template, n, sent, template.patch));
    sent += n;
    if (!scheduled) (scheduled = true), setImmediate(pump);
  };
  const onDelivery = (i, seq) => {
    delivered++;
    if (seq > lastSeq[i]) lastSeq[i] = seq;
    if (latency !== null && seq >= 0) latency.push(now() - sendTimes[seq & (LAT_SLOTS - 1)]);
    if (sending && !scheduled) (scheduled = true), setImmediate(pump);
  };
  for (let i = 0; i < subscribers; i++) attach(i, onDelivery);
  // An acknowledgement to the publisher can open the window too: a system may deliver before it acknowledges,
  // and a pump that only deliveries woke would then wait for ever (seen: 0 deliveries/s for a whole phase).
  if (kicker) kicker.kick = () => sending && !scheduled && ((scheduled = true), setImmediate(pump));

  const count = () => delivered;
  const expected = () => sent * subscribers;
  const throughput = await throughputPhase({
    start: () => ((sending = true), pump()),
    stop: () => (sending = false),
    count,
    expected,
  });
  const samples = [];
  latency = samples;
  const perSec = Math.max(1, scenario.latencyRate / subscribers);
  const lat = await latencyPhase(
    {
      send: (n) => {
        const t = now();
        for (let k = 0; k < n; k++) sendTimes[(sent + k) & (LAT_SLOTS - 1)] = t;
        pub.write(batch(template, n, sent, template.patch));
        sent += n;
      },
      count,
      expected,
    },
    perSec,
    samples,
  );
  return { unit: 'deliveries/s', ...throughput, latency: { ...lat, offered: Math.round(perSec * subscribers), lost: lat.lost - throughput.lost }, lost: lat.lost };
}

/**
 * How many publications may be in flight: 500 (under every system's per-client in-flight plus queue limit,
 * Mosquitto's 20 + 1,000), but at most 50,000 deliveries, so that a slow system drains its backlog within the
 * drain time before the latency phase (Aedes, 1 to 1,000: 500 x 1,000 deliveries took it 20 s).
 */
function fanoutWindow(subscribers) {
  return Math.min(500, Math.max(20, Math.floor(50000 / subscribers)));
}

/** What a subscriber over MQTT does per packet: acknowledge QoS 1 and report the delivery. */
function mqttDeliveries(link, transport, i, onDelivery) {
  link.onPacket = (buf, start, body) => {
    if (buf[start] >> 4 !== 3) return;
    const layout = publishLayout(buf, start, body);
    if (layout.qos > 0) link.queueOut(pubackFrame(transport, layout.packetId));
    onDelivery(i, readStampAt(buf, layout.payload));
  };
}

async function mqttFanout() {
  const { transport, subscribers, qos } = scenario;
  const endpoint = transport === 'ws' ? endpoints.mqttWs : endpoints.mqttTcp;
  const subs = await pool(subscribers, async (i) => {
    const link = await mqttClient(endpoint, transport, `sub-${i}`);
    await mqttSubscribe(link, endpoint, 'bench/topic', qos);
    return link;
  });
  const pub = await mqttClient(endpoint, transport, 'pub', 'pub');
  let acked = 0;
  const kicker = {};
  pub.onPacket = (buf, start) => {
    if (buf[start] >> 4 !== 4) return;
    acked++;
    kicker.kick?.();
  };
  const t = publishTemplate(transport, 'bench/topic', qos);
  const template = {
    frame: t.frame,
    patch(buf, base, seq) {
      writeStamp(buf, base + t.stampAt, seq);
      if (qos) {
        const id = (seq % 65535) + 1;
        buf[base + t.idAt] = id >> 8;
        buf[base + t.idAt + 1] = id & 0xff;
      }
    },
  };
  return fanout({
    subscribers,
    window: fanoutWindow(subscribers),
    template,
    pub,
    attach: (i, onDelivery) => mqttDeliveries(subs[i], transport, i, onDelivery),
    ackedBy: qos && !endpoint.baseline ? () => acked : undefined,
    kicker,
  });
}

/** A subscriber's WAMP EVENT handler; the baseline forwards PUBLISH frames, which count the same. */
function wampDeliveries(link, serialization, baseline, i, onDelivery) {
  // The stamp's usual place: the 64-character string is the last thing in the frame.
  const tail = serialization === 'json' ? 67 : 64;
  link.onPacket = (buf, start, _body, end) => {
    if (!baseline && (serialization === 'json' ? buf[start + 1] !== 0x33 || buf[start + 2] !== 0x36 : buf[start + 2] !== 36)) return;
    onDelivery(i, findStamp(buf, start, end, end - tail));
  };
}

async function wampFanout() {
  const { serialization, subscribers } = scenario;
  const endpoint = endpoints.wamp;
  const codec = wampCodec(serialization);
  const subs = await pool(subscribers, async () => {
    const link = await wampClient(endpoint, serialization);
    if (!endpoint.baseline) await wampRequest(link, codec, [32, 1, {}, 'bench.topic'], 33);
    return link;
  });
  const pub = await wampClient(endpoint, serialization, 'pub');
  pub.onPacket = () => undefined;
  const template = wampTemplate(codec, [16, 1e9, {}, 'bench.topic', [stampPayload().toString('latin1')]]);
  return fanout({
    subscribers,
    window: fanoutWindow(subscribers),
    template,
    pub,
    attach: (i, onDelivery) => wampDeliveries(subs[i], serialization, endpoint.baseline, i, onDelivery),
  });
}

/** MQTT over TCP publisher (a device) to N WAMP JSON subscribers (browsers). */
async function crossPubSub() {
  const { subscribers } = scenario;
  const codec = wampCodec('json');
  const subs = await pool(subscribers, async () => {
    const link = await wampClient(endpoints.wamp, 'json');
    await wampRequest(link, codec, [32, 1, {}, 'bench.topic'], 33);
    return link;
  });
  const pub = await mqttClient(endpoints.mqttTcp, 'tcp', 'pub', 'pub');
  pub.onPacket = () => undefined;
  // A JSON string payload: fox-wamp parses every MQTT payload as JSON when it crosses to WAMP (and exits on
  // one that is not); Switchboard turns it into the same one-string EVENT as plain text.
  const t = publishTemplate('tcp', 'bench/topic', 0, true);
  return fanout({
    subscribers,
    window: fanoutWindow(subscribers),
    template: { frame: t.frame, patch: (buf, base, seq) => writeStamp(buf, base + t.stampAt, seq) },
    pub,
    attach: (i, onDelivery) => wampDeliveries(subs[i], 'json', false, i, onDelivery),
  });
}

/** 100 publishers, one per topic bench/in/<i>, to one subscriber of bench/in/+, over TCP. */
async function mqttFanIn() {
  const { publishers, qos, transport } = scenario;
  const endpoint = transport === 'ws' ? endpoints.mqttWs : endpoints.mqttTcp;
  const FLAGS = 1 << 23;
  const deliveredFlag = new Uint8Array(FLAGS);
  const ackedFlag = new Uint8Array(FLAGS);
  const sub = await mqttClient(endpoint, transport, 'sub');
  await mqttSubscribe(sub, endpoint, 'bench/in/+', qos);
  let delivered = 0;
  let sent = 0;
  let sending = false;
  let scheduled = false;
  let latency = null;
  const window = 500; // under Mosquitto's 20 in flight + 1,000 queued for the one subscriber
  const pubs = await pool(publishers, async (p) => {
    const link = await mqttClient(endpoint, transport, `pub-${p}`, 'pub');
    const t = publishTemplate(transport, `bench/in/${p}`, qos);
    const seqOfId = new Float64Array(65536);
    let nextId = 0;
    link.onPacket = (buf, start, body) => {
      if (buf[start] >> 4 !== 4) return;
      const seq = seqOfId[(buf[body] << 8) | buf[body + 1]];
      if (seq < FLAGS) ackedFlag[seq] = 1;
    };
    const template = {
      frame: t.frame,
      patch(buf, base, seq) {
        writeStamp(buf, base + t.stampAt, seq);
        if (qos) {
          const id = (nextId++ % 65535) + 1;
          seqOfId[id] = seq;
          buf[base + t.idAt] = id >> 8;
          buf[base + t.idAt + 1] = id & 0xff;
        }
      },
    };
    return { link, template };
  });
  sub.onPacket = (buf, start, body) => {
    if (buf[start] >> 4 !== 3) return;
    const layout = publishLayout(buf, start, body);
    if (layout.qos > 0) sub.queueOut(pubackFrame(transport, layout.packetId));
    const seq = readStampAt(buf, layout.payload);
    delivered++;
    if (seq >= 0 && seq < FLAGS) deliveredFlag[seq] = 1;
    if (latency !== null && seq >= 0) latency.push(now() - sendTimes[seq & (LAT_SLOTS - 1)]);
    if (sending && !scheduled) (scheduled = true), setImmediate(pump);
  };
  let turn = 0;
  /** Sends `n` messages spread over the publishers in turn, one write per publisher. */
  const sendSpread = (n, timed) => {
    const per = Math.max(1, Math.ceil(n / publishers));
    while (n > 0) {
      const { link, template } = pubs[turn];
      turn = (turn + 1) % publishers;
      const k = Math.min(per, n);
      if (timed) {
        const t = now();
        for (let j = 0; j < k; j++) sendTimes[(sent + j) & (LAT_SLOTS - 1)] = t;
      }
      link.write(batch(template, k, sent, template.patch));
      sent += k;
      n -= k;
    }
  };
  const pump = () => {
    scheduled = false;
    if (!sending) return;
    const allowed = window - (sent - delivered);
    if (allowed <= 0) return;
    sendSpread(Math.min(allowed, 1000), false);
  };
  const count = () => delivered;
  const expected = () => sent;
  const throughput = await throughputPhase({ start: () => ((sending = true), pump()), stop: () => (sending = false), count, expected });
  const samples = [];
  latency = samples;
  const lat = await latencyPhase({ send: (n) => sendSpread(n, true), count, expected }, scenario.latencyRate, samples);
  let lostAcked = 0;
  let ackedTotal = 0;
  for (let s = 0; s < Math.min(sent, FLAGS); s++) {
    if (ackedFlag[s]) {
      ackedTotal++;
      if (!deliveredFlag[s]) {
        lostAcked++;
        if (process.env.BENCH_DEBUG && lostAcked < 40) console.error('acknowledged, never delivered:', s);
      }
    }
  }
  return { unit: 'msgs/s', ...throughput, latency: { ...lat, lost: lat.lost - throughput.lost }, lost: lat.lost, ...(qos ? { lostAcked, acked: ackedTotal } : {}) };
}

/**
 * C callers, one callee. Each caller keeps `100 / C` calls outstanding (at least 1), so that the total
 * outstanding is the same whatever C. `callee` answers invocations; RESULTs carry the request id = 1e9 + seq.
 */
async function rpc({ callers: callerLinks, codec, template, serialization }) {
  const C = callerLinks.length;
  const perCaller = Math.max(1, Math.floor(100 / C));
  let results = 0;
  let errors = 0;
  let sent = 0;
  let sending = false;
  let latency = null;
  const requestOf = serialization === 'json' ? jsonRequestId : cborRequestId;
  callerLinks.forEach((link) => {
    link.onPacket = (buf, start, _body, end) => {
      const type = serialization === 'json' ? jsonType(buf, start) : cborType(buf, start);
      if (type === 8) errors++;
      else if (type !== 50) return;
      results++;
      if (latency !== null) {
        const seq = requestOf(buf, start, end) - 1e9;
        if (seq >= 0) latency.push(now() - sendTimes[seq & (LAT_SLOTS - 1)]);
      } else if (sending) {
        const out = batch(template, 1, sent, template.patch);
        sent++;
        link.queueOut(out);
      }
    };
  });
  const count = () => results;
  const expected = () => sent;
  const throughput = await throughputPhase({
    start: () => {
      sending = true;
      for (const link of callerLinks) {
        link.write(batch(template, perCaller, sent, template.patch));
        sent += perCaller;
      }
    },
    stop: () => (sending = false),
    count,
    expected,
  });
  const samples = [];
  latency = samples;
  let turn = 0;
  const lat = await latencyPhase(
    {
      send: (n) => {
        for (let k = 0; k < n; k++) {
          sendTimes[sent & (LAT_SLOTS - 1)] = now();
          callerLinks[turn].write(batch(template, 1, sent, template.patch));
          turn = (turn + 1) % C;
          sent++;
        }
      },
      count,
      expected,
    },
    scenario.latencyRate,
    samples,
  );
  return { unit: 'calls/s', ...throughput, latency: { ...lat, lost: lat.lost - throughput.lost }, lost: lat.lost, errors };
}

const jsonType = (buf, start) => (buf[start + 2] === 0x2c ? buf[start + 1] - 48 : (buf[start + 1] - 48) * 10 + buf[start + 2] - 48);
function cborType(buf, start) {
  const b = buf[start + 1];
  return b < 24 ? b : buf[start + 2];
}
function jsonRequestId(buf, start) {
  let at = buf.indexOf(0x2c, start) + 1;
  let id = 0;
  while (buf[at] >= 48 && buf[at] <= 57) id = id * 10 + buf[at++] - 48;
  return id;
}
function cborRequestId(buf, start) {
  let at = start + 1;
  at += buf[at] < 24 ? 1 : 2; // the type
  const head = buf[at];
  if (head < 24) return head;
  if (head === 0x18) return buf[at + 1];
  if (head === 0x19) return buf.readUInt16BE(at + 1);
  if (head === 0x1a) return buf.readUInt32BE(at + 1);
  return Number(buf.readBigUInt64BE(at + 1));
}

async function wampRpc() {
  const { serialization, callers } = scenario;
  const codec = wampCodec(serialization);
  const callee = await wampClient(endpoints.wamp, serialization);
  await wampRequest(callee, codec, [64, 1, {}, 'bench.proc'], 65);
  // The callee decodes each INVOCATION and encodes a YIELD with the same arguments, as a real one would.
  callee.onPacket = (buf, start, _body, end) => {
    const message = codec.dec(buf.subarray(start, end));
    if (message[0] !== 68) return;
    callee.queueOut(wsFrame(codec.enc([70, message[1], {}, message[4] ?? []]), codec.opcode).frame);
  };
  const links = await pool(callers, () => wampClient(endpoints.wamp, serialization));
  const template = wampTemplate(codec, [48, 1e9, {}, 'bench.proc', [stampPayload().toString('latin1')]]);
  return rpc({ callers: links, codec, template, serialization });
}

/** WAMP JSON callers to an MQTT 3.1.1 callee over TCP, registered through `$rpc/` (README). */
async function crossRpc() {
  const { callers } = scenario;
  const codec = wampCodec('json');
  const callee = await mqttClient(endpoints.mqttTcp, 'tcp', 'callee');
  await mqttSubscribe(callee, endpoints.mqttTcp, '$rpc/bench/proc', 0);
  callee.onPacket = (buf, start, body, end) => {
    if (buf[start] >> 4 !== 3) return;
    const layout = publishLayout(buf, start, body);
    const call = JSON.parse(buf.toString('utf8', layout.payload, end));
    callee.queueOut(encodeMqtt({ cmd: 'publish', topic: call.reply_to, qos: 0, payload: JSON.stringify({ id: call.id, args: call.args ?? [] }) }));
  };
  const links = await pool(callers, () => wampClient(endpoints.wamp, 'json'));
  const template = wampTemplate(codec, [48, 1e9, {}, 'bench.proc', [stampPayload().toString('latin1')]]);
  return rpc({ callers: links, codec, template, serialization: 'json' });
}

/** Opens `count` idle logged-in connections; reports connects/s and the system's RSS growth per 1,000. */
async function connections() {
  const { protocol, count } = scenario;
  const open = endpoints.mqttWs?.roundTrip
    ? roundTripClient(protocol)
    : {
        'mqtt-ws': (i) => mqttClient(endpoints.mqttWs, 'ws', `idle-${i}`),
        'mqtt-tcp': (i) => mqttClient(endpoints.mqttTcp, 'tcp', `idle-${i}`),
        wamp: () => wampClient(endpoints.wamp, 'json'),
      }[protocol];
  await sleep(300);
  const rssBefore = rssBytes(sutPid);
  const a = snapshot();
  let failed = 0;
  const links = await pool(
    count,
    (i) =>
      open(i).catch((error) => {
        failed++;
        if (failed === 1) console.error(`connection failed: ${error.message}`);
        return null;
      }),
    100,
  );
  const b = snapshot();
  await sleep(1500); // let the system settle (timers, lazily allocated buffers) before reading its RSS
  const rssAfter = rssBytes(sutPid);
  const opened = links.filter(Boolean).length;
  const result = {
    unit: 'connects/s',
    rate: Math.round(opened / ((b.t - a.t) / 1000)),
    cpu: cpuBetween(a, b),
    opened,
    failed,
    lost: failed,
    rssPer1000MB: Math.round(((rssAfter - rssBefore) / (opened / 1000) / 1048576) * 100) / 100,
    rssAfterMB: Math.round(rssAfter / 1048576),
  };
  return result;
}

/**
 * For the baseline with one round trip: each connection also sends a real CONNECT or HELLO and waits for the four
 * bytes the forwarder answers with, the least any login can cost.
 */
function roundTripClient(protocol) {
  const login =
    protocol === 'wamp'
      ? { bytes: Buffer.from(JSON.stringify([1, 'realm1', { roles: { publisher: {}, subscriber: {}, caller: {}, callee: {} } }])), opcode: OP_TEXT }
      : { bytes: encodeMqtt({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: `${RUN}-hello`, keepalive: 0 }), opcode: OP_BINARY };
  return async () => {
    let link;
    if (protocol === 'mqtt-tcp') link = new Link(await tcpConnect(endpoints.mqttTcp.helloPort), 'tcp', 'mqtt');
    else {
      const endpoint = protocol === 'wamp' ? endpoints.wamp : endpoints.mqttWs;
      const { socket, rest } = await wsConnect(endpoint.port, endpoint.helloPath, undefined);
      link = new Link(socket, 'ws', protocol === 'wamp' ? 'msg' : 'mqtt', rest);
    }
    link.send(login.bytes, login.opcode);
    await link.next();
    return link;
  };
}

const RUNNERS = { 'mqtt-fanout': mqttFanout, 'mqtt-fanin': mqttFanIn, 'wamp-fanout': wampFanout, 'wamp-rpc': wampRpc, 'cross-pubsub': crossPubSub, 'cross-rpc': crossRpc, connections };

try {
  const result = await RUNNERS[scenario.kind]();
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
  process.exit(0);
} catch (error) {
  process.stdout.write(`RESULT ${JSON.stringify({ error: error.message })}\n`);
  process.exit(1);
}
