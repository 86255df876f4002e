// `bioner-stream train`: a recipe's corpora → conv_term conversations tokenised by the project's
// own prompt code → the Python trainer (PyTorch, transformers, peft) → a PEFT adapter.
import { copyFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseOptions, positiveInt, UsageError } from '../../src/cli/args.js';
import { DEFAULT_MODEL_GGUF, ensureDefaultModel } from '../../src/inference/default-model.js';
import { stopTokenIds } from '../../src/inference/onnx/chat-model.js';
import { baseFingerprint } from '../../src/inference/model-import/base-fingerprint.js';
import { importModel, isImported } from '../../src/inference/model-import/import-model.js';
import { projectPath } from '../../src/project.js';
import { buildDataset } from './build-dataset.js';
import { loadRecipe } from './recipe.js';
import { runPython, TRAINER_DIR, trainerPython } from './trainer-environment.js';

export const DEFAULT_RECIPE = projectPath('models', 'smollm2-135m-bioner', 'recipe.json');

const USAGE = `usage: bioner-stream train [--recipe FILE] [--out DIR] [options]

Builds conv_term training conversations from the recipe's corpora (train splits train, devel
splits pick the best checkpoint) and fine-tunes the base model. Rerun the same command after
a kill: it resumes from DIR/checkpoint.

  --recipe FILE        corpora, caps and hyper-parameters (default models/smollm2-135m-bioner/recipe.json)
  --out DIR            where data/, checkpoint/, best/ and curve.jsonl go (default .cache/train/<recipe name>)
  --base SOURCE        override the recipe's base: default, a GGUF file or a Hugging Face checkpoint directory
  --method lora|full   LoRA adapter (default) or full fine-tuning
  --epochs N           passes over the training conversations (default: the recipe's)
  --max-steps N        stop after N optimiser steps
  --precision auto|fp32|bf16   bf16 autocast where the CPU has AMX or on CUDA (default auto)
  --threads N          CPU threads for PyTorch (default: all cores)

Then merge the adapter: bioner-stream import BASE --adapter DIR/best --out MODEL`;

const OPTIONS = {
  recipe: { type: 'string' },
  out: { type: 'string' },
  base: { type: 'string' },
  method: { type: 'string' },
  epochs: { type: 'string' },
  'max-steps': { type: 'string' },
  precision: { type: 'string' },
  threads: { type: 'string' },
} as const;

export async function trainCommand(argv: string[]): Promise<void> {
  const args = parseOptions(argv, OPTIONS, USAGE);
  const recipeFile = resolve(args.recipe ?? DEFAULT_RECIPE);
  if (!existsSync(recipeFile)) throw new UsageError(`no such recipe: ${recipeFile}`);
  const recipe = loadRecipe(recipeFile);
  const out = resolve(args.out ?? projectPath('.cache', 'train', recipe.name));
  const log = (line: string) => console.error(line);

  const base = await resolveBase(args.base ?? recipe.base, log);
  log(`building conversations from ${recipe.corpora.map((c) => c.name).join(', ')} with ${base.modelDir}'s tokenizer`);
  const data = await buildDataset(recipe, base.modelDir, join(out, 'data'));
  for (const s of data.stats) {
    log(`  ${s.corpus} ${s.split}: ${s.conversations} of ${s.sentences} sentences, ${s.tokens} tokens, ` +
      `${s.empty_answers}/${s.answers} answers empty${s.crossing_mentions ? `, ${s.crossing_mentions} mentions across sentences left out` : ''}`);
  }

  const training = { ...recipe.training, ...definedFlags(args) };
  const python = await trainerPython(log);
  const fingerprint = await baseFingerprint(base.source);
  await runPython(python, [
    join(TRAINER_DIR, 'train.py'),
    '--data', join(out, 'data'),
    '--base', base.source,
    '--tokenizer', join(base.modelDir, 'tokenizer.json'),
    '--stop-ids', stopTokenIds(base.modelDir).join(','),
    '--out', out,
    '--base-info', JSON.stringify(fingerprint),
    '--seed', String(recipe.seed),
    ...Object.entries(training).flatMap(([key, value]) => [`--${key.replace(/_/g, '-')}`, String(value)]),
  ]);
  await copyFile(recipeFile, join(out, 'best', 'recipe.json'));
  log(`adapter: ${join(out, 'best')}; merge it with: bioner-stream import ${base.source} --adapter ${join(out, 'best')} --out MODEL`);
}

/** The base's source (what PyTorch loads) and its imported model directory (whose tokenizer the engine uses). */
async function resolveBase(spec: string, log: (line: string) => void): Promise<{ source: string; modelDir: string }> {
  if (spec === 'default') return { source: DEFAULT_MODEL_GGUF, modelDir: await ensureDefaultModel({ log }) };
  const source = resolve(spec);
  if (!existsSync(source)) throw new UsageError(`no such base model: ${spec}`);
  const modelDir = projectPath('.cache', 'models', `base-${source.split('/').pop()!.replace(/\.gguf$/, '')}`);
  if (!(await isImported(source, modelDir))) await importModel(source, modelDir);
  return { source, modelDir };
}

function definedFlags(args: Record<string, string | boolean | undefined>): Record<string, string> {
  const flags: Record<string, string> = {};
  for (const key of ['method', 'epochs', 'precision'] as const) if (args[key] !== undefined) flags[key] = String(args[key]);
  if (args['max-steps'] !== undefined) flags.max_steps = String(positiveInt(String(args['max-steps']), 0, '--max-steps'));
  if (args.threads !== undefined) flags.threads = String(positiveInt(String(args.threads), 0, '--threads'));
  return flags;
}
