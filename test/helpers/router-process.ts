/**
 * The real router as a child process (`node dist/src/main.js`), for what an in-process router cannot show: a
 * SIGKILL, a restart over the same data directory, start-up failures and exit codes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export const MAIN = join(import.meta.dirname, '../../dist/src/main.js');

export interface RouterProcess {
  child: ChildProcess;
  port: number;
  mqttPort: number | undefined;
  lines: Array<Record<string, unknown>>;
  stderr: () => string;
  /** Resolves with the exit code (or signal name) once the process is gone. */
  exited: Promise<number | string>;
}

const running = new Set<ChildProcess>();

/** Starts the router with these flags (on 127.0.0.1, port 0 unless given) and resolves once it listens. */
export function spawnRouter(args: string[], env: Record<string, string> = {}): Promise<RouterProcess> {
  return launchRouter(withDefaults(args), { SWITCHBOARD_LOG_LEVEL: 'info', ...env });
}

/** Starts `main.js` with exactly these arguments and environment (plus PATH); resolves once it listens. */
export function launchRouter(args: string[], env: Record<string, string>): Promise<RouterProcess> {
  const child = spawn(process.execPath, [MAIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env } });
  running.add(child);
  const lines: Array<Record<string, unknown>> = [];
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      running.delete(child);
      resolve(signal ?? code ?? -1);
    });
  });
  return new Promise((resolve, reject) => {
    let buffer = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      let newline;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const text = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        if (!text.startsWith('{')) continue;
        const line = JSON.parse(text) as Record<string, unknown>;
        lines.push(line);
        if (line.msg === 'switchboard listening') {
          resolve({ child, port: line.port as number, mqttPort: (line.mqttPort as number | null) ?? undefined, lines, stderr: () => stderr, exited });
        }
      }
    });
    void exited.then((how) => reject(new Error(`router exited (${how}) before listening: ${stderr}`)));
    setTimeout(() => reject(new Error(`router did not start within 20 s: ${stderr}`)), 20_000).unref();
  });
}

/** Runs the router expecting it to stop on its own; resolves with its exit code and standard error. */
export function runRouterToExit(args: string[], env: Record<string, string> = {}): Promise<{ code: number | string; stderr: string }> {
  const child = spawn(process.execPath, [MAIN, ...withDefaults(args)], { env: { PATH: process.env.PATH ?? '', ...env } });
  running.add(child);
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      running.delete(child);
      resolve({ code: signal ?? code ?? -1, stderr });
    });
  });
}

/** Loopback, and a free port unless the caller chose one (a restart must come back on the same ports). */
function withDefaults(args: string[]): string[] {
  return ['--host', '127.0.0.1', ...(args.includes('--port') ? [] : ['--port', '0']), ...args];
}

/** Kills every router this helper started that is still running (afterEach). */
export function killAllRouters(): void {
  for (const child of running) child.kill('SIGKILL');
}
