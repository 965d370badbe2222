/**
 * Keeps the benchmark harness from rotting unseen: `node bench/run.mjs --smoke` runs its smallest scenario
 * (MQTT over WebSocket, 1 publisher to 10 subscribers, about a second of load) against the built router and
 * must report deliveries, latencies and no losses. It measures nothing worth keeping and writes no file;
 * `npm run bench` is never part of the test suite. Needs `npm run build` first (npm test does it).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');

describe('benchmark harness', () => {
  it('runs one tiny scenario end to end', () => {
    const run = spawnSync(process.execPath, ['bench/run.mjs', '--smoke'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(run.status, run.stderr).toBe(0);
    const [row] = JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '[]');
    expect(row.system).toBe('switchboard');
    const result = row.result;
    expect(result.error, JSON.stringify(result)).toBeUndefined();
    expect(result.rate).toBeGreaterThan(0);
    expect(result.lost).toBe(0);
    expect(result.latency.samples).toBeGreaterThan(0);
    expect(result.latency.p99).toBeGreaterThanOrEqual(result.latency.p50);
    expect(result.cpu.sut).toBeGreaterThanOrEqual(0);
  }, 90_000);
});
