// A real `bioner-stream serve` process for the tests, on a loopback port.
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from './kafka.js';
import { CLI } from './paths.js';

export interface ServerProcess {
  child: ChildProcess;
  port: number;
  url: string;
  output: () => string;
  metrics(): Promise<string>;
  exited: Promise<number | null>;
}

/** Starts `serve` and waits until /readyz says the model is loaded and warmed up. */
export async function startServer(modelDir: string, args: string[] = [], port?: number): Promise<ServerProcess> {
  const chosen = port ?? (await freePort());
  const child = spawn(process.execPath, [CLI, 'serve', '--model', modelDir, '--host', '127.0.0.1', '--port', String(chosen), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${chosen}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`serve exited early (${child.exitCode}):\n${output}`);
    if (Date.now() > deadline) throw new Error(`serve not ready after 60 s:\n${output}`);
    if (await fetch(`${url}/readyz`).then((r) => r.ok, () => false)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, port: chosen, url, exited, output: () => output, metrics: () => fetch(`${url}/metrics`).then((r) => r.text()) };
}
