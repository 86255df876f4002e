// GGUF file or Hugging Face checkpoint directory → a model directory the ONNX backend loads,
// written through the same decoder builder as the generated test model.
import { existsSync, statSync } from 'node:fs';
import { copyFile, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import {
  BUILDER_VERSION, buildDecoderModel, decoderParameters, int8WeightSource, writeModelDirectory, type BuiltModel, type DecoderConfig, type WeightSource,
} from '../model-builder/index.js';
import { GUIDELINES_FILE } from '../../src/inference/model-guidelines.js';
import { baseFingerprint, type BaseFingerprint } from './base-fingerprint.js';
import { GGUF_MAGIC, openGguf } from './gguf-file.js';
import { ggufModel } from './gguf-model.js';
import { ggufTokenizerFiles } from './gguf-tokenizer.js';
import { openHfCheckpoint } from './hf-checkpoint.js';
import { withLoraAdapter } from './lora-adapter.js';

/** Written last into every imported model directory: what it was made from. */
const IMPORT_MARKER = 'import-info.json';
/** Bump when the files an import writes change, so cached imports are redone. */
const IMPORTER_VERSION = 2;

export type SourceFormat = 'gguf' | 'hf-checkpoint';

export interface ImportInfo {
  source: string;
  format: SourceFormat;
  /** Identifies the source contents cheaply: size and modification time of the file or config.json. */
  sourceStamp: string;
  builderVersion: number;
  importerVersion: number;
  /** onnx/model_q4.onnx was written too. */
  quantised: boolean;
  /** onnx/model_quantized.onnx (int8 per output, the `q8` dtype) was written too. */
  int8: boolean;
  /** The LoRA adapter merged into the weights: its directory and its weights' sha256. */
  adapter?: { dir: string; sha256: string };
}

export interface ImportResult extends ImportInfo {
  dir: string;
  config: DecoderConfig;
  parameterCount: number;
  modelBytes: number;
  seconds: number;
}

async function detectFormat(source: string): Promise<SourceFormat> {
  if (!existsSync(source)) throw new Error(`no such file or directory: ${source}`);
  if (statSync(source).isDirectory()) return 'hf-checkpoint';
  const file = await open(source, 'r');
  try {
    const magic = Buffer.alloc(4);
    await file.read(magic, 0, 4, 0);
    if (magic.toString('latin1') === GGUF_MAGIC) return 'gguf';
  } finally {
    await file.close();
  }
  throw new Error(`${source} is neither a GGUF file nor a checkpoint directory (config.json, *.safetensors, tokenizer files)`);
}

/** Identifies a source's contents cheaply: size and modification time of the file or config.json. */
export function sourceStamp(source: string, format: SourceFormat): string {
  const stats = statSync(format === 'gguf' ? source : resolve(source, 'config.json'));
  return `${stats.size}:${Math.floor(stats.mtimeMs)}`;
}

/** The import recorded in `dir`, if any. */
export async function readImportInfo(dir: string): Promise<ImportInfo | undefined> {
  try {
    return JSON.parse(await readFile(resolve(dir, IMPORT_MARKER), 'utf8')) as ImportInfo;
  } catch {
    return undefined;
  }
}

/**
 * True when `dir` already holds an import of this source (with this adapter, if any, and the int8
 * variant if asked for) by this builder and importer.
 */
export async function isImported(source: string, dir: string, adapter?: string, int8 = false): Promise<boolean> {
  const info = await readImportInfo(dir);
  if (!info || !existsSync(source) || (int8 && !info.int8)) return false;
  const sameAdapter = adapter === undefined ? info.adapter === undefined
    : info.adapter?.dir === resolve(adapter) && info.adapter.sha256 === (await baseFingerprint(adapterWeights(adapter))).sha256;
  return info.source === resolve(source) && info.sourceStamp === sourceStamp(source, info.format) &&
    info.builderVersion === BUILDER_VERSION && info.importerVersion === IMPORTER_VERSION && sameAdapter;
}

const adapterWeights = (dir: string) => join(dir, 'adapter_model.safetensors');

/**
 * Writes into a temporary sibling that is renamed into place, so a failed or interrupted
 * import never leaves a half-written model where the backend would load it.
 */
export interface ImportOptions {
  /**
   * GGUF only: also write onnx/model_q4.onnx (the engine's `q4` dtype), with Q4_0 / Q4_1 / Q8_0
   * linear weights kept as blocks for MatMulNBits instead of dequantised to float32.
   */
  quantised?: boolean;
  /** A PEFT LoRA adapter directory to merge into the weights (see lora-adapter.ts). */
  adapter?: string;
  /**
   * Also write onnx/model_quantized.onnx (the engine's `q8` dtype) from the float32 weights, after
   * any adapter merge: every linear weight int8 per output row, for DynamicQuantizeMatMul.
   */
  int8?: boolean;
}

/** The quantised variant's file, named as transformers.js and the engine's `--dtype q4` expect. */
export const QUANTISED_MODEL_FILE = 'model_q4.onnx';
/** The int8 variant's file: the engine's `--dtype q8`. */
export const INT8_MODEL_FILE = 'model_quantized.onnx';

export async function importModel(source: string, outDir: string, options: ImportOptions = {}): Promise<ImportResult> {
  const started = performance.now();
  const format = await detectFormat(source);
  const dir = resolve(outDir);
  const staging = `${dir}.tmp-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  try {
    const quantised = options.quantised ?? false;
    if (quantised && format !== 'gguf') throw new Error('only GGUF weights can be kept quantised; checkpoint weights are imported as float32');
    if (quantised && options.adapter) throw new Error('an adapter is merged into float32 weights; import without --quantised');
    let adapter: BaseFingerprint | undefined;
    const merge: MergeAdapter = async (config, weights) => {
      if (!options.adapter) return weights;
      const merged = await withLoraAdapter(weights, decoderParameters(config), options.adapter, source);
      adapter = merged.adapter;
      return merged.weights;
    };
    const int8 = options.int8 ?? false;
    const { config, built } = format === 'gguf'
      ? await importGguf(source, staging, quantised, int8, merge)
      : await importCheckpoint(source, staging, int8, merge);
    const info: ImportInfo = {
      source: resolve(source),
      format,
      sourceStamp: sourceStamp(source, format),
      builderVersion: BUILDER_VERSION,
      importerVersion: IMPORTER_VERSION,
      quantised,
      int8,
      ...(adapter && { adapter: { dir: resolve(options.adapter!), sha256: adapter.sha256 } }),
    };
    // The adapter's guideline names travel with the merged model (see model-guidelines.ts).
    if (options.adapter && existsSync(join(options.adapter, GUIDELINES_FILE))) {
      await copyFile(join(options.adapter, GUIDELINES_FILE), join(staging, GUIDELINES_FILE));
    }
    await writeFile(resolve(staging, IMPORT_MARKER), `${JSON.stringify(info, null, 2)}\n`);
    await rm(dir, { recursive: true, force: true });
    await rename(staging, dir);
    return {
      ...info,
      dir,
      config,
      parameterCount: built.parameterCount,
      modelBytes: built.modelBytes + built.dataBytes,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** The weights to build from: the source's own, or with an adapter merged in. */
type MergeAdapter = (config: DecoderConfig, weights: WeightSource) => Promise<WeightSource>;

async function importGguf(file: string, dir: string, quantised: boolean, int8: boolean, merge: MergeAdapter) {
  const gguf = await openGguf(file);
  try {
    const { config, weights, quantisedWeights } = await ggufModel(gguf);
    const tokenizer = ggufTokenizerFiles(gguf);
    const merged = await merge(config, weights);
    let built = await writeModelDirectory({ dir, config, weights: merged, ...tokenizer });
    if (quantised) built = withVariant(built, await buildDecoderModel({ config, weights: quantisedWeights, modelPath: join(dir, 'onnx', QUANTISED_MODEL_FILE) }));
    if (int8) built = withVariant(built, await buildInt8(dir, config, merged));
    return { config, built };
  } finally {
    await gguf.close();
  }
}

async function importCheckpoint(source: string, dir: string, int8: boolean, merge: MergeAdapter) {
  const checkpoint = await openHfCheckpoint(source);
  try {
    const { config, weights, tokenizer } = checkpoint;
    const merged = await merge(config, weights);
    const built = await writeModelDirectory({ dir, config, weights: merged, ...tokenizer });
    return { config, built: int8 ? withVariant(built, await buildInt8(dir, config, merged)) : built };
  } finally {
    await checkpoint.weights.close();
  }
}

const buildInt8 = (dir: string, config: DecoderConfig, weights: WeightSource): Promise<BuiltModel> =>
  buildDecoderModel({ config, weights: int8WeightSource(weights, config), modelPath: join(dir, 'onnx', INT8_MODEL_FILE) });

/** The main model's figures with a variant's bytes added. */
const withVariant = (built: BuiltModel, variant: BuiltModel): BuiltModel =>
  ({ ...built, modelBytes: built.modelBytes + variant.modelBytes, dataBytes: built.dataBytes + variant.dataBytes });

/** A readable one-line description of an imported model, for the CLI and scripts. */
export function describeImport(result: ImportResult): string {
  const { config } = result;
  const adapter = result.adapter ? ` + adapter ${basename(result.adapter.dir)}` : '';
  return `imported ${basename(result.source)}${adapter} (${result.format}${result.quantised ? ', quantised' : ''}${result.int8 ? ', int8' : ''}, ${config.model_type}, ` +
    `${(result.parameterCount / 1e6).toFixed(1)}M parameters, ${config.num_hidden_layers} layers) → ${result.dir}: ` +
    `${(result.modelBytes / 2 ** 20).toFixed(0)} MiB in ${result.seconds.toFixed(1)} s`;
}
