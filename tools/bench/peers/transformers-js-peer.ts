// The transformers.js peer: the model directory loaded with AutoModelForCausalLM and run with
// generate(), one query at a time, the whole conversation re-rendered and re-fed at every turn,
// as someone new to transformers.js would write it.
import { AutoModelForCausalLM, AutoTokenizer, env, type PreTrainedModel, type Tensor } from '@huggingface/transformers';
import { askAsPipeline, type Peer, type PeerOptions, type PeerRun } from './peer.js';

/**
 * The inputs transformers.js feeds a decoder session (its decoder_forward and
 * setNumLogitsToKeep): a graph asking for anything else would fail inside generate().
 */
const FED_INPUTS = [/^input_ids$/, /^attention_mask$/, /^position_ids$/, /^past_key_values\.\d+\.(key|value)$/, /^num_logits_to_keep$/];

export async function loadPeer(options: PeerOptions): Promise<Peer> {
  env.allowRemoteModels = false;
  const tokenizer = await AutoTokenizer.from_pretrained(options.modelDir, { local_files_only: true });
  const model = await AutoModelForCausalLM.from_pretrained(options.modelDir, {
    local_files_only: true,
    dtype: 'fp32',
    session_options: { intraOpNumThreads: options.threads },
  });
  checkInputs(model, options.modelDir);
  return {
    async run(queries) {
      const run: PeerRun = { answers: [], promptTokens: 0, generatedTokens: 0 };
      for (const query of queries) {
        run.answers.push(await askAsPipeline(options.modelDir, query, async (chat) => {
          const inputs = tokenizer.apply_chat_template(chat, { add_generation_prompt: true, return_dict: true }) as { input_ids: Tensor; attention_mask: Tensor };
          const promptLength = inputs.input_ids.dims[1]!;
          const output = await model.generate({ ...inputs, max_new_tokens: options.maxNewTokens, do_sample: false }) as Tensor;
          const generated = (output.tolist() as bigint[][])[0]!.slice(promptLength).map(Number);
          run.promptTokens += promptLength;
          run.generatedTokens += generated.length;
          return tokenizer.decode(generated, { skip_special_tokens: true });
        }));
      }
      return run;
    },
    async close() {
      await model.dispose();
    },
  };
}

function checkInputs(model: PreTrainedModel, modelDir: string): void {
  const session = (model as unknown as { sessions: Record<string, { inputNames: string[] }> }).sessions.model;
  if (!session) throw new Error(`${modelDir}: transformers.js loaded no "model" session`);
  const unfed = session.inputNames.filter((name) => !FED_INPUTS.some((pattern) => pattern.test(name)));
  if (unfed.length > 0) throw new Error(`${modelDir}/onnx/model.onnx asks for inputs transformers.js does not feed: ${unfed.join(', ')}`);
}
