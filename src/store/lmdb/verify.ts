import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

/**
 * LMDB maps its file into memory and trusts it: a truncated or overwritten file makes the reading process die
 * of SIGBUS or an assertion, which no try/catch can stop. So an existing store is first read through, every
 * record decoded, by a throw-away child process; only if that child finishes cleanly does the router open it.
 */
export function verifyStoreFiles(dataDir: string): { ok: true; records: number } | { ok: false; problem: string } {
  const file = join(dataDir, 'data.mdb');
  if (!existsSync(file) || statSync(file).size === 0) return { ok: true, records: 0 };
  const lmdbEntry = createRequire(import.meta.url).resolve('lmdb');
  const script = `
    const { open } = require(${JSON.stringify(lmdbEntry)});
    const db = open({ path: ${JSON.stringify(dataDir)}, readOnly: true });
    let records = 0;
    for (const { value } of db.getRange()) { if (value === undefined) throw new Error('a record has no value'); records++; }
    process.stdout.write(String(records));
  `;
  const result = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 120_000 });
  if (result.error !== undefined) return { ok: false, problem: `the check could not run: ${result.error.message}` };
  if (result.signal !== null) return { ok: false, problem: `reading it crashed the checking process (${result.signal}): the file is truncated or damaged` };
  if (result.status !== 0) {
    const reason = result.stderr.split('\n').find((line) => /error|assert/i.test(line)) ?? `exit code ${result.status}`;
    return { ok: false, problem: `reading it failed: ${reason.trim()}` };
  }
  return { ok: true, records: Number(result.stdout) };
}
