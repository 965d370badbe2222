// `npm run bench`: every scenario of issue 7 against Switchboard and its peers, in one run, one system at a time,
// the system under test pinned to core 0 and the load generator to core 1. Writes a markdown table and the raw
// results to bench/results/<date>-<quick|full>.{md,json}.
//
//   node bench/run.mjs [--quick] [--only REGEX] [--systems switchboard,mosquitto,...] [--out FILE.md]
//   node bench/run.mjs --smoke   (one tiny scenario on Switchboard alone; prints JSON, writes nothing)
//   node bench/run.mjs --redo FILE.json   (runs again every run of that result file that other processes
//     disturbed or that failed, keeps the less disturbed of the two, and writes the merged table; with --only,
//     runs the selected scenarios again whatever they measured and keeps the new figures)
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DURATIONS, LATENCY_RATE, QUICK, SCENARIOS, TARGETS } from './lib/scenarios.mjs';
import { ROOT, SYSTEMS, pinned } from './lib/systems.mjs';

const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    smoke: { type: 'boolean', default: false },
    only: { type: 'string' },
    systems: { type: 'string' },
    out: { type: 'string' },
    redo: { type: 'string' },
  },
});
const previous = opts.redo ? JSON.parse(readFileSync(opts.redo, 'utf8')) : undefined;
const mode = previous?.meta.mode ?? (opts.smoke ? 'smoke' : opts.quick ? 'quick' : 'full');
const durations = DURATIONS[mode];
// Two cores: the system under test gets one, the generator the other. With fewer, nothing is pinned.
const [SUT_CORE, GEN_CORE] = cpus().length >= 2 ? [0, 1] : [undefined, undefined];

let scenarios = SCENARIOS;
if (mode === 'quick') scenarios = scenarios.filter((s) => QUICK.includes(s.id));
if (mode === 'smoke') {
  scenarios = [{ ...SCENARIOS.find((s) => s.id === 'mqtt-ws-fanout-100-q0'), id: 'smoke', subscribers: 10, systems: ['switchboard'] }];
}
if (opts.only) scenarios = scenarios.filter((s) => new RegExp(opts.only).test(s.id));
const systemFilter = opts.systems?.split(',');

/** % of one core that other processes use right now, over `ms` (nothing of ours runs meanwhile). */
async function busyPercent(ms) {
  const busy = () => {
    const [, user, nice, system, , , irq, softirq, steal] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
    return user + nice + system + irq + softirq + steal; // in 1/100 s
  };
  const before = busy();
  await new Promise((resolve) => setTimeout(resolve, ms));
  return ((busy() - before) / (ms / 1000));
}

/**
 * Other people's work shares this machine. Before each run, wait (up to a limit) until the other processes
 * use less than QUIET_PCT of a core, so that fewer runs are disturbed; the wait and the load are recorded.
 */
const QUIET_PCT = 40;
async function waitForQuiet(maxMs) {
  const start = Date.now();
  let load = await busyPercent(300);
  while (load > QUIET_PCT && Date.now() - start < maxMs) load = await busyPercent(500);
  return { waitedMs: Date.now() - start, idleLoad: Math.round(load) };
}

const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const log = (line) => process.stderr.write(`${line}\n`);

function runGenerator(scenario, sut) {
  const spec = { scenario, endpoints: sut.endpoints, sutPid: sut.pid };
  const argv = pinned(GEN_CORE, [process.execPath, 'bench/lib/generator.mjs', JSON.stringify(spec)]);
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.stderr.on('data', (chunk) => (err = (err + chunk).slice(-2000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), 180000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (line) resolve(JSON.parse(line.slice(7)));
      else resolve({ error: `generator exited with ${code}${err ? `: ${err.trim().split('\n').slice(-2).join(' | ')}` : ''}` });
    });
  });
}

/** The system under test now, stopped if the harness is interrupted, so that no router outlives it. */
let running;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, async () => {
    await running?.stop();
    process.exit(130);
  });
}

async function runOne(scenario, systemName) {
  const system = SYSTEMS[systemName];
  const missing = system.available();
  if (missing) return { skipped: missing };
  const full = { latencyRate: LATENCY_RATE, ...scenario, ...durations, ...(scenario.kind === 'connections' ? { count: durations.connections } : {}) };
  delete full.systems;
  let sut;
  try {
    sut = await system.start(SUT_CORE);
  } catch (error) {
    return { error: `did not start: ${error.message}` };
  }
  running = sut;
  const quiet = await waitForQuiet({ full: 4000, quick: 1000, smoke: 0 }[mode]);
  const loadBefore = loadavg();
  const result = await runGenerator(full, sut);
  // A profiled run (BENCH_NODE_ARGS=--cpu-prof) must exit on its own to write its profile.
  await sut.stop(process.env.BENCH_NODE_ARGS ? 'SIGTERM' : 'SIGKILL');
  running = undefined;
  return { ...result, ...quiet, loadBefore, loadAfter: loadavg() };
}

// ---- Report ----

const GEN_BOUND = 90;
const fmtRate = (x) => (x >= 100000 ? `${(x / 1000).toFixed(0)}k` : x >= 10000 ? `${(x / 1000).toFixed(1)}k` : x.toLocaleString('en'));
const fmtMs = (x) => (x === null || x === undefined ? '–' : x < 10 ? x.toFixed(2) : x.toFixed(1));

function cell(r) {
  if (r === undefined) return '';
  if (r.skipped) return `skipped: ${r.skipped}`;
  if (r.error) return `error: ${r.error.replace(/\|/g, '/').slice(0, 120)}`;
  if (r.unit === 'connects/s') {
    return `${fmtRate(r.rate)} conn/s · ${r.rssPer1000MB} MB/1k${r.failed ? ` · **${r.failed} failed**` : ''}`;
  }
  const lost = r.lost ? ` · **lost ${r.lost.toLocaleString('en')}**` : '';
  // The generator near a full core may be what limits the figure: then it is a lower bound for the system.
  const bound = r.cpu?.gen >= GEN_BOUND ? ' ⚑' : '';
  const lostAcked = r.lostAcked ? ` · **${r.lostAcked} acked lost**` : '';
  return `${fmtRate(r.rate)}/s${bound} · p50 ${fmtMs(r.latency?.p50)} p99 ${fmtMs(r.latency?.p99)} ms${lost}${lostAcked}`;
}

function ratio(sb, peer) {
  if (!sb || !peer || sb.error || peer.error || sb.skipped || peer.skipped || !peer.rate) return '';
  const r = sb.rate / peer.rate;
  if (sb.unit === 'connects/s') return `${r.toFixed(2)}× (RSS ${peer.rssPer1000MB > 0 ? (sb.rssPer1000MB / peer.rssPer1000MB).toFixed(2) : '–'}×)`;
  return `${r.toFixed(2)}×`;
}

function machine() {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1] ?? 'unknown';
  const version = (cmd, args) => spawnSync(cmd, args, { encoding: 'utf8' }).stdout?.trim().split('\n')[0] ?? '';
  const peerVersion = (name) => {
    try {
      return JSON.parse(readFileSync(join(ROOT, 'bench/peers/node_modules', name, 'package.json'), 'utf8')).version;
    } catch {
      return 'not installed';
    }
  };
  return {
    cpu: model,
    cores: cpus().length,
    memoryGB: Math.round(Number(/MemTotal:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))[1]) / 1048576),
    kernel: version('uname', ['-r']),
    node: process.version,
    commit: version('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']),
    mosquitto: version('sh', ['-c', 'mosquitto -h 2>/dev/null | head -1']) || 'not installed',
    aedes: peerVersion('aedes'),
    fox: peerVersion('fox-wamp'),
    ws: JSON.parse(readFileSync(join(ROOT, 'node_modules/ws/package.json'), 'utf8')).version,
  };
}

function targetLines(get) {
  const lines = [];
  for (const target of TARGETS) {
    const parts = [];
    let met = true;
    let known = true;
    for (const part of target.parts) {
      const sb = get(part.scenario, 'switchboard');
      const peer = part.peer ? get(part.scenario, part.peer) : undefined;
      if (!sb || sb.error || sb.skipped || (part.peer && (!peer || peer.error || peer.skipped))) {
        parts.push(`${part.scenario}${part.peer ? ` vs ${SYSTEMS[part.peer].label}` : ''}: not measured`);
        known = false;
        continue;
      }
      if (part.min !== undefined) {
        const r = sb.rate / peer.rate;
        met &&= r >= part.min;
        parts.push(`${part.scenario} vs ${SYSTEMS[part.peer].label}: **${r.toFixed(2)}×** (${r >= part.min ? 'met' : 'missed'})`);
      } else if (part.maxP99 !== undefined) {
        // p99 moves more between runs than anything else measured: with repeated pairs, the median ratio counts.
        const pairs = sb.p99Runs?.length > 1 && peer.p99Runs?.length === sb.p99Runs.length ? sb.p99Runs.map((p99, i) => p99 / peer.p99Runs[i]) : undefined;
        const r = pairs ? [...pairs].sort((a, b) => a - b)[Math.floor(pairs.length / 2)] : sb.latency.p99 / peer.latency.p99;
        met &&= r <= part.maxP99;
        const detail = pairs
          ? `median of ${pairs.length} pairs **${r.toFixed(2)}×** (${pairs.map((x, i) => `${fmtMs(sb.p99Runs[i])}/${fmtMs(peer.p99Runs[i])} ms = ${x.toFixed(2)}×`).join(', ')})`
          : `p99 ${fmtMs(sb.latency.p99)} vs ${fmtMs(peer.latency.p99)} ms = **${r.toFixed(2)}×**`;
        parts.push(`${part.scenario}: ${detail} (${r <= part.maxP99 ? 'met' : 'missed'})`);
      } else if (part.maxRss !== undefined) {
        met &&= sb.rssPer1000MB <= part.maxRss;
        parts.push(`${part.scenario}: **${sb.rssPer1000MB} MB** per 1,000 (${sb.rssPer1000MB <= part.maxRss ? 'met' : 'missed'})`);
      }
    }
    if (target.lostAcked) {
      const sb = get(target.lostAcked, 'switchboard');
      if (sb && sb.lostAcked !== undefined) {
        met &&= sb.lostAcked === 0;
        parts.push(`acknowledged but lost: **${sb.lostAcked}** of ${sb.acked.toLocaleString('en')}`);
      }
    }
    lines.push(`- ${known ? (met ? '✅' : '❌') : '❔'} ${target.name}: ${parts.join('; ')}`);
  }
  return lines;
}

function report(results, meta) {
  const systems = Object.keys(SYSTEMS).filter((s) => results.some((r) => r.system === s));
  const peers = systems.filter((s) => s !== 'switchboard');
  const get = (scenario, system) => results.find((r) => r.scenario === scenario && r.system === system)?.result;
  const rows = [];
  rows.push(`| Scenario | ${systems.map((s) => SYSTEMS[s].label).join(' | ')} | ${peers.map((p) => `SB / ${SYSTEMS[p].label}`).join(' | ')} |`);
  rows.push(`|---|${systems.map(() => '---').join('|')}|${peers.map(() => '---').join('|')}|`);
  const cpuRows = [...rows.slice(0, 1).map((r) => r.replace(/ \| SB \/.*$/, ' |')), `|---|${systems.map(() => '---').join('|')}|`];
  for (const scenario of meta.scenarios) {
    const sb = get(scenario.id, 'switchboard');
    rows.push(`| ${scenario.label} | ${systems.map((s) => cell(get(scenario.id, s))).join(' | ')} | ${peers.map((p) => ratio(sb, get(scenario.id, p))).join(' | ')} |`);
    cpuRows.push(
      `| ${scenario.label} | ${systems
        .map((s) => {
          const r = get(scenario.id, s);
          // Rate per second of the system's own CPU: steadier than the rate when others take the machine.
          const perCore = r?.cpu?.sut > 0 ? ` · ${fmtRate(Math.round(r.rate / (r.cpu.sut / 100)))} per core-s` : '';
          return r?.cpu ? `${r.cpu.sut} / ${r.cpu.gen} / ${r.cpu.other}${perCore}` : '';
        })
        .join(' | ')} |`,
    );
  }
  const others = results.map((r) => r.result?.cpu?.other).filter((x) => x !== undefined);
  const redone = results.filter((r) => r.redone).length;
  const mean = others.length ? Math.round(others.reduce((a, b) => a + b, 0) / others.length) : 0;
  const m = meta.machine;
  return [
    `# Benchmark: ${meta.mode} run, ${meta.started}`,
    '',
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGB} GB, Linux ${m.kernel}; Node ${m.node}, ws ${m.ws}; Switchboard ${m.commit}; ` +
      `Mosquitto: ${m.mosquitto}; Aedes ${m.aedes}; fox-wamp ${m.fox}.`,
    `System under test pinned to core ${SUT_CORE ?? '(none)'}, generator to core ${GEN_CORE ?? '(none)'}. ` +
      `Load average ${meta.loadBefore} before, ${meta.loadAfter} after; ${Math.round(meta.seconds)} s in all.`,
    `Other processes took ${mean}% of a core on average during the measured intervals (max ${others.length ? Math.max(...others) : 0}%)` +
      `${redone ? `; ${redone} disturbed run${redone > 1 ? 's were' : ' was'} run again (--redo) and the less disturbed result kept` : ''}.`,
    '',
    `Throughput phase: ${durations.warmMs} ms warm-up, then ${durations.measureMs} ms measured, the sender at most a window ` +
      `ahead of the slowest receiver (fan-out: 500 publications but at most 50,000 deliveries; fan-in: 500 messages; RPC: 100 calls). Latency phase: ` +
      `${durations.latencyMs} ms at a fixed offered rate (${LATENCY_RATE.toLocaleString('en')} deliveries/s for pub/sub, 1,000 calls/s for RPC). ` +
      `Cells: delivered per second (deliveries, messages or calls), p50 and p99 end-to-end latency; lost messages when any. ` +
      `Connections: ${durations.connections.toLocaleString('en')} idle logged-in connections, connects/s and router RSS growth per 1,000. ` +
      'Ratios: Switchboard ÷ peer (for connections: connects/s, and RSS per 1,000 in brackets, where lower is better). ' +
      `⚑: the generator used ${GEN_BOUND}% of its core or more, so the figure may be the generator's limit rather than the system's.`,
    '',
    ...rows,
    '',
    '## Targets (issue 7)',
    '',
    ...targetLines(get),
    '',
    '## CPU during the measured interval (% of one core: system under test / generator / other processes), and the rate per second of the system\'s own CPU',
    '',
    ...cpuRows,
    '',
  ].join('\n');
}

// ---- Main ----

const started = new Date();
const t0 = Date.now();
const loadBefore = loadavg();
/** A run that other processes disturbed (more than QUIET_PCT of a core) or that failed. */
const disturbed = (r) => r.error !== undefined || (r.cpu !== undefined && r.cpu.other > QUIET_PCT);
const results = previous ? previous.results : [];
for (const scenario of scenarios) {
  for (const system of scenario.systems) {
    if (systemFilter && !systemFilter.includes(system)) continue;
    const earlier = results.findIndex((r) => r.scenario === scenario.id && r.system === system);
    // With --only, --redo runs the selection again whatever it measured; otherwise only disturbed runs.
    if (previous && !opts.only && (earlier < 0 || !disturbed(results[earlier].result))) continue;
    const result = await runOne(scenario, system);
    log(`${scenario.id.padEnd(24)} ${SYSTEMS[system].label.padEnd(16)} ${cell(result)}${result.cpu ? `  [cpu ${result.cpu.sut}/${result.cpu.gen}/${result.cpu.other}]` : ''}`);
    if (earlier < 0) results.push({ scenario: scenario.id, system, result });
    else if (opts.only || !(result.cpu?.other > results[earlier].result.cpu?.other) || results[earlier].result.error) {
      results[earlier] = { scenario: scenario.id, system, result, redone: true };
    }
  }
}
// The p99 targets again: more pairs of runs (Switchboard, then the peer), so that one disturbed latency phase does
// not decide the target alone. Full runs only.
const P99_PAIRS = mode === 'full' ? 3 : 1;
for (const target of P99_PAIRS > 1 && !previous ? TARGETS : []) {
  for (const part of target.parts) {
    const scenario = part.maxP99 === undefined ? undefined : scenarios.find((s) => s.id === part.scenario);
    if (scenario === undefined) continue;
    const systems = ['switchboard', part.peer];
    const entries = systems.map((system) => results.find((r) => r.scenario === scenario.id && r.system === system));
    if (entries.some((entry) => entry === undefined || entry.result.latency?.p99 == null)) continue;
    for (const entry of entries) entry.result.p99Runs = [entry.result.latency.p99];
    for (let pair = 2; pair <= P99_PAIRS; pair++) {
      for (const [i, system] of systems.entries()) {
        const again = await runOne(scenario, system);
        log(`${scenario.id.padEnd(24)} ${SYSTEMS[system].label.padEnd(16)} ${cell(again)}  (p99 pair ${pair})`);
        entries[i].result.p99Runs.push(again.latency?.p99 ?? NaN);
      }
    }
  }
}

const startedAt = previous ? new Date(previous.meta.startedIso ?? previous.meta.started.replace(' UTC', 'Z').replace(' ', 'T')) : started;
const meta = { mode, started: startedAt.toISOString().slice(0, 16).replace('T', ' ') + ' UTC', startedIso: startedAt.toISOString(), loadBefore: previous?.meta.loadBefore ?? loadBefore, loadAfter: loadavg(), seconds: (previous?.meta.seconds ?? 0) + (Date.now() - t0) / 1000, machine: machine(), scenarios };

if (mode === 'smoke') {
  process.stdout.write(`${JSON.stringify(results)}\n`);
} else {
  const markdown = report(results, meta);
  const out = opts.out ?? (opts.redo ? opts.redo.replace(/\.json$/, '.md') : join(ROOT, 'bench/results', `${started.toISOString().slice(0, 10)}-${mode}.md`));
  mkdirSync(join(out, '..'), { recursive: true });
  writeFileSync(out, markdown);
  writeFileSync(out.replace(/\.md$/, '.json'), JSON.stringify({ meta, results }, null, 1));
  process.stdout.write(`${markdown}\nwritten to ${out}\n`);
}
