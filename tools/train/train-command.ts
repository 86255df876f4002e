// `bioner-stream train`: a recipe's corpora → conv_term conversations tokenised by the project's
// own prompt code → the Python trainer (PyTorch, transformers, peft) → a PEFT adapter.
import { copyFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { choice, integer, parseCommandLine, text, UsageError } from '../../src/cli/options.js';
import { BASE_MODEL_GGUF, ensureBaseModel } from '../default-model/default-model.js';
import { stopTokenIds } from '../../src/inference/onnx/chat-model.js';
import { baseFingerprint } from '../model-import/base-fingerprint.js';
import { checkTrainedOn } from '../model-import/lora-adapter.js';
import { importModel, isImported } from '../model-import/import-model.js';
import { GUIDELINES_FILE } from '../../src/inference/model-guidelines.js';
import { projectPath } from '../../src/project.js';
import { buildDataset } from './build-dataset.js';
import { loadRecipe } from './recipe.js';
import { runPython, TRAINER_DIR, trainerPython } from './trainer-environment.js';

export const DEFAULT_RECIPE = projectPath('models', 'smollm2-135m-bioner', 'recipe.json');

const COMMAND_LINE = {
  synopsis: `usage: bioner-stream train [--recipe FILE] [--out DIR] [options]

Builds conv_term training conversations from the recipe's corpora (train splits train, devel
splits pick the best checkpoint) and fine-tunes the base model. Rerun the same command after
a kill: it resumes from DIR/checkpoint.`,
  options: {
    recipe: text('FILE', 'corpora, caps and hyper-parameters', DEFAULT_RECIPE, 'models/smollm2-135m-bioner/recipe.json'),
    out: text('DIR', 'where data/, checkpoint/, best/ and curve.jsonl go (default .cache/train/<recipe name>)'),
    base: text('SOURCE', "override the recipe's base: default, a GGUF file or a Hugging Face checkpoint directory"),
    method: choice(['lora', 'full'] as const, "a LoRA adapter or full fine-tuning (default: the recipe's)"),
    'init-adapter': text('DIR', 'continue training this adapter (PEFT format, same base) with a fresh learning-rate schedule; its curve and tokens carry over'),
    epochs: text('N', "passes over the training conversations (default: the recipe's)"),
    'max-steps': integer('stop after N optimiser steps'),
    precision: choice(['auto', 'fp32', 'bf16'] as const, 'auto: bf16 autocast on CUDA, and on a CPU where timing both says it is faster', 'auto'),
    threads: integer('CPU threads for PyTorch (default: all cores)'),
  },
  notes: 'Then merge the adapter: bioner-stream import BASE --adapter DIR/best --out MODEL',
};

export async function trainCommand(argv: string[]): Promise<void> {
  const { values: args } = parseCommandLine(argv, COMMAND_LINE);
  const recipeFile = resolve(args.recipe);
  if (!existsSync(recipeFile)) throw new UsageError(`no such recipe: ${recipeFile}`);
  const recipe = loadRecipe(recipeFile);
  const out = resolve(args.out ?? projectPath('.cache', 'train', recipe.name));
  const log = (line: string) => console.error(line);

  const base = await resolveBase(args.base ?? recipe.base, log);
  const initAdapter = args['init-adapter'] && resolve(args['init-adapter']);
  if (initAdapter) {
    if (!existsSync(join(initAdapter, 'adapter_config.json'))) throw new UsageError(`not a PEFT adapter (no adapter_config.json): ${initAdapter}`);
    await checkTrainedOn(initAdapter, base.source);
  }
  log(`building conversations from ${recipe.corpora.map((c) => c.name).join(', ')} with ${base.modelDir}'s tokenizer`);
  const data = await buildDataset(recipe, base.modelDir, join(out, 'data'));
  for (const s of data.stats) {
    log(`  ${s.corpus} ${s.split}: ${s.conversations} of ${s.sentences} sentences, ${s.tokens} tokens, ` +
      `${s.empty_answers}/${s.answers} answers empty${s.crossing_mentions ? `, ${s.crossing_mentions} mentions across sentences left out` : ''}`);
  }

  // Flags given on the command line override the recipe's training settings.
  const flags = { init_adapter: initAdapter, method: args.method, epochs: args.epochs, max_steps: args['max-steps'], precision: args.precision, threads: args.threads };
  const training = { ...recipe.training, ...Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined)) };
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
  await writeFile(join(out, 'best', GUIDELINES_FILE), `${JSON.stringify(data.guidelines, null, 2)}\n`);
  log(`adapter: ${join(out, 'best')}; merge it with: bioner-stream import ${base.source} --adapter ${join(out, 'best')} --out MODEL`);
}

/** The base's source (what PyTorch loads) and its imported model directory (whose tokenizer the engine uses). */
async function resolveBase(spec: string, log: (line: string) => void): Promise<{ source: string; modelDir: string }> {
  if (spec === 'default') return { source: BASE_MODEL_GGUF, modelDir: await ensureBaseModel({ log }) };
  const source = resolve(spec);
  if (!existsSync(source)) throw new UsageError(`no such base model: ${spec}`);
  const modelDir = projectPath('.cache', 'models', `base-${basename(source, '.gguf')}`);
  if (!(await isImported(source, modelDir))) await importModel(source, modelDir);
  return { source, modelDir };
}
