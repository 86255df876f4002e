// A decoder whose greedy output is written in advance: a bigram model with one layer that
// contributes nothing, so each next token depends only on the current one. It lets engine tests
// see a model that answers validly, which random weights never do.
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  buildDecoderModel,
  decoderParameters,
  TINY_QWEN2_CONFIG,
  type DecoderConfig,
  type WeightSource,
} from '../../tools/model-builder/index.js';

const CONFIG: DecoderConfig = { ...TINY_QWEN2_CONFIG, num_hidden_layers: 1, tie_word_embeddings: false };

/**
 * A model directory (the test model's tokenizer files) whose argmax after `chain[i]` is
 * `chain[i + 1]`: each chain token's embedding is its own axis, which lm_head maps to its
 * successor; every other weight is zero, except the norms.
 */
export async function buildScriptedModel(dir: string, tokenizerDir: string, chain: number[]): Promise<string> {
  const hidden = CONFIG.hidden_size;
  if (new Set(chain.slice(0, -1)).size !== chain.length - 1 || chain.length > hidden) {
    throw new Error('a chain token may have one successor, and the chain fits the hidden size');
  }
  const shapes = new Map(decoderParameters(CONFIG).map((p) => [p.name, p.shape]));
  const weights: WeightSource = {
    async read(name) {
      const shape = shapes.get(name)!;
      const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
      if (name.endsWith('norm.weight')) data.fill(1);
      chain.slice(0, -1).forEach((token, axis) => {
        if (name === 'model.embed_tokens.weight') data[token * hidden + axis] = 1;
        if (name === 'lm_head.weight') data[chain[axis + 1]! * hidden + axis] = 10;
      });
      return { data, shape };
    },
  };
  await mkdir(join(dir, 'onnx'), { recursive: true });
  await buildDecoderModel({ config: CONFIG, weights, modelPath: join(dir, 'onnx', 'model.onnx') });
  for (const file of ['generation_config.json', 'tokenizer.json', 'tokenizer_config.json']) {
    await copyFile(join(tokenizerDir, file), join(dir, file));
  }
  return dir;
}
