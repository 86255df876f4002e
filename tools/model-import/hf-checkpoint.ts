// A Hugging Face checkpoint directory (config.json, *.safetensors, tokenizer files) as the
// decoder builder wants it: the config checked against what the graph implements, the
// weights served from safetensors, the tokenizer files passed through.
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DecoderConfig, Llama3RopeScaling } from '../model-builder/config.js';
import type { TokenizerFiles } from '../model-builder/model-directory.js';
import { readJson } from '../../src/project.js';
import { safetensorsWeightSource, type CheckpointWeights } from './safetensors.js';

export interface HfCheckpoint {
  config: DecoderConfig;
  weights: CheckpointWeights;
  tokenizer: TokenizerFiles;
}

type HfConfig = Record<string, unknown> & Partial<DecoderConfig>;

const MODEL_TYPES = ['llama', 'qwen2'] as const;

/** HF config.json → DecoderConfig, refusing every option the decoder graph does not implement. */
function decoderConfigFromHf(hf: HfConfig): DecoderConfig {
  const modelType = hf.model_type;
  if (!MODEL_TYPES.includes(modelType as (typeof MODEL_TYPES)[number])) {
    throw new Error(`unsupported model_type "${String(modelType)}"; this importer handles ${MODEL_TYPES.join(', ')} ` +
      '(Llama, SmolLM2, Llama 3.x, Qwen2, Qwen2.5)');
  }
  const refuse = (what: string): never => {
    throw new Error(`unsupported ${modelType} option: ${what}`);
  };
  if ((hf.hidden_act ?? 'silu') !== 'silu') refuse(`hidden_act ${String(hf.hidden_act)}`);
  if (hf.mlp_bias === true) refuse('mlp_bias');
  if (hf.use_sliding_window === true) refuse('use_sliding_window');
  if (hf.partial_rotary_factor !== undefined && hf.partial_rotary_factor !== 1) refuse('partial_rotary_factor');
  const required = (key: keyof DecoderConfig): number => {
    const value = hf[key];
    if (typeof value !== 'number') throw new Error(`config.json lacks ${key}`);
    return value;
  };
  return {
    model_type: modelType as DecoderConfig['model_type'],
    vocab_size: required('vocab_size'),
    hidden_size: required('hidden_size'),
    intermediate_size: required('intermediate_size'),
    num_hidden_layers: required('num_hidden_layers'),
    num_attention_heads: required('num_attention_heads'),
    num_key_value_heads: hf.num_key_value_heads ?? required('num_attention_heads'),
    ...(hf.head_dim ? { head_dim: hf.head_dim } : {}),
    rms_norm_eps: required('rms_norm_eps'),
    rope_theta: hf.rope_theta ?? 10_000,
    rope_scaling: ropeScaling(hf.rope_scaling, refuse),
    // Both transformers classes default to untied embeddings.
    tie_word_embeddings: hf.tie_word_embeddings ?? false,
    max_position_embeddings: required('max_position_embeddings'),
    ...(modelType === 'llama' ? { attention_bias: hf.attention_bias ?? false } : {}),
    bos_token_id: hf.bos_token_id ?? null,
    eos_token_id: hf.eos_token_id ?? null,
  };
}

function ropeScaling(value: unknown, refuse: (what: string) => never): Llama3RopeScaling | null {
  if (value === undefined || value === null) return null;
  const scaling = value as Record<string, unknown>;
  // Older configs spell rope_type as "type".
  const type = scaling.rope_type ?? scaling.type;
  if (type === 'default') return null;
  if (type !== 'llama3') return refuse(`rope_scaling type ${String(type)}`);
  const number = (key: keyof Llama3RopeScaling): number => {
    if (typeof scaling[key] !== 'number') return refuse(`rope_scaling without ${key}`);
    return scaling[key];
  };
  return {
    rope_type: 'llama3',
    factor: number('factor'),
    low_freq_factor: number('low_freq_factor'),
    high_freq_factor: number('high_freq_factor'),
    original_max_position_embeddings: number('original_max_position_embeddings'),
  };
}

/**
 * The chat template from wherever transformers keeps it: tokenizer_config.json, or (newer
 * releases) chat_template.jinja / chat_template.json. A list of named templates yields "default".
 */
async function chatTemplate(dir: string, tokenizerConfig: Record<string, unknown>): Promise<string | undefined> {
  let template = tokenizerConfig.chat_template;
  if (template === undefined && existsSync(join(dir, 'chat_template.jinja'))) {
    template = await readFile(join(dir, 'chat_template.jinja'), 'utf8');
  }
  if (template === undefined && existsSync(join(dir, 'chat_template.json'))) {
    template = readJson<{ chat_template?: unknown }>(join(dir, 'chat_template.json')).chat_template;
  }
  if (Array.isArray(template)) {
    template = (template as { name: string; template: string }[]).find((t) => t.name === 'default')?.template;
  }
  return typeof template === 'string' ? template : undefined;
}

export async function openHfCheckpoint(dir: string): Promise<HfCheckpoint> {
  const need = (file: string): string => {
    const path = join(dir, file);
    if (!existsSync(path)) throw new Error(`${dir} has no ${file}; a checkpoint directory needs config.json, *.safetensors, tokenizer.json and tokenizer_config.json`);
    return path;
  };
  const config = decoderConfigFromHf(readJson<HfConfig>(need('config.json')));
  const tokenizerConfig = readJson<Record<string, unknown>>(need('tokenizer_config.json'));
  const tokenizerJson = await readFile(need('tokenizer.json'), 'utf8');
  const template = await chatTemplate(dir, tokenizerConfig);
  if (!template) throw new Error(`${dir} has no chat template; the pipeline prompts through the chat template, so use an instruct model`);

  const shards = (await readdir(dir)).filter((f) => f.endsWith('.safetensors')).sort();
  if (shards.length === 0) throw new Error(`${dir} has no *.safetensors weights (PyTorch .bin checkpoints are not read)`);
  const generationPath = join(dir, 'generation_config.json');
  const generation = existsSync(generationPath) ? readJson<Record<string, unknown>>(generationPath) : {};
  const eos = generation.eos_token_id ?? config.eos_token_id;
  if (eos === undefined || eos === null) throw new Error(`${dir}: neither generation_config.json nor config.json names eos_token_id`);
  return {
    config,
    weights: await safetensorsWeightSource(shards.map((f) => join(dir, f))),
    tokenizer: {
      tokenizerJson,
      tokenizerConfig: { ...tokenizerConfig, chat_template: template },
      generationConfig: { ...(config.bos_token_id == null ? {} : { bos_token_id: config.bos_token_id }), ...generation, eos_token_id: eos },
    },
  };
}
