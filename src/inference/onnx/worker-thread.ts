// Worker-thread entry: owns one ChatModel and its conversation engine. Calls run at once: their
// sequences share the engine's generation loop, which batches them step by step.
import { parentPort, workerData } from 'node:worker_threads';
import { completeChats } from './chat-completion.js';
import { ChatModel } from './chat-model.js';
import { ConversationEngine } from './conversation-engine.js';
import type { WorkerCall, WorkerThreadConfig, WorkerReply, WorkerRequest, WorkerResult } from './worker-protocol.js';

const port = parentPort!;
const config = workerData as WorkerThreadConfig;
const model = await ChatModel.load(config);
const engine = new ConversationEngine(model, config);
port.postMessage({ kind: 'ready', constrainable: model.vocabulary !== null } satisfies WorkerReply);

async function serve(call: WorkerCall): Promise<WorkerResult> {
  if (call.kind === 'answer') return { kind: 'answered', batch: await engine.answer(call.queries, call.settings) };
  return { kind: 'completed', batch: await completeChats(model, engine.loop, call.conversations, call.maxNewTokens) };
}

port.on('message', (request: WorkerRequest) => {
  if (request.kind === 'close') {
    // The pass under way ends first: releasing the session under it would abort the process.
    void engine.loop.stop().then(() => model.close()).then(() => port.close());
    return;
  }
  serve(request).then(
    (result) => port.postMessage({ kind: 'done', id: request.id, result } satisfies WorkerReply),
    (error: Error) => port.postMessage({ kind: 'failed', id: request.id, message: error.message } satisfies WorkerReply),
  );
});
