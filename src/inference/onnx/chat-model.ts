// A local chat model: the ONNX decoder session with the model's own tokenizer, chat template,
// end-of-turn tokens and byte vocabulary. Lives inside an inference worker thread, because
// session.run blocks its thread.
import { AutoTokenizer, env, type PreTrainedTokenizer } from '@huggingface/transformers';
import type { InferenceSession } from 'onnxruntime-node';
import { join } from 'node:path';
import type { ChatMessage } from '../../domain/types.js';
import { readJson } from '../../project.js';
import { createSession, decoderLayout, modelPath, type DecoderLayout, type ModelDtype, type SessionOptions } from './decoder-session.js';
import { Vocabulary } from './vocabulary.js';

export interface ChatModelOptions extends SessionOptions {
  modelDir: string;
  /** Which weights under onnx/ to load (default fp32, model.onnx). */
  dtype?: ModelDtype;
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

/**
 * The conversation as the model sees it, through its own chat template: ending with the
 * assistant's generation prompt to ask for the next turn, or without it for a whole
 * transcript (training).
 */
export function renderChat(tokenizer: PreTrainedTokenizer, conversation: ChatMessage[], generationPrompt = true): string {
  return tokenizer.apply_chat_template(conversation, {
    tokenize: false,
    add_generation_prompt: generationPrompt,
    ...PINNED_TEMPLATE_VARIABLES,
  }) as string;
}

/** The token ids of the conversation rendered in full, exactly what the model is prompted with. */
export function encodeChat(tokenizer: PreTrainedTokenizer, conversation: ChatMessage[], generationPrompt = true): number[] {
  return tokenizer.encode(renderChat(tokenizer, conversation, generationPrompt), { add_special_tokens: false });
}

/** The tokens that end an assistant turn (generation_config.json's eos_token_id). */
export function stopTokenIds(modelDir: string): number[] {
  const eos = [readGenerationConfig(modelDir).eos_token_id ?? []].flat();
  if (eos.length === 0) throw new Error(`${modelDir}: generation_config.json names no eos_token_id`);
  return eos;
}

function readGenerationConfig(modelDir: string): GenerationConfig {
  return readJson<GenerationConfig>(join(modelDir, 'generation_config.json'));
}

export class ChatModel {
  private constructor(
    readonly tokenizer: PreTrainedTokenizer,
    readonly session: InferenceSession,
    readonly layout: DecoderLayout,
    readonly stopTokenIds: number[],
    readonly padTokenId: number,
    /** Null for tokenizers that are not byte-level BPE: no constrained decoding, no confidences. */
    readonly vocabulary: Vocabulary | null,
  ) {}

  static async load(options: ChatModelOptions): Promise<ChatModel> {
    const tokenizer = await loadTokenizer(options.modelDir);
    const session = await createSession(modelPath(options.modelDir, options.dtype), options);
    const eos = stopTokenIds(options.modelDir);
    const pad = readGenerationConfig(options.modelDir).pad_token_id ?? tokenizer.pad_token_id ?? eos[0]!;
    const logits = session.outputMetadata.find((m) => m.name === 'logits');
    const vocabSize = logits?.isTensor ? logits.shape[2] : undefined;
    if (typeof vocabSize !== 'number') throw new Error(`${options.modelDir}: the logits output has no static vocabulary size`);
    const vocabulary = Vocabulary.load(join(options.modelDir, 'tokenizer.json'), vocabSize);
    return new ChatModel(tokenizer, session, decoderLayout(session), eos, pad, vocabulary);
  }

  encode(conversation: ChatMessage[]): number[] {
    return encodeChat(this.tokenizer, conversation);
  }

  /** An assistant turn as text, special tokens left out. */
  decode(tokens: readonly number[]): string {
    return this.tokenizer.decode([...tokens], { skip_special_tokens: true });
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
