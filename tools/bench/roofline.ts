// The benchmark's roofline: one bare ONNX session per inference worker, each in a child process
// (roofline-process.ts), replaying the forward passes a pipeline run did, all batches at once as
// they ran.
import { fork, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import type { ForwardShape } from '../../src/inference/onnx/generate.js';
import type { RooflineReply, RooflineRequest } from './roofline-process.js';

export class Roofline {
  private constructor(private readonly children: ChildProcess[]) {}

  /** `count` sessions with the intra-op threads an inference pool of that size gives each worker. */
  static async start(modelDir: string, count: number): Promise<Roofline> {
    const intraOpNumThreads = Math.max(1, Math.floor(availableParallelism() / count));
    const children = Array.from({ length: count }, () => fork(new URL('./roofline-process.js', import.meta.url)));
    const roofline = new Roofline(children);
    await Promise.all(children.map((child) => ask(child, { kind: 'load', config: { modelDir, intraOpNumThreads } })));
    return roofline;
  }

  /** Each batch's forward passes on its own session, at once: the slowest one's milliseconds, and the CPU seconds of all. */
  async replay(batches: ForwardShape[][]): Promise<{ ms: number; cpuSeconds: number }> {
    const replies = await Promise.all(batches.map((shapes, i) => ask(this.children[i % this.children.length]!, { kind: 'time', shapes })));
    const timed = replies.flatMap((r) => (r.kind === 'timed' ? [r] : []));
    return { ms: Math.max(...timed.map((r) => r.ms)), cpuSeconds: timed.reduce((n, r) => n + r.cpuSeconds, 0) };
  }

  async close(): Promise<void> {
    await Promise.all(this.children.map((child) => new Promise((resolve) => {
      child.once('exit', resolve);
      child.send({ kind: 'stop' } satisfies RooflineRequest);
    })));
  }
}

function ask(child: ChildProcess, request: RooflineRequest): Promise<RooflineReply> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`roofline process exited with code ${code}`));
    child.once('exit', onExit);
    child.once('message', (reply: RooflineReply) => {
      child.off('exit', onExit);
      resolve(reply);
    });
    child.send(request);
  });
}
