// Writes a GGUF v3 file (the layout gguf-file.ts reads): "GGUF", version, tensor count,
// metadata count, metadata key/values, tensor infos, then each tensor's bytes at an offset
// aligned to `general.alignment`. Tensors are written one at a time as they are produced, so
// the caller never holds the whole model.
import { open, rename, rm } from 'node:fs/promises';
import { GGUF_MAGIC } from '../model-import/gguf-file.js';
import { tensorByteLength, type GgmlType } from '../model-import/ggml-types.js';

const VERSION = 3;
const DEFAULT_ALIGNMENT = 32;

/** A metadata value as GGUF stores it: value type id, then the payload (see GgufFile.encodedMetadata). */
export type EncodedGgufValue = Buffer;

const withType = (type: number, payload: Buffer): EncodedGgufValue => Buffer.concat([u32(type), payload]);
const u32 = (value: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32LE(value); return b; };
const u64 = (value: number): Buffer => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(value)); return b; };
const string = (value: string): Buffer => { const bytes = Buffer.from(value, 'utf8'); return Buffer.concat([u64(bytes.length), bytes]); };

/** Encoders for the value types the exporter adds; copied values keep their stored encoding. */
export const ggufValue = {
  u32: (value: number): EncodedGgufValue => withType(4, u32(value)),
  string: (value: string): EncodedGgufValue => withType(8, string(value)),
};

export interface GgufTensorToWrite {
  name: string;
  /** ggml order, fastest axis first. */
  dims: number[];
  type: GgmlType;
  /** Called once, in file order, when the tensor's turn comes. */
  bytes(): Promise<Uint8Array>;
}

/**
 * Writes `path` through a temporary sibling that is renamed into place, so an interrupted
 * export never leaves a truncated model where llama.cpp would load it. Returns the file's size.
 */
export async function writeGguf(path: string, metadata: ReadonlyMap<string, EncodedGgufValue>, tensors: readonly GgufTensorToWrite[]): Promise<number> {
  const alignment = metadata.has('general.alignment') ? metadata.get('general.alignment')!.readUInt32LE(4) : DEFAULT_ALIGNMENT;
  const align = (n: number) => Math.ceil(n / alignment) * alignment;
  const sizes = tensors.map((t) => tensorByteLength(t.type, t.dims, t.name));
  const offsets: number[] = [];
  sizes.reduce((offset, size) => { offsets.push(offset); return align(offset + size); }, 0);
  const header = Buffer.concat([
    Buffer.from(GGUF_MAGIC, 'latin1'), u32(VERSION), u64(tensors.length), u64(metadata.size),
    ...[...metadata].flatMap(([key, value]) => [string(key), value]),
    ...tensors.flatMap((t, i) => [string(t.name), u32(t.dims.length), ...t.dims.map(u64), u32(t.type.id), u64(offsets[i]!)]),
  ]);
  const dataStart = align(header.length);
  // Padded after the last tensor too, as llama.cpp's writer does.
  const end = dataStart + (tensors.length ? align(offsets.at(-1)! + sizes.at(-1)!) : 0);
  const partial = `${path}.partial`;
  const file = await open(partial, 'w');
  try {
    await file.write(header, 0, header.length, 0);
    for (const [i, tensor] of tensors.entries()) {
      const bytes = await tensor.bytes();
      if (bytes.length !== sizes[i]) throw new Error(`tensor ${tensor.name}: ${bytes.length} bytes, expected ${sizes[i]} for ${tensor.type.name} [${tensor.dims}]`);
      await file.write(bytes, 0, bytes.length, dataStart + offsets[i]!);
    }
    await file.truncate(end);
  } catch (error) {
    await file.close();
    await rm(partial, { force: true });
    throw error;
  }
  await file.close();
  await rename(partial, path);
  return end;
}
