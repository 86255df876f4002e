// Worker-thread entry: owns one ChatModel and serves the pool's calls one at a time (they share
// the session and its input buffers).
import { parentPort, workerData } from 'node:worker_threads';
import { completeChats } from './chat-completion.js';
import { ChatModel } from './chat-model.js';
import { ConversationEngine } from './conversation-engine.js';
import type { WorkerCall, WorkerThreadConfig, WorkerReply, WorkerRequest, WorkerResult } from './worker-protocol.js';

const port = parentPort!;
const config = workerData as WorkerThreadConfig;
const model = await ChatModel.load(config);
const engine = new ConversationEngine(model, config.prefillChunkTokens);
port.postMessage({ kind: 'ready', constrainable: model.vocabulary !== null } satisfies WorkerReply);

async function serve(call: WorkerCall): Promise<WorkerResult> {
  if (call.kind === 'answer') return { kind: 'answered', batch: await engine.answer(call.queries, call.settings) };
  return { kind: 'completed', batch: await completeChats(model, config.prefillChunkTokens, call.conversations, call.maxNewTokens) };
}

let queue = Promise.resolve();
port.on('message', (request: WorkerRequest) => {
  queue = queue.then(async () => {
    if (request.kind === 'close') {
      await model.close();
      port.close();
      return;
    }
    try {
      port.postMessage({ kind: 'done', id: request.id, result: await serve(request) } satisfies WorkerReply);
    } catch (error) {
      port.postMessage({ kind: 'failed', id: request.id, message: (error as Error).message } satisfies WorkerReply);
    }
  });
});
