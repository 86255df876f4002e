// A base GGUF with a LoRA adapter merged in, written back as GGUF, so llama.cpp runs the same
// weights as the ONNX default model. The weights come from the importer's own reader and merge
// (gguf-model.ts, lora-adapter.ts: float32, Hugging Face layout); the linear projections, which
// the merge changes, are re-encoded in the requested type with ggml's reference quantisers and
// their q/k rows permuted back into llama.cpp's layout. Everything else, the tokenizer and chat
// template metadata included, is copied from the base as stored.
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { decoderParameters, elementCount, type ParameterSpec } from '../model-builder/index.js';
import { projectPath } from '../../src/project.js';
import { BASE_MODEL_GGUF, ensureBaseGguf, SHIPPED_ADAPTER, type EnsureDefaultModelOptions } from '../default-model/default-model.js';
import { baseFingerprint } from '../model-import/base-fingerprint.js';
import { metadataOf, openGguf, type GgufFile, type GgufTensorInfo } from '../model-import/gguf-file.js';
import { ggufModel, ggufTensorName, permutedHeads, reorderQkRows } from '../model-import/gguf-model.js';
import { dequantise, ggmlTypeNamed, quantise } from '../model-import/ggml-types.js';
import { sourceStamp } from '../model-import/import-model.js';
import { withLoraAdapter } from '../model-import/lora-adapter.js';
import { ggufValue, writeGguf, type GgufTensorToWrite } from './gguf-writer.js';

export const EXPORT_TYPES = ['Q8_0', 'Q4_1', 'F16', 'F32'] as const;
export type ExportType = (typeof EXPORT_TYPES)[number];

/** llama.cpp's `general.file_type` (enum llama_ftype) for each export type. */
const FILE_TYPES: Record<ExportType, number> = { F32: 0, F16: 1, Q4_1: 3, Q8_0: 7 };
const FLOAT_TYPES: readonly string[] = ['F32', 'F16'];

/** Bump when what an export writes changes, so cached exports are redone. */
const EXPORTER_VERSION = 1;
/** Metadata keys that say what an export was made from; llama.cpp ignores keys it does not know. */
const MARKER = {
  version: 'bioner.export.version',
  source: 'bioner.export.source_stamp',
  adapter: 'bioner.export.adapter_sha256',
} as const;

export interface GgufExport {
  path: string;
  type: ExportType;
  bytes: number;
  seconds: number;
}

/**
 * Writes `base` + `adapter` as a GGUF of `type` at `out`. Linear projections are in `type`;
 * the embedding (and an untied output matrix) keep the base's encoding for a quantised `type`
 * (the merge does not touch them) and are widened for F16/F32, so a float export holds no
 * quantised weight at all; norms are copied.
 */
export async function exportMergedGguf(base: string, adapter: string, out: string, type: ExportType): Promise<GgufExport> {
  const started = performance.now();
  const target = ggmlTypeNamed(type);
  const gguf = await openGguf(base);
  try {
    const { config, weights: baseWeights } = await ggufModel(gguf);
    const parameters = decoderParameters(config);
    const { weights, adapter: adapterPrint } = await withLoraAdapter(baseWeights, parameters, adapter, base);
    const byTensor = new Map(parameters.map((p) => [ggufTensorName(p.name), p]));
    const arch = metadataOf(gguf).string('general.architecture')!;

    const reencoded = (info: GgufTensorInfo, spec: ParameterSpec): GgufTensorToWrite => ({
      name: info.name,
      dims: info.dims,
      type: target,
      async bytes() {
        const { data, shape } = await weights.read(spec.name);
        const heads = permutedHeads(arch, config, spec.name);
        return quantise(target, heads === undefined ? data : reorderQkRows(data, shape[0]!, heads, 'gguf'), info.name);
      },
    });
    const copied = (info: GgufTensorInfo): GgufTensorToWrite => ({ ...info, bytes: () => gguf.readTensor(info) });
    const widened = (info: GgufTensorInfo): GgufTensorToWrite => ({
      ...info,
      type: target,
      bytes: async () => quantise(target, dequantise(info.type, await gguf.readTensor(info), elementCount(info.dims), info.name), info.name),
    });
    const tensors = [...gguf.tensors.values()].map((info) => {
      const spec = byTensor.get(info.name);
      if (spec?.kind === 'linear') return reencoded(info, spec);
      const matrix = info.dims.length === 2;
      return matrix && FLOAT_TYPES.includes(type) && info.type.name !== type ? widened(info) : copied(info);
    });

    const metadata = new Map(gguf.encodedMetadata);
    metadata.set('general.file_type', ggufValue.u32(FILE_TYPES[type]));
    metadata.set(MARKER.version, ggufValue.u32(EXPORTER_VERSION));
    metadata.set(MARKER.source, ggufValue.string(`${basename(base)}:${sourceStamp(base, 'gguf')}`));
    metadata.set(MARKER.adapter, ggufValue.string(adapterPrint.sha256));
    const bytes = await writeGguf(out, metadata, tensors);
    return { path: out, type, bytes, seconds: (performance.now() - started) / 1000 };
  } finally {
    await gguf.close();
  }
}

/** Where the default model's export of `type` is cached. */
export function defaultGgufPath(type: ExportType): string {
  return projectPath('.cache', 'models', `smollm2-135m-bioner.${type}.gguf`);
}

/** True when `path` is an export of this base and adapter by this exporter. */
export async function isExported(path: string, base: string, adapter: string): Promise<boolean> {
  if (!existsSync(path) || !existsSync(base)) return false;
  let gguf: GgufFile;
  try {
    gguf = await openGguf(path);
  } catch {
    return false; // not a readable GGUF: export again
  }
  try {
    const meta = metadataOf(gguf);
    return meta.number(MARKER.version) === EXPORTER_VERSION &&
      meta.string(MARKER.source) === `${basename(base)}:${sourceStamp(base, 'gguf')}` &&
      meta.string(MARKER.adapter) === (await baseFingerprint(join(adapter, 'adapter_model.safetensors'))).sha256;
  } finally {
    await gguf.close();
  }
}

/** The default model (base + shipped adapter) as a GGUF of `type`, exported first if needed. */
export async function ensureDefaultGguf(type: ExportType = 'Q8_0', options: EnsureDefaultModelOptions = {}): Promise<string> {
  const path = defaultGgufPath(type);
  if (await isExported(path, BASE_MODEL_GGUF, SHIPPED_ADAPTER)) return path;
  const base = await ensureBaseGguf(options);
  const log = options.log ?? ((line: string) => console.error(line));
  log(`exporting ${basename(base)} with the adapter ${SHIPPED_ADAPTER} as ${type} GGUF to ${path}`);
  const result = await exportMergedGguf(base, SHIPPED_ADAPTER, path, type);
  log(`exported ${(result.bytes / 2 ** 20).toFixed(0)} MiB in ${result.seconds.toFixed(1)} s`);
  return path;
}
