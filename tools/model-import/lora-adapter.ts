// A LoRA adapter in PEFT's format (adapter_config.json + adapter_model.safetensors) merged into
// a base model's weights as they are read: W' = W + (alpha / r) · B · A, in the Hugging Face
// [out, in] layout that both the importer and PyTorch use. The merged graph is then an ordinary
// decoder: no adapter code at inference, no extra latency.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ParameterSpec, WeightSource, WeightTensor } from '../model-builder/weights.js';
import { baseFingerprint, type BaseFingerprint } from './base-fingerprint.js';
import { safetensorsWeightSource } from './safetensors.js';

/** An adapter that does not fit the base it is asked to merge into. */
export class AdapterMismatchError extends Error {}

interface PeftLoraConfig {
  peft_type?: string;
  r?: number;
  lora_alpha?: number;
  use_rslora?: boolean;
  use_dora?: boolean;
  fan_in_fan_out?: boolean;
  lora_bias?: boolean;
  bias?: string;
  modules_to_save?: string[] | null;
  rank_pattern?: Record<string, number>;
  alpha_pattern?: Record<string, number>;
}

/** Written by `bioner-stream train` next to the adapter: the base it was trained on. */
const BASE_FILE = 'bioner_base.json';
const A_SUFFIX = '.lora_A.weight';

/**
 * The base's weights with the adapter added. Refuses, naming the reason, an adapter that PEFT
 * features this merge does not implement would change (DoRA, biases, per-module ranks), one
 * trained on other weights (bioner_base.json's sha256), and one whose modules or shapes are not
 * the base's.
 */
export async function withLoraAdapter(
  base: WeightSource,
  parameters: readonly ParameterSpec[],
  adapterDir: string,
  baseSource: string,
): Promise<{ weights: WeightSource; adapter: BaseFingerprint }> {
  const config = readConfig(adapterDir);
  await checkTrainedOn(adapterDir, baseSource);
  const tensors = await safetensorsWeightSource([join(adapterDir, 'adapter_model.safetensors')]);
  const scale = config.lora_alpha! / (config.use_rslora ? Math.sqrt(config.r!) : config.r!);
  const shapes = new Map(parameters.filter((p) => p.kind === 'linear').map((p) => [p.name, p.shape]));
  const pairs = new Map<string, { a: WeightTensor; b: WeightTensor }>();
  try {
    for (const name of tensors.names().filter((n) => n.endsWith(A_SUFFIX))) {
      const target = `${name.slice(0, -A_SUFFIX.length).replace(/^base_model\.model\./, '')}.weight`;
      const shape = shapes.get(target);
      if (!shape) throw new AdapterMismatchError(`${adapterDir}: adapts ${target}, which the base has no linear layer for`);
      const a = await tensors.read(name);
      const b = await tensors.read(name.replace(/lora_A\.weight$/, 'lora_B.weight'));
      if (b.shape[0] !== shape[0] || a.shape[1] !== shape[1] || a.shape[0] !== b.shape[1]) {
        throw new AdapterMismatchError(`${adapterDir}: ${target} is [${shape}] in the base, but the adapter's B·A is ` +
          `[${b.shape[0]}, ${a.shape[1]}] (rank ${a.shape[0]}): it was trained on another model`);
      }
      pairs.set(target, { a, b });
    }
  } finally {
    await tensors.close();
  }
  if (pairs.size === 0) throw new AdapterMismatchError(`${adapterDir}: adapter_model.safetensors holds no LoRA weights`);
  const weights: WeightSource = {
    async read(name) {
      const tensor = await base.read(name);
      const pair = pairs.get(name);
      if (!pair) return tensor;
      // Computed as each weight is read, so only one layer's product is ever held.
      const data = lowRankProduct(pair.b, pair.a, scale);
      data.forEach((d, i) => { data[i] = tensor.data[i]! + d; });
      return { data, shape: tensor.shape };
    },
  };
  return { weights, adapter: await baseFingerprint(join(adapterDir, 'adapter_model.safetensors')) };
}

function readConfig(adapterDir: string): PeftLoraConfig {
  const file = join(adapterDir, 'adapter_config.json');
  if (!existsSync(file)) throw new AdapterMismatchError(`${adapterDir} is not a PEFT adapter: no adapter_config.json`);
  const config = JSON.parse(readFileSync(file, 'utf8')) as PeftLoraConfig;
  const refuse = (why: string) => new AdapterMismatchError(`${file}: ${why}; only plain LoRA adapters can be merged`);
  if (config.peft_type !== 'LORA') throw refuse(`peft_type is ${config.peft_type}`);
  if (!(Number(config.r) > 0) || !(Number(config.lora_alpha) > 0)) throw refuse('r and lora_alpha must be positive');
  if (config.use_dora) throw refuse('DoRA adapters rescale weights by magnitude');
  if (config.fan_in_fan_out) throw refuse('fan_in_fan_out (Conv1D layers) is not a Llama/Qwen2 layout');
  if (config.lora_bias || (config.bias && config.bias !== 'none')) throw refuse('the adapter trains biases');
  if (config.modules_to_save?.length) throw refuse(`it replaces whole modules (${config.modules_to_save.join(', ')})`);
  if (Object.keys(config.rank_pattern ?? {}).length || Object.keys(config.alpha_pattern ?? {}).length) {
    throw refuse('ranks or alphas differ per module');
  }
  return config;
}

/** Refuses an adapter whose bioner_base.json names other weights than `baseSource`'s. */
export async function checkTrainedOn(adapterDir: string, baseSource: string): Promise<void> {
  const file = join(adapterDir, BASE_FILE);
  if (!existsSync(file)) return; // a PEFT adapter from elsewhere: the shape checks are all there is
  const trained = JSON.parse(readFileSync(file, 'utf8')) as Partial<BaseFingerprint>;
  if (!trained.sha256) return;
  const given = await baseFingerprint(baseSource);
  if (given.sha256 !== trained.sha256) {
    throw new AdapterMismatchError(`${adapterDir} was trained on ${trained.name} (sha256 ${trained.sha256.slice(0, 12)}…), ` +
      `not on ${given.name} (sha256 ${given.sha256.slice(0, 12)}…); merge it into the base it was trained on`);
  }
}

/** scale · B[out, r] · A[r, in], row-major. */
function lowRankProduct(b: WeightTensor, a: WeightTensor, scale: number): Float32Array {
  const [out, rank] = b.shape as [number, number];
  const inputs = a.shape[1]!;
  const product = new Float32Array(out * inputs);
  for (let o = 0; o < out; o++) {
    const row = product.subarray(o * inputs, (o + 1) * inputs);
    for (let k = 0; k < rank; k++) {
      const coefficient = scale * b.data[o * rank + k]!;
      const aRow = a.data.subarray(k * inputs, (k + 1) * inputs);
      for (let i = 0; i < inputs; i++) row[i]! += coefficient * aRow[i]!;
    }
  }
  return product;
}
