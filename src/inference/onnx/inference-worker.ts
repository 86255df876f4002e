// Worker-thread entry: owns one ChatModel and answers completion requests from the main thread.
import { parentPort, workerData } from 'node:worker_threads';
import { ChatModel, type ChatModelOptions } from './chat-model.js';
import type { WorkerReply, WorkerRequest } from './worker-protocol.js';

const port = parentPort!;
const model = await ChatModel.load(workerData as ChatModelOptions);
port.postMessage({ kind: 'ready' } satisfies WorkerReply);

port.on('message', async (request: WorkerRequest) => {
  if (request.kind === 'close') {
    await model.close();
    port.close();
    return;
  }
  try {
    const completions = await model.complete(request.conversations);
    port.postMessage({ kind: 'completed', id: request.id, completions } satisfies WorkerReply);
  } catch (error) {
    port.postMessage({ kind: 'failed', id: request.id, message: (error as Error).message } satisfies WorkerReply);
  }
});
