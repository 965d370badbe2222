// Summarises a `node --cpu-prof` profile: the functions with the most self time, and their share of the samples.
// Profile Switchboard under a scenario with, for example:
//   BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/sb-bench-prof" node bench/run.mjs --quick --only mqtt-ws-fanout-100-q0 --systems switchboard
//   node bench/profile-summary.mjs /tmp/sb-bench-prof/*.cpuprofile [top=25]
import { readFileSync } from 'node:fs';

const [file, topArg] = process.argv.slice(2);
const top = Number(topArg ?? 25);
const { nodes, samples, timeDeltas } = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(nodes.map((node) => [node.id, node]));
const selfTime = new Map();
for (let i = 0; i < samples.length; i++) {
  const node = byId.get(samples[i]);
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url ? `${url.replace(/^.*\/(node_modules\/|dist\/|node:)/, '$1')}:${lineNumber + 1}` : '';
  const key = `${functionName || '(anonymous)'} ${where}`.trim();
  selfTime.set(key, (selfTime.get(key) ?? 0) + (timeDeltas[i] ?? 0));
}
const total = [...selfTime.values()].reduce((a, b) => a + b, 0);
const idle = (selfTime.get('(idle)') ?? 0) + (selfTime.get('(program)') ?? 0);
console.log(`${(total / 1e6).toFixed(1)} s sampled, ${((100 * (total - (selfTime.get('(idle)') ?? 0))) / total).toFixed(0)}% busy`);
console.log('| self % of busy | function |');
console.log('|---:|---|');
for (const [key, time] of [...selfTime].filter(([k]) => k !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(`| ${((100 * time) / (total - (selfTime.get('(idle)') ?? 0))).toFixed(1)} | \`${key}\` |`);
}
void idle;
