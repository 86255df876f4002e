// Reads safetensors files: an 8-byte little-endian header length, a JSON header mapping
// each tensor name to {dtype, shape, data_offsets: [begin, end]} (relative to the end of
// the header), then the raw little-endian tensor bytes.
import { open, type FileHandle } from 'node:fs/promises';
import { elementCount, type WeightSource, type WeightTensor } from '../model-builder/weights.js';
import { bf16ToF32, f16ToF32 } from './ggml-types.js';

interface SafetensorsEntry {
  name: string;
  file: string;
  dtype: string;
  shape: number[];
  /** Absolute byte range in the file. */
  begin: number;
  end: number;
}

const BYTES_PER_ELEMENT: Record<string, number> = { F32: 4, F16: 2, BF16: 2 };
/** A header over this size is not a real checkpoint (the format caps it at 100 MB). */
const MAX_HEADER_BYTES = 100_000_000;

async function readSafetensorsHeader(file: string): Promise<SafetensorsEntry[]> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    const lengthBytes = Buffer.alloc(8);
    await handle.read(lengthBytes, 0, 8, 0);
    const headerLength = Number(lengthBytes.readBigUInt64LE(0));
    if (size < 8 || headerLength > MAX_HEADER_BYTES || 8 + headerLength > size) {
      throw new Error(`${file}: not a safetensors file (bad header length)`);
    }
    const header = Buffer.alloc(headerLength);
    await handle.read(header, 0, headerLength, 8);
    const entries = JSON.parse(header.toString('utf8')) as Record<string, unknown>;
    const dataStart = 8 + headerLength;
    return Object.entries(entries)
      .filter(([name]) => name !== '__metadata__')
      .map(([name, value]) => {
        const { dtype, shape, data_offsets: offsets } = value as { dtype: string; shape: number[]; data_offsets: [number, number] };
        const entry = { name, file, dtype, shape, begin: dataStart + offsets[0], end: dataStart + offsets[1] };
        const width = BYTES_PER_ELEMENT[dtype];
        if (width !== undefined && entry.end - entry.begin !== elementCount(shape) * width) {
          throw new Error(`${file}: tensor ${name} has ${entry.end - entry.begin} bytes for shape [${shape}] of ${dtype}`);
        }
        if (entry.end > size) throw new Error(`${file}: tensor ${name} lies past the end of the file`);
        return entry;
      });
  } finally {
    await handle.close();
  }
}

function toFloat32(entry: SafetensorsEntry, bytes: Buffer): Float32Array {
  const count = elementCount(entry.shape);
  switch (entry.dtype) {
    case 'F32': return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + count * 4));
    case 'F16': return f16ToF32(bytes, count);
    case 'BF16': return bf16ToF32(bytes, count);
    default: throw new Error(`tensor ${entry.name} is ${entry.dtype}; supported dtypes: ${Object.keys(BYTES_PER_ELEMENT).join(', ')}`);
  }
}

export interface CheckpointWeights extends WeightSource {
  /** Every tensor name in the files. */
  names(): string[];
  close(): Promise<void>;
}

/** Serves tensors by name from one or more safetensors files (a sharded checkpoint). */
export async function safetensorsWeightSource(files: readonly string[]): Promise<CheckpointWeights> {
  const index = new Map<string, SafetensorsEntry>();
  for (const file of files) {
    for (const entry of await readSafetensorsHeader(file)) index.set(entry.name, entry);
  }
  const handles = new Map<string, Promise<FileHandle>>();
  const handleFor = (file: string): Promise<FileHandle> => {
    let handle = handles.get(file);
    if (!handle) handles.set(file, (handle = open(file, 'r')));
    return handle;
  };
  return {
    names: () => [...index.keys()],
    async read(name): Promise<WeightTensor> {
      const entry = index.get(name);
      if (!entry) throw new Error(`checkpoint has no tensor ${name}`);
      const bytes = Buffer.alloc(entry.end - entry.begin);
      await (await handleFor(entry.file)).read(bytes, 0, bytes.length, entry.begin);
      return { data: toFloat32(entry, bytes), shape: entry.shape };
    },
    async close() {
      for (const handle of handles.values()) await (await handle).close();
      handles.clear();
    },
  };
}
