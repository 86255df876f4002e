// Request and reply with a benchmark child process over IPC, one request at a time: the
// reply, or an error when the child fails the request or exits first.
import type { ChildProcess } from 'node:child_process';

export type FailedReply = { kind: 'failed'; message: string };

export function ask<Request, Reply extends { kind: string }>(child: ChildProcess, request: Request, who: string): Promise<Exclude<Reply, FailedReply>> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`${who} exited with code ${code}`));
    child.once('exit', onExit);
    child.once('message', (reply: Reply | FailedReply) => {
      child.off('exit', onExit);
      if (reply.kind === 'failed') reject(new Error(`${who} failed: ${(reply as FailedReply).message}`));
      else resolve(reply as Exclude<Reply, FailedReply>);
    });
    child.send(request as object);
  });
}

/** Asks the child to stop and waits for it to exit. */
export function stop(child: ChildProcess, request: object): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.send(request);
  });
}
