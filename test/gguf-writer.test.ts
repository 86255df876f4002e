// The GGUF exporter on a tiny Llama GGUF and a tiny LoRA adapter: read back by the importer,
// the export holds the merged weights (in HF layout again, so the q/k permutation went back
// the way llama.cpp expects) and the base's tokenizer and chat template.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { decoderParameters, randomWeightSource } from '../tools/model-builder/index.js';
import { exportMergedGguf, isExported, type ExportType } from '../tools/model-export/gguf-export.js';
import { metadataOf, openGguf } from '../tools/model-import/gguf-file.js';
import { ggufModel } from '../tools/model-import/gguf-model.js';
import { ggufTokenizerFiles } from '../tools/model-import/gguf-tokenizer.js';
import { withLoraAdapter } from '../tools/model-import/lora-adapter.js';
import { TINY_LLAMA, writeSafetensors, writeTinyGguf } from './support/tiny-checkpoints.js';

const LLAMA = TINY_LLAMA;
const RANK = 4;

/** A PEFT adapter on q, k and up projections with random A and B (B is zero at PEFT's init; not here). */
async function writeAdapter(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'adapter_config.json'), JSON.stringify({ peft_type: 'LORA', r: RANK, lora_alpha: 8 }));
  const random = randomWeightSource(LLAMA, 5);
  const tensors = [];
  for (const spec of decoderParameters(LLAMA).filter((p) => /(q_proj|k_proj|up_proj)\.weight$/.test(p.name))) {
    const module = `base_model.model.${spec.name.replace(/\.weight$/, '')}`;
    const a = (await random.read('model.layers.0.mlp.down_proj.weight')).data.slice(0, RANK * spec.shape[1]!);
    const b = (await random.read('model.layers.1.mlp.up_proj.weight')).data.slice(0, spec.shape[0]! * RANK);
    tensors.push({ name: `${module}.lora_A.weight`, tensor: { data: a, shape: [RANK, spec.shape[1]!] }, dtype: 'F32' as const });
    tensors.push({ name: `${module}.lora_B.weight`, tensor: { data: b, shape: [spec.shape[0]!, RANK] }, dtype: 'F32' as const });
  }
  await writeSafetensors(join(dir, 'adapter_model.safetensors'), tensors);
}

async function exported(type: ExportType) {
  const dir = await mkdtemp(join(tmpdir(), 'bioner-export-'));
  const base = join(dir, 'base.gguf');
  const adapter = join(dir, 'adapter');
  // Q4_1 projections and a Q8_0 embedding, as the default model's base has them.
  await writeTinyGguf(base, LLAMA, randomWeightSource(LLAMA, 7), (name) => (/embed/.test(name) ? 'Q8_0' : /proj/.test(name) ? 'Q4_1' : 'F32'));
  await writeAdapter(adapter);
  const out = join(dir, `merged.${type}.gguf`);
  await exportMergedGguf(base, adapter, out, type);
  const [baseFile, outFile] = [await openGguf(base), await openGguf(out)];
  const merged = (await withLoraAdapter((await ggufModel(baseFile)).weights, decoderParameters(LLAMA), adapter, base)).weights;
  return { base, adapter, out, baseFile, outFile, merged, close: () => Promise.all([baseFile.close(), outFile.close()]) };
}

test('an F32 export reads back as exactly the merged weights, with the base\'s tokenizer and chat template', async () => {
  const { base, adapter, out, baseFile, outFile, merged, close } = await exported('F32');
  try {
    const model = await ggufModel(outFile);
    assert.deepEqual(model.config, (await ggufModel(baseFile)).config);
    for (const { name } of decoderParameters(LLAMA)) {
      assert.deepEqual((await model.weights.read(name)).data, (await merged.read(name)).data, name);
    }
    assert.deepEqual(ggufTokenizerFiles(outFile), ggufTokenizerFiles(baseFile));
    assert.equal(metadataOf(outFile).number('general.file_type'), 0);
    assert.ok(await isExported(out, base, adapter), 'the export is recognised as up to date');
  } finally {
    await close();
  }
});

test('a Q8_0 export is within a rounding of the merged weights; the embedding is copied as stored', async () => {
  const { outFile, baseFile, merged, close } = await exported('Q8_0');
  try {
    const weights = (await ggufModel(outFile)).weights;
    for (const { name, kind } of decoderParameters(LLAMA).filter((p) => p.kind === 'linear')) {
      const [got, want] = [(await weights.read(name)).data, (await merged.read(name)).data];
      for (let block = 0; block < want.length / 32; block++) {
        const values = want.subarray(block * 32, block * 32 + 32);
        const step = Math.max(...values.map(Math.abs)) / 127;
        // Rounding to the nearest step, plus the scale's own rounding to float16 (2^-11) times |q| <= 127.
        const tolerance = step * (0.5 + 127 * 2 ** -11);
        values.forEach((v, j) => assert.ok(Math.abs(got[block * 32 + j]! - v) <= tolerance, `${name} (${kind}) block ${block}: ${got[block * 32 + j]} vs ${v}`));
      }
    }
    const embedding = 'token_embd.weight';
    assert.equal(outFile.tensors.get(embedding)!.type.name, 'Q8_0');
    assert.deepEqual(await outFile.readTensor(outFile.tensors.get(embedding)!), await baseFile.readTensor(baseFile.tensors.get(embedding)!));
  } finally {
    await close();
  }
});
