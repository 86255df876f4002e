// A local chat model: the model's own tokenizer and chat template around the ONNX generation
// loop. Lives inside an inference worker thread, because session.run blocks its thread.
import { AutoTokenizer, env, type PreTrainedTokenizer } from '@huggingface/transformers';
import type { InferenceSession } from 'onnxruntime-node';
import { join } from 'node:path';
import type { ChatMessage } from '../../domain/types.js';
import { readJson } from '../../project.js';
import { createSession, generate, type SessionOptions } from './generate.js';

export interface ChatModelOptions extends SessionOptions {
  modelDir: string;
  maxNewTokens: number;
  /** File under onnx/: model.onnx (fp32), model_fp16.onnx, model_quantized.onnx, model_q4.onnx ... */
  modelFile?: string;
}

/** Rendering must not depend on the day: Llama 3 templates print today's date unless given one. */
const PINNED_TEMPLATE_VARIABLES = { date_string: '26 Jul 2024' };

interface GenerationConfig {
  eos_token_id?: number | number[];
  pad_token_id?: number;
}

export function loadTokenizer(modelDir: string): Promise<PreTrainedTokenizer> {
  env.allowRemoteModels = false; // offline by design: weights come from local files only
  return AutoTokenizer.from_pretrained(modelDir, { local_files_only: true });
}

/** The conversation as the model sees it, through its own chat template, ending with the assistant's generation prompt. */
export function renderChat(tokenizer: PreTrainedTokenizer, conversation: ChatMessage[]): string {
  return tokenizer.apply_chat_template(conversation, {
    tokenize: false,
    add_generation_prompt: true,
    ...PINNED_TEMPLATE_VARIABLES,
  }) as string;
}

export class ChatModel {
  private constructor(
    private readonly tokenizer: PreTrainedTokenizer,
    private readonly session: InferenceSession,
    private readonly stopTokenIds: Set<number>,
    private readonly padTokenId: number,
    private readonly maxNewTokens: number,
  ) {}

  static async load(options: ChatModelOptions): Promise<ChatModel> {
    const tokenizer = await loadTokenizer(options.modelDir);
    const session = await createSession(join(options.modelDir, 'onnx', options.modelFile ?? 'model.onnx'), options);
    const generation = readJson<GenerationConfig>(join(options.modelDir, 'generation_config.json'));
    const eos = [generation.eos_token_id ?? []].flat();
    if (eos.length === 0) throw new Error(`${options.modelDir}: generation_config.json names no eos_token_id`);
    const pad = generation.pad_token_id ?? tokenizer.pad_token_id ?? eos[0]!;
    return new ChatModel(tokenizer, session, new Set(eos), pad, options.maxNewTokens);
  }

  async complete(conversations: ChatMessage[][]): Promise<string[]> {
    const prompts = conversations.map((c) =>
      this.tokenizer.encode(renderChat(this.tokenizer, c), { add_special_tokens: false }),
    );
    const result = await generate(this.session, prompts, {
      maxNewTokens: this.maxNewTokens,
      stopTokenIds: this.stopTokenIds,
      padTokenId: this.padTokenId,
    });
    return result.rows.map((row) => this.tokenizer.decode(row.tokens, { skip_special_tokens: true }));
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
