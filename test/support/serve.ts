// A real `bioner-stream serve` process for the tests, on a loopback port.
import { freePort, startCliProcess, type CliProcess } from '../../tools/bench/cli-process.js';

export type ServerProcess = CliProcess;

/** Starts `serve` and waits until /readyz says the model is loaded and warmed up. */
export async function startServer(modelDir: string, args: string[] = [], port?: number): Promise<ServerProcess> {
  const chosen = port ?? (await freePort());
  return startCliProcess(['serve', '--model', modelDir, '--host', '127.0.0.1', '--port', String(chosen), ...args], chosen);
}
