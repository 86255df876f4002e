// The llama.cpp peer (node-llama-cpp, CPU build from npm) as a user would run it at its best:
// quantised GGUF weights, conversations on the sequences of one context (several at once are
// batched by llama.cpp; see DEFAULT_SEQUENCES for why it is one), each conversation's KV kept in
// its sequence from turn to turn, greedy, threads = cores. Prompts are our rendered chat,
// tokenised by llama.cpp itself.
import type * as LlamaCpp from 'node-llama-cpp';
import type { LlamaContextSequence, Token } from 'node-llama-cpp';
import type { Query } from '../../../src/domain/types.js';
import { loadTokenizer, renderChat, stopTokenIds } from '../../../src/inference/onnx/chat-model.js';
import { askAsPipeline, type Peer, type PeerOptions, type PeerRun } from './peer.js';

/** node-llama-cpp is a devDependency: its prebuilt binaries stay out of the images, which install with --omit=dev. */
const PACKAGE = 'node-llama-cpp';
/** Room per sequence: the longest conv_term conversations here are a few hundred tokens. */
const CONTEXT_PER_SEQUENCE = 1024;
/**
 * One: several sequences batched give wrong answers with node-llama-cpp 3.21.1's CPU build.
 * On 32 NCBI-disease sentences, 2 threads, 16 sequences agreed with 1 sequence on 7 answers and
 * 4 sequences on 29, flash attention off, batch 512 (4096: 12 and 9 with batch 1024), with
 * repeated tokens ("AnswerAnswer") and fragments of other sentences. 4 short prompts started
 * together came out right with flash attention off and crossed with it on ("Wilson's disease"
 * for a BRCA1 sentence). One sequence agrees with transformers.js on 31 answers of 32. On this
 * prefill-heavy workload the count hardly moved throughput (8 sentences, 1 thread: 1.43-1.51
 * sentences/s for 1 to 16 sequences).
 */
export const DEFAULT_SEQUENCES = 1;

async function llamaCpp(): Promise<typeof LlamaCpp> {
  try {
    return await import('node-llama-cpp');
  } catch (error) {
    throw new Error(`the llama.cpp peer needs ${PACKAGE}, a devDependency: run "npm install" without --omit=dev ` +
      `(${(error as Error).message})`);
  }
}

export async function loadPeer(options: PeerOptions): Promise<Peer> {
  if (!options.gguf) throw new Error('the llama.cpp peer needs a GGUF file (options.gguf)');
  const { getLlama, LlamaLogLevel } = await llamaCpp();
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath: options.gguf, gpuLayers: 0 });
  const sequences = options.sequences ?? DEFAULT_SEQUENCES;
  const context = await model.createContext({
    sequences,
    contextSize: CONTEXT_PER_SEQUENCE,
    ...(options.batchSize ? { batchSize: options.batchSize } : {}),
    threads: options.threads,
  });
  const tokenizer = await loadTokenizer(options.modelDir);
  const stops = new Set(stopTokenIds(options.modelDir));
  const slots = Array.from({ length: sequences }, () => context.getSequence());

  /** One sentence's conversation on its own sequence: every turn's new tokens, then up to maxNewTokens greedy. */
  async function converse(sequence: LlamaContextSequence, query: Query, run: PeerRun): Promise<string[]> {
    await sequence.clearHistory();
    return askAsPipeline(options.modelDir, query, async (chat) => {
      const prompt = model.tokenize(renderChat(tokenizer, chat), true);
      // Keeps the cached prefix (earlier turns and answers) and drops whatever no longer matches.
      await sequence.adaptStateToTokens(prompt, false);
      const fresh = prompt.slice(sequence.nextTokenIndex);
      run.promptTokens += fresh.length;
      const generated: Token[] = [];
      for await (const token of sequence.evaluate(fresh, { temperature: 0 })) {
        run.generatedTokens++;
        if (stops.has(token)) break;
        generated.push(token);
        if (generated.length === options.maxNewTokens) break;
      }
      return model.detokenize(generated);
    });
  }

  return {
    async run(queries) {
      const run: PeerRun = { answers: [], promptTokens: 0, generatedTokens: 0 };
      let next = 0;
      // Each sequence takes the next sentence when it is free; their evaluations share llama.cpp's batches.
      await Promise.all(slots.map(async (sequence) => {
        for (let i = next++; i < queries.length; i = next++) run.answers[i] = await converse(sequence, queries[i]!, run);
      }));
      return run;
    },
    async close() {
      await context.dispose();
      await model.dispose();
      await llama.dispose();
    },
  };
}
