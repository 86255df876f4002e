// Writes a model directory in the transformers.js layout that the ONNX backend loads:
// config.json, generation_config.json, tokenizer.json, tokenizer_config.json and
// onnx/model.onnx (+ model.onnx_data for large models). Used by the test-model script
// and the importer alike.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DecoderConfig } from './config.js';
import { buildDecoderModel, type BuiltModel } from './build.js';
import type { WeightSource } from './weights.js';

export interface TokenizerFiles {
  /** tokenizer.json, serialised. */
  tokenizerJson: string;
  /** tokenizer_config.json; transformers.js reads the chat template only from here. */
  tokenizerConfig: Record<string, unknown>;
  /** generation_config.json: eos_token_id (the stop tokens) at least. */
  generationConfig: Record<string, unknown>;
}

export interface ModelDirectoryOptions extends TokenizerFiles {
  dir: string;
  config: DecoderConfig;
  weights: WeightSource;
}

const ARCHITECTURES = { qwen2: 'Qwen2ForCausalLM', llama: 'LlamaForCausalLM' } as const;

const writeJson = (file: string, value: unknown): Promise<void> =>
  writeFile(file, `${JSON.stringify(value, null, 2)}\n`);

export async function writeModelDirectory(options: ModelDirectoryOptions): Promise<BuiltModel> {
  const { dir, config } = options;
  await mkdir(dir, { recursive: true });
  const built = await buildDecoderModel({ config, weights: options.weights, modelPath: join(dir, 'onnx', 'model.onnx') });
  await writeJson(join(dir, 'config.json'), {
    architectures: [ARCHITECTURES[config.model_type]],
    ...config,
    hidden_act: 'silu',
    torch_dtype: 'float32',
    use_cache: true,
    use_sliding_window: false,
    attention_dropout: 0,
    // transformers.js only looks for model.onnx_data when told to.
    ...(built.dataPath ? { 'transformers.js_config': { use_external_data_format: true } } : {}),
  });
  await writeJson(join(dir, 'generation_config.json'), options.generationConfig);
  await writeFile(join(dir, 'tokenizer.json'), options.tokenizerJson);
  await writeJson(join(dir, 'tokenizer_config.json'), options.tokenizerConfig);
  return built;
}
