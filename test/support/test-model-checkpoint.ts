// The generated test model as a Hugging Face checkpoint directory (config.json, tokenizer files,
// model.safetensors), so PyTorch can load the very weights the ONNX test model is built from.
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { decoderParameters, randomWeightSource, TINY_QWEN2_CONFIG } from '../../tools/model-builder/index.js';
import { testModelDir } from './paths.js';
import { writeSafetensors } from './tiny-checkpoints.js';

/** The seed scripts/build-test-model.mjs builds the test model with. */
const TEST_MODEL_SEED = 1234;

/** Writes the checkpoint into `dir`; another `seed` gives a model of the same shape with other weights. */
export async function writeTestModelCheckpoint(dir: string, seed = TEST_MODEL_SEED): Promise<string> {
  const model = await testModelDir();
  await mkdir(dir, { recursive: true });
  for (const file of ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json']) {
    await copyFile(join(model, file), join(dir, file));
  }
  const weights = randomWeightSource(TINY_QWEN2_CONFIG, seed);
  const tensors = await Promise.all(decoderParameters(TINY_QWEN2_CONFIG).map(async (spec) =>
    ({ name: spec.name, tensor: await weights.read(spec.name), dtype: 'F32' as const })));
  await writeSafetensors(join(dir, 'model.safetensors'), tensors);
  return dir;
}
