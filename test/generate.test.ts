import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  AutoModelForCausalLM,
  AutoTokenizer,
  env,
  type PreTrainedTokenizer,
  type Tensor as HfTensor,
} from '@huggingface/transformers';
import { Tensor, type InferenceSession } from 'onnxruntime-node';
import {
  buildDecoderModel,
  randomWeightSource,
  type DecoderConfig,
  type WeightSource,
} from '../tools/model-builder/index.js';
import { createSession } from '../src/inference/onnx/decoder-session.js';
import { ALL_FEATURES } from '../src/inference/onnx/generation-scheduler.js';
import { greedyPicker, type TokenPicker } from '../src/inference/onnx/token-picker.js';
import { generate, generateWithoutCache, type GenerateOptions } from './support/generation.js';

const BUILD_SCRIPT = fileURLToPath(new URL('../../scripts/build-test-model.mjs', import.meta.url));
const IM_END = 151645;
const ENDOFTEXT = 151643;
const OPTIONS: GenerateOptions = { maxNewTokens: 16, stopTokenIds: [IM_END, ENDOFTEXT], padTokenId: ENDOFTEXT };

const SENTENCES = [
  'BRCA1 mutations increase the risk of breast and ovarian cancer.',
  'Imatinib inhibits the BCR-ABL tyrosine kinase in chronic myeloid leukemia.',
  'Cystic fibrosis is caused by mutations in the CFTR gene.',
  'Aspirin.',
];

env.allowRemoteModels = false;

let workDir: string;
let modelDir: string;
let tokenizer: PreTrainedTokenizer;
let session: InferenceSession;
/** Chat-formatted NER prompts of different lengths, plus one raw short sentence. */
let promptTexts: string[];
let prompts: number[][];

before(async () => {
  workDir = await mkdtemp(path.join(tmpdir(), 'bioner-generate-'));
  modelDir = path.join(workDir, 'tiny-qwen2');
  await promisify(execFile)(process.execPath, [BUILD_SCRIPT, modelDir]);
  tokenizer = await AutoTokenizer.from_pretrained(modelDir, { local_files_only: true });
  session = await createSession(path.join(modelDir, 'onnx', 'model.onnx'), { intraOpNumThreads: 1 });
  promptTexts = SENTENCES.map((sentence, i) =>
    i === SENTENCES.length - 1 ? sentence : chat(`List the diseases, genes and chemicals in: ${sentence}`),
  );
  prompts = promptTexts.map((text) => tokenizer.encode(text));
});

after(async () => {
  await session?.release();
  await rm(workDir, { recursive: true, force: true });
});

function chat(user: string, system?: string): string {
  const messages = [...(system ? [{ role: 'system', content: system }] : []), { role: 'user', content: user }];
  const text = tokenizer.apply_chat_template(messages, { tokenize: false, add_generation_prompt: true });
  assert.equal(typeof text, 'string');
  return text as string;
}

function assertCloseArrays(actual: number[], expected: number[], tolerance: number): void {
  assert.equal(actual.length, expected.length);
  actual.forEach((value, i) =>
    assert.ok(Math.abs(value - expected[i]!) <= tolerance, `[${i}] ${value} vs ${expected[i]}`),
  );
}

describe('test model directory', () => {
  test('tokenizer loads with transformers.js and renders the Qwen2.5 ChatML template', async () => {
    assert.equal(
      chat('Find diseases.'),
      '<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n' +
        '<|im_start|>user\nFind diseases.<|im_end|>\n<|im_start|>assistant\n',
    );
    assert.equal(
      chat('Find diseases.', 'You annotate text.'),
      '<|im_start|>system\nYou annotate text.<|im_end|>\n' +
        '<|im_start|>user\nFind diseases.<|im_end|>\n<|im_start|>assistant\n',
    );
    assert.deepEqual(tokenizer.encode('<|im_start|>user<|im_end|>'), [151644, 872, IM_END]);
    const generation = JSON.parse(await readFile(path.join(modelDir, 'generation_config.json'), 'utf8'));
    assert.deepEqual(generation.eos_token_id, [IM_END, ENDOFTEXT]);
    assert.equal(generation.pad_token_id, ENDOFTEXT);
  });

  test('transformers.js runs the exported model and agrees with generate()', async () => {
    const model = await AutoModelForCausalLM.from_pretrained(modelDir, { local_files_only: true, dtype: 'fp32' });
    try {
      const prompt = prompts[0]!;
      const inputs = tokenizer(promptTexts[0]!);
      const output = (await model.generate({ ...inputs, max_new_tokens: 8, do_sample: false })) as HfTensor;
      const theirs = Array.from(output.data as BigInt64Array, Number).slice(prompt.length);
      const ours = await generate(session, [prompt], { ...OPTIONS, maxNewTokens: 8 });
      assert.deepEqual(ours.rows[0]!.tokens, theirs);
    } finally {
      await model.dispose();
    }
  });
});

describe('greedy generation', () => {
  test('the KV cache gives the same tokens as full recomputation', async () => {
    for (const prompt of prompts) {
      const cached = await generate(session, [prompt], OPTIONS);
      const reference = await generateWithoutCache(session, [prompt], OPTIONS);
      const [a, b] = [cached.rows[0]!, reference.rows[0]!];
      assert.deepEqual(a.tokens, b.tokens);
      assert.equal(a.finishReason, b.finishReason);
      assertCloseArrays(a.probabilities, b.probabilities, 1e-4);
      assert.ok(new Set(a.tokens).size > 1, 'the model should not just repeat one token');
    }
  });

  test('a left-padded batch matches each sequence run alone', async () => {
    assert.equal(new Set(prompts.map((p) => p.length)).size, prompts.length, 'prompts need distinct lengths');
    const batched = await generate(session, prompts, OPTIONS);
    for (const [row, prompt] of prompts.entries()) {
      const alone = (await generate(session, [prompt], OPTIONS)).rows[0]!;
      const inBatch = batched.rows[row]!;
      assert.deepEqual(inBatch.tokens, alone.tokens, `row ${row}`);
      assert.equal(inBatch.finishReason, alone.finishReason);
      assertCloseArrays(inBatch.probabilities, alone.probabilities, 1e-4);
      for (const p of inBatch.probabilities) assert.ok(p > 0 && p <= 1);
    }
    assert.equal(batched.promptTokens, prompts.reduce((n, p) => n + p.length, 0));
    assert.equal(batched.generatedTokens, OPTIONS.maxNewTokens * prompts.length);
  });

  test('a stop token finishes its row while the others continue', async () => {
    const free = await generate(session, prompts, { ...OPTIONS, stopTokenIds: [] });
    const stopToken = free.rows[0]!.tokens[3]!;
    const stopped = await generate(session, prompts, { ...OPTIONS, stopTokenIds: [stopToken] });
    let continued = 0;
    for (const [row, output] of stopped.rows.entries()) {
      const unstopped = free.rows[row]!.tokens;
      const cut = unstopped.indexOf(stopToken);
      if (cut === -1) {
        continued++;
        assert.deepEqual(output.tokens, unstopped, `row ${row}`);
        assert.equal(output.finishReason, 'length');
      } else {
        assert.deepEqual(output.tokens, unstopped.slice(0, cut), `row ${row}`);
        assert.equal(output.finishReason, 'stop');
      }
    }
    assert.ok(stopped.rows[0]!.tokens.length <= 3);
    assert.ok(continued > 0, 'some row should run to maxNewTokens');
    assert.equal(stopped.generatedTokens, stopped.rows.reduce((n, s) => n + s.tokens.length, 0));
  });
  test('rows that finish early leave the batch without changing the rows still generating', async () => {
    const eight = [...prompts, ...prompts.map((p) => p.slice(2))];
    // Rows 0-4 end the turn after two tokens, so the 8-row batch is compacted to the 3 still going.
    const endsEarly = (row: number): TokenPicker => {
      let picks = 0;
      return { ...greedyPicker, pick: (logits, offset, vocab) =>
        row < 5 && ++picks > 2 ? { token: IM_END, probability: 1 } : greedyPicker.pick(logits, offset, vocab) };
    };
    const { rows } = await generate(session, eight, { ...OPTIONS, picker: endsEarly });
    for (const [row, prompt] of eight.entries()) {
      const alone = (await generate(session, [prompt], OPTIONS)).rows[0]!.tokens;
      assert.deepEqual(rows[row]!.tokens, row < 5 ? alone.slice(0, 2) : alone, `row ${row}`);
    }
  });

  test('a sequence that joins a running batch gets the same tokens as alone', async () => {
    // Room for two rows: the other prompts join, one by one, as rows finish, with steps still running.
    const joined = await generate(session, prompts, { ...OPTIONS, maxRows: 2 });
    const lockstep = await generate(session, prompts, { ...OPTIONS, features: { ...ALL_FEATURES, stepBatching: false } });
    // Against full recomputation, which shares no code path with the batch it checks.
    for (const [row, prompt] of prompts.entries()) {
      const alone = (await generateWithoutCache(session, [prompt], OPTIONS)).rows[0]!;
      assert.deepEqual(joined.rows[row]!.tokens, alone.tokens, `row ${row}, joined`);
      assert.deepEqual(lockstep.rows[row]!.tokens, alone.tokens, `row ${row}, lockstep`);
    }
  });
});

/** A straightforward float64 forward pass, written from the HF Qwen2 / Llama modeling code. */
async function referenceLogits(config: DecoderConfig, source: WeightSource, tokens: number[]): Promise<number[][]> {
  const weights = new Map<string, Float32Array>();
  const w = async (name: string): Promise<Float32Array> => {
    if (!weights.has(name)) weights.set(name, (await source.read(name)).data);
    return weights.get(name)!;
  };
  const maybe = async (name: string, present: boolean) => (present ? w(name) : undefined);
  const linear = (x: number[], weight: Float32Array, bias?: Float32Array): number[] =>
    Array.from({ length: weight.length / x.length }, (_, o) =>
      x.reduce((sum, xi, i) => sum + weight[o * x.length + i]! * xi, bias ? bias[o]! : 0),
    );
  const rmsNorm = (x: number[], weight: Float32Array): number[] => {
    const scale = 1 / Math.sqrt(x.reduce((s, v) => s + v * v, 0) / x.length + config.rms_norm_eps);
    return x.map((v, i) => v * scale * weight[i]!);
  };
  const headDim = config.head_dim ?? config.hidden_size / config.num_attention_heads;
  const half = headDim / 2;
  const heads = (x: number[]): number[][] =>
    Array.from({ length: x.length / headDim }, (_, h) => x.slice(h * headDim, (h + 1) * headDim));
  const rope = (x: number[], position: number): number[] =>
    x.map((v, i) => {
      const angle = position * config.rope_theta ** (-(2 * (i % half)) / headDim);
      const rotated = i < half ? -x[i + half]! : x[i - half]!;
      return v * Math.cos(angle) + rotated * Math.sin(angle);
    });
  const silu = (v: number) => v / (1 + Math.exp(-v));
  const qkvBias = config.model_type === 'qwen2' || config.attention_bias === true;
  const oBias = config.model_type === 'llama' && config.attention_bias === true;
  const group = config.num_attention_heads / config.num_key_value_heads;

  const embed = await w('model.embed_tokens.weight');
  let hidden = tokens.map((t) => Array.from(embed.subarray(t * config.hidden_size, (t + 1) * config.hidden_size)));
  for (let layer = 0; layer < config.num_hidden_layers; layer++) {
    const p = `model.layers.${layer}`;
    const proj = async (name: string, x: number[], bias: boolean) =>
      linear(x, await w(`${p}.${name}.weight`), await maybe(`${p}.${name}.bias`, bias));
    const q: number[][][] = [];
    const k: number[][][] = [];
    const v: number[][][] = [];
    for (const [t, h] of hidden.entries()) {
      const x = rmsNorm(h, await w(`${p}.input_layernorm.weight`));
      q.push(heads(await proj('self_attn.q_proj', x, qkvBias)).map((head) => rope(head, t)));
      k.push(heads(await proj('self_attn.k_proj', x, qkvBias)).map((head) => rope(head, t)));
      v.push(heads(await proj('self_attn.v_proj', x, qkvBias)));
    }
    const next: number[][] = [];
    for (const [t, h] of hidden.entries()) {
      const context = q[t]!.flatMap((query, head) => {
        const kvHead = Math.floor(head / group);
        const scores = k.slice(0, t + 1).map((key) =>
          query.reduce((s, qi, i) => s + qi * key[kvHead]![i]!, 0) / Math.sqrt(headDim));
        const max = Math.max(...scores);
        const exps = scores.map((s) => Math.exp(s - max));
        const total = exps.reduce((a, b) => a + b, 0);
        return Array.from({ length: headDim }, (_, i) =>
          exps.reduce((s, e, j) => s + (e / total) * v[j]![kvHead]![i]!, 0));
      });
      const attended = [...h];
      (await proj('self_attn.o_proj', context, oBias)).forEach((o, i) => (attended[i]! += o));
      const y = rmsNorm(attended, await w(`${p}.post_attention_layernorm.weight`));
      const gate = await proj('mlp.gate_proj', y, false);
      const up = await proj('mlp.up_proj', y, false);
      const down = await proj('mlp.down_proj', gate.map((g, i) => silu(g) * up[i]!), false);
      next.push(attended.map((value, i) => value + down[i]!));
    }
    hidden = next;
  }
  const lmHead = await w(config.tie_word_embeddings ? 'model.embed_tokens.weight' : 'lm_head.weight');
  const finalNorm = await w('model.norm.weight');
  return hidden.map((h) => linear(rmsNorm(h, finalNorm), lmHead));
}

async function graphLogits(modelPath: string, config: DecoderConfig, tokens: number[]): Promise<Float32Array> {
  const model = await createSession(modelPath);
  try {
    const headDim = config.head_dim ?? config.hidden_size / config.num_attention_heads;
    const ids = (values: number[]) => new Tensor('int64', BigInt64Array.from(values, BigInt), [1, values.length]);
    const emptyPast = new Tensor('float32', new Float32Array(0), [1, config.num_key_value_heads, 0, headDim]);
    const feeds: Record<string, Tensor> = {
      input_ids: ids(tokens),
      attention_mask: ids(tokens.map(() => 1)),
      position_ids: ids(tokens.map((_, i) => i)),
      num_logits_to_keep: new Tensor('int64', BigInt64Array.of(0n), []),
    };
    for (let layer = 0; layer < config.num_hidden_layers; layer++) {
      feeds[`past_key_values.${layer}.key`] = emptyPast;
      feeds[`past_key_values.${layer}.value`] = emptyPast;
    }
    return (await model.run(feeds)).logits!.data as Float32Array;
  } finally {
    await model.release();
  }
}

describe('decoder graph', () => {
  const base = {
    vocab_size: 300,
    hidden_size: 32,
    intermediate_size: 48,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    rms_norm_eps: 1e-6,
    max_position_embeddings: 128,
  };
  const configs: DecoderConfig[] = [
    { ...base, model_type: 'qwen2', rope_theta: 1_000_000, tie_word_embeddings: true },
    // head_dim != hidden / heads and a single KV head exercise the o_proj shapes and GQA indexing.
    {
      ...base,
      model_type: 'llama',
      rope_theta: 10_000,
      tie_word_embeddings: false,
      head_dim: 12,
      num_key_value_heads: 1,
    },
  ];
  const tokens = [17, 254, 3, 99, 3, 180];

  for (const config of configs) {
    test(`${config.model_type} logits match a JS reference forward pass`, async () => {
      const weights = randomWeightSource(config, 7);
      const modelPath = path.join(workDir, `ref-${config.model_type}`, 'model.onnx');
      await buildDecoderModel({ config, weights, modelPath });
      const actual = await graphLogits(modelPath, config, tokens);
      const expected = (await referenceLogits(config, weights, tokens)).flat();
      assert.equal(actual.length, expected.length);
      let maxError = 0;
      expected.forEach((e, i) => (maxError = Math.max(maxError, Math.abs(actual[i]! - e))));
      assert.ok(maxError < 1e-4, `max |error| ${maxError}`);
    });
  }

  test('external-data weights load and give the same logits as inline weights', async () => {
    const config = configs[0]!;
    const weights = randomWeightSource(config, 7);
    const inline = await buildDecoderModel({ config, weights, modelPath: path.join(workDir, 'inline', 'model.onnx') });
    const external = await buildDecoderModel({
      config,
      weights,
      modelPath: path.join(workDir, 'external', 'model.onnx'),
      externalData: true,
    });
    assert.equal(path.basename(external.dataPath ?? ''), 'model.onnx_data');
    assert.ok(external.modelBytes < 100_000 && inline.dataPath === undefined);
    const fromInline = await graphLogits(inline.modelPath, config, tokens);
    assert.deepEqual(await graphLogits(external.modelPath, config, tokens), fromInline);
  });
});
