// The systems under test: how to start each on free loopback ports, pinned to one core, and which endpoints
// it offers. Every system runs with its defaults except where a line below says why.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PEERS = join(ROOT, 'bench/peers');
const NOFILE = 20000;

export function has(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/** `taskset -c CORE prlimit --nofile=.. CMD...`, each wrapper only where it exists. exec keeps the pid. */
export function pinned(core, argv) {
  const wrapped = has('prlimit') ? ['prlimit', `--nofile=${NOFILE}:${NOFILE}`, ...argv] : argv;
  return has('taskset') && core !== undefined ? ['taskset', '-c', String(core), ...wrapped] : wrapped;
}

export async function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
    probe.once('error', reject);
  });
}

function probe(port) {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

async function waitForPorts(ports, child, name) {
  const deadline = Date.now() + 20000;
  for (const port of ports) {
    while (!(await probe(port))) {
      if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode} before listening`);
      if (Date.now() > deadline) throw new Error(`${name} did not listen on ${port} within 20 s`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/**
 * Each system: `available()` says why it cannot run (or undefined), `start(core)` resolves with
 * { pid, stop(), endpoints }, where endpoints name the ports per transport:
 *   mqttWs / mqttTcp / wamp: { port, path }; the baseline adds `baseline: true`, `helloPath` (WebSocket) or
 *   `helloPort` (TCP) for its one-round-trip login, and, for TCP, `pubPort`.
 */
export const SYSTEMS = {
  switchboard: {
    label: 'Switchboard',
    available: () => (existsSync(join(ROOT, 'dist/src/main.js')) ? undefined : 'not built (npm run build)'),
    async start(core) {
      const [port, mqttPort] = [await freePort(), await freePort()];
      // The memory store matches the peers, which keep nothing on disk either (Mosquitto persistence is off by
      // default, Aedes and fox-wamp hold everything in memory); warn-level logging, like Mosquitto's log_dest
      // none below, keeps a log line per connection out of the connection figures.
      const args = ['dist/src/main.js', '--port', String(port), '--mqtt-port', String(mqttPort), '--log-level', 'warn', '--store', 'memory'];
      const extra = (process.env.BENCH_ROUTER_ARGS ?? '').split(' ').filter((arg) => arg.length > 0);
      return launch('switchboard', pinned(core, [process.execPath, ...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean), ...args, ...extra]), [port, mqttPort], {
        mqttWs: { port, path: '/' },
        mqttTcp: { port: mqttPort },
        wamp: { port, path: '/' },
      });
    },
  },
  aedes: {
    label: 'Aedes',
    available: () => peerMissing('aedes'),
    async start(core) {
      const [tcp, ws] = [await freePort(), await freePort()];
      return launch('aedes', pinned(core, [process.execPath, 'bench/peers/aedes-server.mjs', String(tcp), String(ws)]), [tcp, ws], {
        mqttTcp: { port: tcp },
        mqttWs: { port: ws, path: '/' },
      });
    },
  },
  fox: {
    label: 'fox-wamp',
    available: () => peerMissing('fox-wamp'),
    async start(core) {
      const [tcp, mqttWs, wamp] = [await freePort(), await freePort(), await freePort()];
      return launch('fox-wamp', pinned(core, [process.execPath, 'bench/peers/fox-server.mjs', String(tcp), String(mqttWs), String(wamp)]), [tcp, mqttWs, wamp], {
        // fox-wamp takes an MQTT client's realm from a `user@realm` username; WAMP clients join realm1.
        mqttTcp: { port: tcp, username: 'bench@realm1' },
        mqttWs: { port: mqttWs, path: '/', username: 'bench@realm1' },
        wamp: { port: wamp, path: '/' },
      });
    },
  },
  mosquitto: {
    label: 'Mosquitto',
    available: () => (mosquittoBinary() ? undefined : 'not installed (apt-get install -y mosquitto)'),
    async start(core) {
      const [tcp, ws] = [await freePort(), await freePort()];
      const dir = mkdtempSync(join(tmpdir(), 'bench-mosquitto-'));
      const conf = join(dir, 'mosquitto.conf');
      // Its defaults otherwise (persistence off, max_queued_messages 1000, max_inflight_messages 20); logging
      // off like Switchboard's info lines; loopback listeners like every other system here.
      writeFileSync(conf, [`listener ${tcp} 127.0.0.1`, `listener ${ws} 127.0.0.1`, 'protocol websockets', 'allow_anonymous true', process.env.BENCH_DEBUG ? 'log_dest stderr' : 'log_dest none', ''].join('\n'));
      return launch('mosquitto', pinned(core, [mosquittoBinary(), '-c', conf]), [tcp, ws], {
        mqttTcp: { port: tcp },
        mqttWs: { port: ws, path: '/' },
      });
    },
  },
  baseline: {
    label: 'raw ws baseline',
    available: () => undefined,
    async start(core) {
      const [ws, tcp, pub, hello] = [await freePort(), await freePort(), await freePort(), await freePort()];
      return launch('baseline', pinned(core, [process.execPath, 'bench/baseline-forwarder.mjs', String(ws), String(tcp), String(pub), String(hello)]), [ws, tcp, pub, hello], {
        mqttWs: { port: ws, path: '/sub', pubPath: '/pub', helloPath: '/hello', baseline: true },
        mqttTcp: { port: tcp, pubPort: pub, helloPort: hello, baseline: true },
        wamp: { port: ws, path: '/sub', pubPath: '/pub', helloPath: '/hello', baseline: true },
      });
    },
  },
  baselineRoundTrip: {
    label: 'raw ws + round trip',
    available: () => undefined,
    async start(core) {
      // The same forwarder; its clients (connection scenarios only) send one login and wait for its answer.
      const running = await SYSTEMS.baseline.start(core);
      for (const endpoint of Object.values(running.endpoints)) endpoint.roundTrip = true;
      return running;
    },
  },
};

function peerMissing(name) {
  return existsSync(join(PEERS, 'node_modules', name, 'package.json')) ? undefined : 'not installed (npm run bench:setup)';
}

function mosquittoBinary() {
  for (const candidate of ['/usr/sbin/mosquitto', '/usr/local/sbin/mosquitto', '/usr/bin/mosquitto']) if (existsSync(candidate)) return candidate;
  return undefined;
}

async function launch(name, argv, ports, endpoints) {
  const child = spawn(argv[0], argv.slice(1), { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
    if (process.env.BENCH_DEBUG) process.stderr.write(chunk);
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    await waitForPorts(ports, child, name);
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${error.message}${stderr ? `: ${stderr.trim().split('\n').slice(-3).join(' | ')}` : ''}`);
  }
  return {
    pid: child.pid,
    endpoints,
    stderr: () => stderr,
    async stop(signal = 'SIGKILL') {
      if (child.exitCode === null) child.kill(signal);
      await exited;
    },
  };
}
