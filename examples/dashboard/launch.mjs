// What the browser examples' run.mjs scripts share (dashboard, chat, ticker): copy autobahn-browser next to a
// page, start the built router as a child process serving that page, mint tokens with examples/mint-token.mjs,
// and stop everything on Ctrl-C. It assumes `npm install` and `npm run build` have run.
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * Pages load autobahn-browser from vendor/autobahn.min.js (global `autobahn`). The file comes from
 * node_modules and is copied, not committed: vendor/ is gitignored.
 */
export function copyAutobahn(publicDir) {
  const source = join(REPO, 'node_modules', 'autobahn-browser', 'autobahn.min.js');
  if (!existsSync(source)) throw new Error(`${source} is missing: run npm install first`);
  mkdirSync(join(publicDir, 'vendor'), { recursive: true });
  copyFileSync(source, join(publicDir, 'vendor', 'autobahn.min.js'));
}

/** Reads `--name value` from argv, or the fallback. */
export function option(name, fallback) {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && process.argv[at + 1] !== undefined ? process.argv[at + 1] : fallback;
}

/** Port 0 means "any free one": probed here, because the router's own choice would be hidden in its logs. */
export async function choosePort(wanted) {
  if (Number(wanted) !== 0) return Number(wanted);
  return new Promise((done, fail) => {
    const probe = createServer();
    probe.once('error', fail);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => done(port));
    });
  });
}

/** Mints a token the way a user would, by running examples/mint-token.mjs. */
export function mintToken(secret, sub, role) {
  return execFileSync(process.execPath, [join(REPO, 'examples', 'mint-token.mjs'), sub, role], {
    env: { ...process.env, SWITCHBOARD_JWT_SECRET: secret },
    encoding: 'utf8',
  }).trim();
}

/**
 * Starts `node dist/src/main.js` on 127.0.0.1:`port`, serving `publicDir`, with the flags and environment given,
 * and resolves once /readyz answers 200. The router keeps nothing on disk (`--store memory`), and MQTT over TCP
 * stays closed unless `mqttPort` is given: the examples' own MQTT clients use WebSocket on the pages' port.
 */
export async function startRouter({ port, publicDir, mqttPort = 0, args = [], env = {} }) {
  const main = join(REPO, 'dist', 'src', 'main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: run npm run build first`);
  const child = spawn(
    process.execPath,
    [main, '--host', '127.0.0.1', '--port', String(port), '--serve-static', publicDir, '--store', 'memory', '--mqtt-port', String(mqttPort), '--log-level', 'warn', ...args],
    // Its own process group: Ctrl-C in the terminal reaches only this script, which then stops the router once,
    // gracefully (a router that gets two signals exits without draining).
    { env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit'], detached: true },
  );
  // Whatever way this script ends (short of SIGKILL), the router does not outlive it.
  process.once('exit', () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  });
  const exited = new Promise((done) => child.once('exit', (code, signal) => done({ code, signal })));
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ready = await Promise.race([
      fetch(`http://127.0.0.1:${port}/readyz`).then((answer) => answer.ok, () => false),
      exited.then(({ code, signal }) => {
        throw new Error(`the router exited (code ${code}, signal ${signal})`);
      }),
    ]);
    if (ready) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the router did not become ready on port ${port}`);
    }
    await new Promise((done) => setTimeout(done, 100));
  }
  return {
    url: `ws://127.0.0.1:${port}/`,
    page: `http://127.0.0.1:${port}/`,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Runs `cleanup` once on Ctrl-C or SIGTERM, then exits. */
export function onStop(cleanup) {
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    try {
      await cleanup();
    } finally {
      process.exit(0);
    }
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
