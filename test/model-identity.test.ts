// A model's name and version: its folder's name and a content hash, the same wherever it lies.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { modelIdentity } from '../src/inference/onnx/model-identity.js';

/** A model folder's files as the hash reads them; their contents only need to differ. */
async function modelFolder(parent: string, files: Record<string, string>): Promise<string> {
  const dir = join(await mkdtemp(join(tmpdir(), parent)), 'my-model');
  await mkdir(join(dir, 'onnx'), { recursive: true });
  for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content);
  return dir;
}

const FILES = { 'config.json': '{"hidden_size":8}', 'tokenizer_config.json': '{"chat_template":"x"}', 'onnx/model.onnx': 'weights' };

test('the same files in two places are the same NAME@VERSION; a changed weight, config or guideline is another version', async () => {
  const id = await modelIdentity(await modelFolder('a-', FILES));
  assert.match(id, /^my-model@[0-9a-f]{12}$/);
  assert.equal(await modelIdentity(await modelFolder('b-', FILES)), id);
  const changes: Record<string, string>[] = [{ 'onnx/model.onnx': 'weight5' }, { 'config.json': '{"hidden_size":9}' }, { 'guidelines.json': '{"BC5CDR":["chemical"]}' }];
  for (const changed of changes) {
    assert.notEqual(await modelIdentity(await modelFolder('c-', { ...FILES, ...changed })), id, JSON.stringify(changed));
  }
});

test('each weight variant is its own version, and a missing one says which file is missing', async () => {
  const dir = await modelFolder('d-', { ...FILES, 'onnx/model_quantized.onnx': 'int8 weights' });
  assert.notEqual(await modelIdentity(dir, 'q8'), await modelIdentity(dir, 'fp32'));
  await assert.rejects(modelIdentity(dir, 'q4'), /has no q4 weights \(onnx\/model_q4.onnx\)/);
});
