/**
 * Runs Python scripts that drive real third-party clients (autobahn-python, paho) against the router. A script
 * prints JSON lines on stdout: an optional `{"ready": true, ...}` once it is set up, and its result last. Only
 * /usr/bin/python3 is used (the `python3` on PATH may lack Debian's modules), unless SWITCHBOARD_TEST_PYTHON says
 * otherwise.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';

export const PYTHON = process.env.SWITCHBOARD_TEST_PYTHON ?? '/usr/bin/python3';

/** Whether `imports` can be imported, and what the probe printed; `packages` names what to install if not. */
export function probePython(imports: string, printVersion: string, packages: string): { problem?: string; version?: string } {
  const probe = spawnSync(PYTHON, ['-c', `import ${imports}; print(${printVersion})`], { encoding: 'utf8', timeout: 10_000 });
  if (probe.error) return { problem: `cannot run ${PYTHON}: ${probe.error.message}` };
  if (probe.status !== 0) {
    return { problem: `${PYTHON} cannot import ${imports} (install the Debian packages ${packages}): ${probe.stderr.trim().split('\n').pop()}` };
  }
  return { version: probe.stdout.trim() };
}

export interface PyRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Every JSON line printed on stdout, in order. */
  lines: Array<Record<string, unknown>>;
  /** The last JSON line: the script's result. */
  result: Record<string, any>;
  stderr: string;
}

export interface PyChild {
  /** Resolves with the first `{"ready": true, ...}` line. */
  ready: Promise<Record<string, unknown>>;
  done: Promise<PyRun>;
}

/** Starts scripts and kills whatever is still running in `killAll` (call it in afterEach). */
export class PythonScripts {
  private readonly children = new Set<ChildProcess>();

  constructor(
    /** A last resort after the script's own timeout. */
    private readonly killAfterMs: number,
  ) {}

  start(args: string[]): PyChild {
    const child = spawn(PYTHON, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.add(child);
    const lines: Array<Record<string, unknown>> = [];
    let stdout = '';
    let stderr = '';
    let readyResolve!: (line: Record<string, unknown>) => void;
    let readyReject!: (error: Error) => void;
    const ready = new Promise<Record<string, unknown>>((resolve, reject) => {
      readyResolve = resolve;
      readyReject = reject;
    });
    ready.catch(() => undefined); // only some callers wait for it
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      stdout += chunk;
      let newline;
      while ((newline = stdout.indexOf('\n')) >= 0) {
        const text = stdout.slice(0, newline).trim();
        stdout = stdout.slice(newline + 1);
        if (text === '') continue;
        try {
          const line = JSON.parse(text) as Record<string, unknown>;
          lines.push(line);
          if (line.ready === true) readyResolve(line);
        } catch {
          lines.push({ unparsed: text });
        }
      }
    });
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
    });
    const killer = setTimeout(() => child.kill('SIGKILL'), this.killAfterMs);
    const done = new Promise<PyRun>((resolve, reject) => {
      child.on('error', (error) => {
        clearTimeout(killer);
        reject(new Error(`cannot spawn ${PYTHON}: ${error.message}`));
      });
      child.on('close', (code, signal) => {
        clearTimeout(killer);
        this.children.delete(child);
        const result = (lines.at(-1) ?? { ok: false, error: 'no output' }) as Record<string, any>;
        readyReject(new Error(`python exited (code ${code}, signal ${signal}) before ready: ${JSON.stringify(result)} ${stderr}`));
        resolve({ code, signal, lines, result, stderr });
      });
    });
    return { ready, done };
  }

  killAll(): void {
    for (const child of this.children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    this.children.clear();
  }
}
