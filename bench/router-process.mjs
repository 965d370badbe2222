// Starts the built router as its own process on a free loopback port, for the benchmark scripts.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';

export async function freePort() {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/** Resolves with the port and the child once the router says it listens. */
export async function startRouter(extraArgs = []) {
  const port = await freePort();
  // BENCH_ROUTER_ARGS adds router flags to every case (for example --compression).
  const fromEnv = (process.env.BENCH_ROUTER_ARGS ?? '').split(' ').filter((arg) => arg.length > 0);
  const child = spawn(process.execPath, ['dist/src/main.js', '--port', String(port), '--mqtt-port', '0', '--log-level', 'info', ...extraArgs, ...fromEnv], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise((resolve, reject) => {
    let buffer = '';
    child.stdout.on('data', (chunk) => {
      buffer += chunk.toString();
      if (buffer.includes('"switchboard listening"')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`router exited with ${code}`)));
  });
  child.stdout.resume();
  return { port, child };
}
