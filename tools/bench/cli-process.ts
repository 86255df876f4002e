// A `bioner-stream` command (run, serve) as a child process, ready once its /readyz says so.
// Benchmarks and tests run the real processes, as a deployment would.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { projectPath } from '../../src/project.js';

export const CLI = projectPath('bin', 'bioner-stream.js');

export interface CliProcess {
  child: ChildProcess;
  /** Where /healthz, /readyz and /metrics answer. */
  port: number;
  url: string;
  output: () => string;
  metrics(): Promise<string>;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
}

/** Starts `bioner-stream ARGS` whose probes listen on `port`, and waits until it is ready. */
export async function startCliProcess(args: string[], port: number, env: NodeJS.ProcessEnv = {}): Promise<CliProcess> {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`bioner-stream ${args[0]} exited early (${child.exitCode}):\n${output}`);
    if (Date.now() > deadline) throw new Error(`bioner-stream ${args[0]} not ready after 60 s:\n${output}`);
    if (await fetch(`${url}/readyz`).then((r) => r.ok, () => false)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, port, url, exited, output: () => output, metrics: () => fetch(`${url}/metrics`).then((r) => r.text()) };
}

/** Sends SIGTERM and waits for the exit code. */
export async function stopCliProcess(process: CliProcess): Promise<number | null> {
  if (process.child.exitCode !== null) return process.child.exitCode;
  process.child.kill('SIGTERM');
  return process.exited;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
